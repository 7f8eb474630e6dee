// PgSigningKeyStore: the sealed signing keys, the first one and rotations under kSigningKeyLock.
#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/encoding.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

class PgSigningKeyStore final : public SigningKeyStore {
 public:
  PgSigningKeyStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<std::vector<SigningKeyRecord>> List() override {
    return pool_.TransactValue<std::vector<SigningKeyRecord>>(
        [&](Tx& tx) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          std::vector<SigningKeyRecord> out;
          out = ListTx(tx);
          return out;
        });
  }

  absl::StatusOr<std::vector<SigningKeyRecord>> EnsureActiveKey(const SigningKeyRecord& key,
                                                                AuditActor actor,
                                                                Committed* committed) override {
    return writer_.Value<std::vector<SigningKeyRecord>>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          std::vector<SigningKeyRecord> out;
          AdvisoryXactLock(tx, kSigningKeyLock);
          auto active = tx.exec_params(
              "SELECT 1 FROM signing_keys WHERE activates_at <= tessera_ts($1)"
              " AND (retired_at IS NULL OR retired_at > tessera_ts($1))",
              Us(key.created_at));
          if (active.empty()) {
            InsertTx(tx, key);
            AppendAudit(tx, actor,
                        {.action = "signing_key.created",
                         .target_type = "signing_key",
                         .target_id = key.kid});
            Notify(tx, changes, Change{.kind = ChangeKind::kSigningKeys});
          }
          out = ListTx(tx);
          return out;
        });
  }

  absl::StatusOr<std::vector<SigningKeyRecord>> Rotate(const SigningKeyRecord& key,
                                                       absl::Time previous_verify_until,
                                                       AuditActor actor,
                                                       Committed* committed) override {
    return writer_.Value<std::vector<SigningKeyRecord>>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<std::vector<SigningKeyRecord>> {
          AdvisoryXactLock(tx, kSigningKeyLock);
          tx.exec_params(
              "UPDATE signing_keys SET retired_at = tessera_ts($1), verify_until = tessera_ts($2)"
              " WHERE retired_at IS NULL",
              Us(key.activates_at), Us(previous_verify_until));
          InsertTx(tx, key);
          AppendAudit(
              tx, actor,
              {.action = "signing_key.rotated",
               .target_type = "signing_key",
               .target_id = key.kid,
               .details_json = Details({{"activates_at", absl::ToUnixSeconds(key.activates_at)}})});
          Notify(tx, changes, Change{.kind = ChangeKind::kSigningKeys});
          std::vector<SigningKeyRecord> out = ListTx(tx);
          return out;
        });
  }

 private:
  static void InsertTx(Tx& tx, const SigningKeyRecord& key) {
    tx.exec_params(
        "INSERT INTO signing_keys (kid, alg, public_pem, private_key_sealed, created_at,"
        " activates_at) VALUES ($1, $2, $3, decode($4, 'hex'), tessera_ts($5),"
        " tessera_ts($6))",
        key.kid, key.alg, key.public_pem, HexEncode(key.private_key_sealed), Us(key.created_at),
        Us(key.activates_at));
  }

  static std::vector<SigningKeyRecord> ListTx(Tx& tx) {
    std::vector<SigningKeyRecord> out;
    auto r = tx.exec(
        "SELECT kid, alg, public_pem, encode(private_key_sealed, 'hex'), tessera_us(created_at),"
        " tessera_us(activates_at), tessera_us(retired_at), tessera_us(verify_until)"
        " FROM signing_keys ORDER BY activates_at DESC");
    for (int i = 0; i < static_cast<int>(r.size()); ++i) {
      Columns c(r, i);
      SigningKeyRecord k;
      k.kid = c.Text();
      k.alg = c.Text();
      k.public_pem = c.Text();
      // encode(..., 'hex') always yields lowercase hex; were it ever not to, the empty value
      // would fail to unseal with a clear error rather than be used.
      k.private_key_sealed = HexDecode(c.Text()).value_or("");
      k.created_at = c.Time();
      k.activates_at = c.Time();
      k.retired_at = c.MaybeTime();
      k.verify_until = c.MaybeTime();
      out.push_back(std::move(k));
    }
    return out;
  }

  PgPool& pool_;
  Writer writer_;
};

}  // namespace

std::unique_ptr<SigningKeyStore> MakePgSigningKeyStore(PgPool& pool) {
  return std::make_unique<PgSigningKeyStore>(pool);
}

}  // namespace tessera
