// Private to the PostgreSQL stores (storage/pg_*.cc): helpers every store's transactions use.
// The only header with pqxx in it; nothing outside storage/ may include it.
#ifndef TESSERA_STORAGE_PG_INTERNAL_H_
#define TESSERA_STORAGE_PG_INTERNAL_H_

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "core/scopes.h"
#include "storage/change_feed.h"
#include "storage/pg_pool.h"
#include "storage/records.h"
#include "storage/snapshot_store.h"

namespace tessera::pg_internal {

using Tx = pqxx::transaction_base;

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

inline std::string JoinScopes(const ScopeSet& s) { return absl::StrJoin(s.items(), " "); }
inline ScopeSet SplitScopes(const std::string& joined) {
  std::vector<std::string> parts = absl::StrSplit(joined, ' ', absl::SkipEmpty());
  return ScopeSet(parts.begin(), parts.end());
}

// A nullable timestamptz column read as tessera_us(...).
inline std::optional<absl::Time> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return FromUs(f.as<int64_t>());
}

inline const char* KindName(AccountKind k) {
  return k == AccountKind::kService ? "SERVICE" : "USER";
}
inline AccountKind ParseKind(const std::string& s) {
  return s == "SERVICE" ? AccountKind::kService : AccountKind::kUser;
}

// The changes one write transaction makes, for the change feed.
using Changes = std::vector<Change>;

// Sends `c` on the change channel (PostgreSQL delivers it when `tx` commits) and remembers it for
// this replica's own snapshot.
inline void Notify(Tx& tx, Changes& changes, Change c) {
  c.sent_at = absl::Now();  // wall clock on purpose: it measures real propagation lag
  tx.exec_params("SELECT pg_notify($1, $2)", std::string(kChangeChannel), EncodeChange(c));
  changes.push_back(std::move(c));
}

inline void NotifyAccount(Tx& tx, Changes& changes, absl::string_view org_id,
                          absl::string_view account_id) {
  Notify(tx, changes,
         Change{.kind = ChangeKind::kAccount,
                .org_id = std::string(org_id),
                .id = std::string(account_id)});
}

// Runs write transactions and, once one has committed, applies its changes to this replica's
// snapshot before the caller answers, so a client reads its own writes.
class Writer {
 public:
  Writer(PgPool& pool, ChangeSink* local) : pool_(pool), local_(local) {}

  template <typename T, typename Fn>
  absl::StatusOr<T> Value(Fn&& body) {
    Changes changes;
    auto out = pool_.TransactValue<T>([&](Tx& tx) -> absl::StatusOr<T> {
      changes.clear();  // a retried transaction starts over
      return body(tx, changes);
    });
    if (out.ok()) Publish(changes);
    return out;
  }

  template <typename Fn>
  absl::Status Status(Fn&& body) {
    Changes changes;
    absl::Status s = pool_.Transact([&](Tx& tx) {
      changes.clear();
      return body(tx, changes);
    });
    if (s.ok()) Publish(changes);
    return s;
  }

  PgPool& pool() { return pool_; }

 private:
  void Publish(const Changes& changes) {
    if (local_ == nullptr) return;
    for (const Change& c : changes) {
      // The committed change also arrives through the channel; a failure here only delays it.
      absl::Status s = local_->Apply(c);
      (void)s;
    }
  }

  PgPool& pool_;
  ChangeSink* local_;
};

inline void AppendAudit(Tx& tx, const AuditEntry& e) {
  tx.exec_params(
      "INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type, target_id,"
      " peer, request_id, details)"
      " VALUES (nullif($1, '')::uuid, tessera_ts($2), $3, $4, $5, $6, $7, $8, $9::jsonb)",
      e.org_id, Us(e.at), e.actor_id, e.action, e.target_type, e.target_id, e.peer, e.request_id,
      e.details_json);
}

// Completes `audit` with what the write touched and appends it inside the write's transaction.
inline void AppendAuditOn(Tx& tx, AuditEntry& audit, absl::string_view target_type,
                          absl::string_view target_id) {
  audit.target_type = std::string(target_type);
  audit.target_id = std::string(target_id);
  AppendAudit(tx, audit);
}

// The live API keys for the snapshot (defined in pg_api_key_store.cc).
std::vector<ApiKeyCredential> LoadLiveApiKeysTx(Tx& tx, absl::Time now);
std::optional<ApiKeyCredential> LoadLiveApiKeyTx(Tx& tx, absl::string_view org_id,
                                                 absl::string_view id, absl::Time now);

}  // namespace tessera::pg_internal

#endif  // TESSERA_STORAGE_PG_INTERNAL_H_
