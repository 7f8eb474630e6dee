// Private to the PostgreSQL stores (storage/pg_*.cc): helpers every store's transactions use
// (storage/pg_internal.cc). pqxx is only forward-declared, as in every header; nothing outside
// storage/ may include this one.
#ifndef TESSERA_STORAGE_PG_INTERNAL_H_
#define TESSERA_STORAGE_PG_INTERNAL_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "core/names.h"
#include "core/scopes.h"
#include "storage/account_store.h"
#include "storage/change_feed.h"
#include "storage/organization_store.h"
#include "storage/pg_pool.h"
#include "storage/records.h"
#include "storage/snapshot_store.h"

namespace pqxx {
class field;
class result;
class transaction_base;
}  // namespace pqxx

namespace tessera::pg_internal {

using Tx = pqxx::transaction_base;

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromUs(int64_t us) { return absl::FromUnixMicros(us); }

inline std::string JoinScopes(const ScopeSet& s) { return absl::StrJoin(s.items(), " "); }
inline ScopeSet SplitScopes(const std::string& joined) {
  std::vector<std::string> parts = absl::StrSplit(joined, ' ', absl::SkipEmpty());
  return ScopeSet(parts.begin(), parts.end());
}

// A PostgreSQL array literal ({"a","b"}) of `values`: one parameter that carries a value for
// every item of a batch (group_commit.h), cast in the statement ($1::text[], $2::bigint[]).
std::string ArrayLiteral(const std::vector<std::string>& values);

// Reads one row of a result column after column, in the order of the query's SELECT list: a
// query's layout is written once, as that list, and no read counts positions by hand.
//
//   auto r = tx.exec_params(absl::StrCat("SELECT ", kOrgColumns, ", a.password_hash ..."), ...);
//   Columns c(r);
//   Organization org = ReadOrg(c);
//   std::string hash = c.Text();
class Columns {
 public:
  explicit Columns(const pqxx::result& result, int row = 0) : result_(result), row_(row) {}
  std::string Text();
  bool Bool();
  int64_t Int();
  absl::Time Time();                      // a tessera_us(...) column
  std::optional<absl::Time> MaybeTime();  // a nullable tessera_us(...) column
  std::optional<int64_t> MaybeInt();
  ScopeSet Scopes();  // space separated
  std::optional<ScopeSet> MaybeScopes();
  void Skip() { ++column_; }

 private:
  const pqxx::field Next();
  const pqxx::result& result_;
  int row_;
  int column_ = 0;
};

inline const char* KindName(AccountKind k) {
  return k == AccountKind::kService ? "SERVICE" : "USER";
}
inline AccountKind ParseKind(const std::string& s) {
  return s == "SERVICE" ? AccountKind::kService : AccountKind::kUser;
}

// Transaction-scoped advisory locks (pg_advisory_xact_lock), each serializing one kind of write
// across replicas. Numbers in tessera's own range (near "tessera" in ASCII, as the migration
// lock in migrator.cc), so other applications sharing the server are unlikely to collide.
inline constexpr int64_t kBootstrapLock = 7658504845423474;   // tessera bootstrap, once
inline constexpr int64_t kSigningKeyLock = 7658504845423475;  // the first signing key, rotations

// Takes `lock` until the transaction ends.
void AdvisoryXactLock(Tx& tx, int64_t lock);

// The changes one write transaction makes, for the change feed.
using Changes = std::vector<Change>;

// Sends `c` on the change channel (PostgreSQL delivers it when `tx` commits) and remembers it for
// this replica's own snapshot.
void Notify(Tx& tx, Changes& changes, Change c);

void NotifyAccount(Tx& tx, Changes& changes, absl::string_view org_id,
                   absl::string_view account_id);

// Runs write transactions and, once one has committed, hands its changes to `committed` (when
// the caller asked for them) for the caller to apply to its replica's snapshot.
class Writer {
 public:
  explicit Writer(PgPool& pool) : pool_(pool) {}

  template <typename T, typename Fn>
  absl::StatusOr<T> Value(Committed* committed, Fn&& body) {
    Changes changes;
    auto out = pool_.TransactValue<T>([&](Tx& tx) -> absl::StatusOr<T> {
      changes.clear();  // a retried transaction starts over
      return body(tx, changes);
    });
    if (out.ok()) HandBack(changes, committed);
    return out;
  }

  template <typename Fn>
  absl::Status Status(Committed* committed, Fn&& body) {
    Changes changes;
    absl::Status s = pool_.Transact([&](Tx& tx) {
      changes.clear();
      return body(tx, changes);
    });
    if (s.ok()) HandBack(changes, committed);
    return s;
  }

  PgPool& pool() { return pool_; }

 private:
  static void HandBack(Changes& changes, Committed* committed) {
    if (committed == nullptr) return;
    for (Change& c : changes) committed->changes.push_back(std::move(c));
  }

  PgPool& pool_;
};

void AppendAudit(Tx& tx, const AuditEntry& e);

// What a write did, for its audit row.
struct AuditedWrite {
  absl::string_view action;
  absl::string_view target_type;
  absl::string_view target_id;
  std::string details_json = "{}";
  absl::string_view org_id = "";  // the row's organization; empty: the actor's
};
// The write's audit row, from the caller's `actor` and what the write did, appended inside the
// write's transaction: the one way a store builds a row.
void AppendAudit(Tx& tx, const AuditActor& actor, const AuditedWrite& write);
// `details` as an audit row's JSON (invalid UTF-8 replaced, never refused).
std::string Details(const nlohmann::json& details);

// The account row is the lock of the account's sessions: every write that starts, extends or
// ends one (a login's new family, a rotation, reuse detection, revoking the account or a family,
// a password rotation, disabling) holds it exclusively (FOR NO KEY UPDATE, which the UPDATEs of
// the account row also take) before it reads or writes the account's refresh tokens, and checks
// the account under it. So they run one at a time per account: an ending that comes after an
// extension sees every token the extension made, and an extension that comes after an ending
// sees the ending; a revocation wins every race with a refresh or a login, on any replica. An
// exclusive lock rather than a shared one for the extensions: PostgreSQL lets new share lockers
// past a waiting exclusive one, so a steady stream of refreshes could starve a revocation. Locks
// are taken account first, then token rows, so no two of these can deadlock.
struct AccountSessions {
  bool disabled = false;
  // "Log out everywhere": sessions and access tokens issued up to this instant are revoked.
  std::optional<absl::Time> tokens_valid_after;
};

// Locks the account's sessions; nullopt when the account is not in the org.
std::optional<AccountSessions> LockAccountSessions(Tx& tx, absl::string_view org_id,
                                                   absl::string_view account_id);

// Whether a session (refresh token) created at `created_at` survives the account's cutoff.
inline bool SurvivesCutoff(const AccountSessions& a, absl::Time created_at) {
  return !a.tokens_valid_after || created_at > *a.tokens_valid_after;
}

// Claims the names account `account_id` logs in by — its username and its email, if any — in
// its organization's one namespace of login names (migration 0006), by their NameKey.
// ALREADY_EXISTS, naming the field ("username" or "email"), when another account of the
// organization holds one; that account's ID goes to `holder` if given.
absl::Status AddLoginNamesTx(Tx& tx, const std::string& org_id, const std::string& account_id,
                             absl::string_view username, absl::string_view email,
                             std::string* holder = nullptr);

// The shared reads of account and organization rows.
// Columns of an account row, as read by GetAccountTx and List.
inline constexpr char kAccountColumns[] =
    "a.id, a.org_id, a.kind, a.username, coalesce(a.email, ''), a.disabled,"
    " tessera_us(a.created_at),"
    " coalesce((SELECT string_agg(r.name, ' ' ORDER BY r.name) FROM account_roles ar"
    "   JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id"
    "   WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '')";
// The union of the account's role scopes, space separated.
inline constexpr char kAccountScopes[] =
    "coalesce((SELECT string_agg(DISTINCT s, ' ') FROM account_roles ar"
    "   JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id, unnest(r.scopes) s"
    "   WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '')";
inline constexpr char kOrgColumns[] = "o.id, o.slug, o.name, o.platform, tessera_us(o.created_at)";

// An account read from its kAccountColumns.
Account ReadAccount(Columns& c);
// An organization read from its kOrgColumns.
Organization ReadOrg(Columns& c);
// NOT_FOUND when the org has no such account.
absl::StatusOr<Account> GetAccountTx(Tx& tx, absl::string_view org_id,
                                     absl::string_view account_id);
// Creates an account, claims its login names and assigns it the named roles. NOT_FOUND names the
// first missing role; ALREADY_EXISTS a name another account holds.
absl::StatusOr<Account> InsertAccountTx(Tx& tx, Changes& changes, const NewAccount& a);

// The live API keys for the snapshot (defined in pg_api_key_store.cc).
std::vector<ApiKeyCredential> LoadLiveApiKeysTx(Tx& tx, absl::Time now);
std::optional<ApiKeyCredential> LoadLiveApiKeyTx(Tx& tx, absl::string_view org_id,
                                                 absl::string_view id, absl::Time now);

}  // namespace tessera::pg_internal

#endif  // TESSERA_STORAGE_PG_INTERNAL_H_
