// PgSnapshotStore: the reads that fill a replica's introspection snapshot.
#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

// An account's permissions: org_id, id, username, disabled, platform, tokens_valid_after, scopes.
constexpr char kPermissionsSelect[] =
    "SELECT a.org_id, a.id, a.username, a.disabled, o.platform, tessera_us(a.tokens_valid_after),"
    " o.id, o.slug, o.name, o.platform, tessera_us(o.created_at), ";

// Row `i` of kPermissionsSelect, kAccountColumns, kAccountScopes.
AccountPermissions ReadPermissions(const pqxx::result& r, int i = 0) {
  Columns c(r, i);
  AccountPermissions p;
  p.org_id = c.Text();
  p.account_id = c.Text();
  p.username = c.Text();
  p.disabled = c.Bool();
  p.org_platform = c.Bool();
  p.tokens_valid_after = c.MaybeTime();
  p.org = ReadOrg(c);
  p.account = ReadAccount(c);
  p.scopes = c.Scopes();
  return p;
}

class PgSnapshotStore final : public SnapshotStore {
 public:
  explicit PgSnapshotStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<SnapshotData> LoadAll(absl::Time now, absl::Duration family_tail) override {
    return pool_.TransactValue<SnapshotData>([&](Tx& tx) -> absl::StatusOr<SnapshotData> {
      SnapshotData out;
      auto accounts =
          tx.exec(absl::StrCat(kPermissionsSelect, kAccountColumns, ", ", kAccountScopes,
                               " FROM accounts a JOIN organizations o"
                               " ON o.id = a.org_id"));
      out.accounts.reserve(accounts.size());
      for (int i = 0; i < static_cast<int>(accounts.size()); ++i) {
        out.accounts.push_back(ReadPermissions(accounts, i));
      }
      auto jtis = tx.exec_params(
          "SELECT org_id, jti, tessera_us(expires_at) FROM revoked_access_tokens"
          " WHERE expires_at > tessera_ts($1)",
          Us(now));
      for (const auto& row : jtis) out.access_tokens.push_back(ReadRevoked(row));
      // A family counts as revoked once its tokens are: every way to revoke one revokes all.
      auto families = tx.exec_params(
          "SELECT org_id, family_id, tessera_us(max(family_expires_at)) FROM refresh_tokens"
          " WHERE revoked_at IS NOT NULL GROUP BY org_id, family_id"
          " HAVING max(family_expires_at) > tessera_ts($1)",
          Us(now - family_tail));
      for (const auto& row : families) out.families.push_back(ReadRevoked(row));
      out.api_keys = LoadLiveApiKeysTx(tx, now);
      return out;
    });
  }

  absl::StatusOr<std::optional<ApiKeyCredential>> LoadApiKey(absl::string_view org_id,
                                                             absl::string_view id,
                                                             absl::Time now) override {
    return pool_.TransactValue<std::optional<ApiKeyCredential>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<ApiKeyCredential>> {
          return LoadLiveApiKeyTx(tx, org_id, id, now);
        });
  }

  absl::StatusOr<std::optional<AccountPermissions>> LoadAccount(
      absl::string_view org_id, absl::string_view account_id) override {
    return pool_.TransactValue<std::optional<AccountPermissions>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<AccountPermissions>> {
          auto r =
              tx.exec_params(absl::StrCat(kPermissionsSelect, kAccountColumns, ", ", kAccountScopes,
                                          " FROM accounts a JOIN organizations o"
                                          " ON o.id = a.org_id"
                                          " WHERE a.org_id = $1 AND a.id = $2"),
                             std::string(org_id), std::string(account_id));
          if (r.empty()) return std::optional<AccountPermissions>();
          return std::optional<AccountPermissions>(ReadPermissions(r));
        });
  }

 private:
  static RevokedEntry ReadRevoked(const pqxx::row& row) {
    return RevokedEntry{.org_id = row[0].as<std::string>(),
                        .id = row[1].as<std::string>(),
                        .expires_at = FromUs(row[2].as<int64_t>())};
  }

  PgPool& pool_;
};

}  // namespace

std::unique_ptr<SnapshotStore> MakePgSnapshotStore(PgPool& pool) {
  return std::make_unique<PgSnapshotStore>(pool);
}

}  // namespace tessera
