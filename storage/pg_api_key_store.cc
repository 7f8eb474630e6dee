// The PostgreSQL ApiKeyStore, and the reads of live keys that fill the introspection snapshot.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "storage/api_key_store.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"
#include "storage/snapshot_store.h"

namespace tessera {
namespace pg_internal {
namespace {

const char* KeyKindName(ApiKeyKind k) {
  return k == ApiKeyKind::kServiceToken ? "SERVICE_TOKEN" : "USER_TOKEN";
}
ApiKeyKind ParseKeyKind(const std::string& s) {
  return s == "SERVICE_TOKEN" ? ApiKeyKind::kServiceToken : ApiKeyKind::kUserToken;
}

// text[] crosses as a space-joined string; NULL (a user token) stays NULL.
std::optional<std::string> ScopesParam(const std::optional<ScopeSet>& scopes) {
  if (!scopes) return std::nullopt;
  return JoinScopes(*scopes);
}
constexpr char kInfoColumns[] =
    "id, org_id, account_id, kind, name, display_prefix, array_to_string(scopes, ' '),"
    " tessera_us(created_at), tessera_us(expires_at), tessera_us(last_used_at),"
    " tessera_us(revoked_at)";

// Row `i` of a result of kInfoColumns. (A braced list is evaluated in order, left to right.)
ApiKeyInfo ReadInfo(const pqxx::result& r, int i = 0) {
  Columns c(r, i);
  return ApiKeyInfo{.id = c.Text(),
                    .org_id = c.Text(),
                    .account_id = c.Text(),
                    .kind = ParseKeyKind(c.Text()),
                    .name = c.Text(),
                    .display_prefix = c.Text(),
                    .scopes = c.MaybeScopes(),
                    .created_at = c.Time(),
                    .expires_at = c.MaybeTime(),
                    .last_used_at = c.MaybeTime(),
                    .revoked_at = c.MaybeTime()};
}

void NotifyKey(Tx& tx, Changes& changes, absl::string_view org_id, absl::string_view id) {
  Notify(tx, changes,
         Change{.kind = ChangeKind::kApiKey, .org_id = std::string(org_id), .id = std::string(id)});
}

class PgApiKeyStore final : public ApiKeyStore {
 public:
  PgApiKeyStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<ApiKeyInfo> Create(const NewApiKeyRow& k, AuditActor actor,
                                    Committed* committed) override {
    return writer_.Value<ApiKeyInfo>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<ApiKeyInfo> {
          auto owner = tx.exec_params("SELECT 1 FROM accounts WHERE org_id = $1 AND id = $2",
                                      k.org_id, k.account_id);
          if (owner.empty()) return absl::NotFoundError("account_id: account not found");
          auto r = tx.exec_params(
              absl::StrCat("INSERT INTO api_keys (org_id, account_id, kind, name, display_prefix,"
                           " digest, scopes, secret_digest, created_at, expires_at)"
                           " VALUES ($1, $2, $3, $4, $5, $6, string_to_array($7, ' '),"
                           " nullif($8, ''), tessera_ts($9), tessera_ts($10)) RETURNING ",
                           kInfoColumns),
              k.org_id, k.account_id, std::string(KeyKindName(k.kind)), k.name, k.display_prefix,
              k.digest, ScopesParam(k.scopes), k.secret_digest, Us(k.now),
              k.expires_at ? std::optional<int64_t>(Us(*k.expires_at)) : std::nullopt);
          ApiKeyInfo info = ReadInfo(r);
          NotifyKey(tx, changes, info.org_id, info.id);
          AppendAudit(tx, actor,
                      {.action = "api_key.created",
                       .target_type = "api_key",
                       .target_id = info.id,
                       .org_id = k.org_id});
          return info;
        });
  }

  absl::StatusOr<std::vector<ApiKeyInfo>> List(absl::string_view org_id,
                                               absl::string_view account_id) override {
    return pool_.TransactValue<std::vector<ApiKeyInfo>>(
        [&](Tx& tx) -> absl::StatusOr<std::vector<ApiKeyInfo>> {
          auto r = tx.exec_params(absl::StrCat("SELECT ", kInfoColumns,
                                               " FROM api_keys WHERE org_id = $1"
                                               " AND ($2 = '' OR account_id = nullif($2, '')::uuid)"
                                               " ORDER BY created_at DESC, id"),
                                  std::string(org_id), std::string(account_id));
          std::vector<ApiKeyInfo> out;
          out.reserve(r.size());
          for (int i = 0; i < static_cast<int>(r.size()); ++i) out.push_back(ReadInfo(r, i));
          return out;
        });
  }

  absl::StatusOr<std::optional<ApiKeyInfo>> Get(absl::string_view org_id,
                                                absl::string_view id) override {
    return ReadOne("org_id = $1 AND id = $2::uuid", std::string(org_id), std::string(id));
  }

  absl::StatusOr<std::optional<ApiKeyInfo>> FindByDigest(absl::string_view digest) override {
    return ReadOne("digest = $1", std::string(digest));
  }

  absl::Status Revoke(absl::string_view org_id, absl::string_view id, absl::Time now,
                      AuditActor actor, Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) {
      auto r = tx.exec_params(
          "UPDATE api_keys SET revoked_at = tessera_ts($3)"
          " WHERE org_id = $1 AND id = $2::uuid AND revoked_at IS NULL",
          std::string(org_id), std::string(id), Us(now));
      if (r.affected_rows() == 0) return absl::OkStatus();
      NotifyKey(tx, changes, org_id, id);
      AppendAudit(tx, actor,
                  {.action = "api_key.revoked",
                   .target_type = "api_key",
                   .target_id = id,
                   .org_id = org_id});
      return absl::OkStatus();
    });
  }

  absl::Status RotateSecret(const SecretRotation& rot, AuditActor actor,
                            Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) -> absl::Status {
      auto r = tx.exec_params(
          "SELECT kind FROM api_keys WHERE org_id = $1 AND id = $2::uuid AND revoked_at IS NULL"
          " FOR UPDATE",
          rot.org_id, rot.id);
      if (r.empty()) return absl::NotFoundError("api_key_id: API key not found");
      if (r[0][0].as<std::string>() != "SERVICE_TOKEN") {
        return absl::FailedPreconditionError("api_key_id: only service tokens have a secret");
      }
      tx.exec_params(
          "UPDATE api_keys SET previous_secret_digest = secret_digest,"
          " previous_valid_until = tessera_ts($4), secret_digest = $3"
          " WHERE org_id = $1 AND id = $2::uuid",
          rot.org_id, rot.id, rot.secret_digest, Us(rot.previous_valid_until));
      NotifyKey(tx, changes, rot.org_id, rot.id);
      AppendAudit(
          tx, actor,
          {.action = "api_key.secret_rotated",
           .target_type = "api_key",
           .target_id = rot.id,
           .details_json = Details(
               {{"overlap_seconds", absl::ToInt64Seconds(rot.previous_valid_until - rot.now)}}),
           .org_id = rot.org_id});
      return absl::OkStatus();
    });
  }

  absl::Status RecordUse(const std::vector<KeyUse>& uses) override {
    if (uses.empty()) return absl::OkStatus();
    // Three parallel comma-separated lists (UUIDs and integers contain no comma).
    std::vector<std::string> orgs, ids, ats;
    for (const KeyUse& u : uses) {
      orgs.push_back(u.org_id);
      ids.push_back(u.id);
      ats.push_back(std::to_string(Us(u.at)));
    }
    return pool_.Transact([&](Tx& tx) {
      tx.exec_params(
          "UPDATE api_keys k SET last_used_at = greatest(k.last_used_at, tessera_ts(u.at))"
          " FROM unnest(string_to_array($1, ',')::uuid[], string_to_array($2, ',')::uuid[],"
          "   string_to_array($3, ',')::bigint[]) AS u(org_id, id, at)"
          " WHERE k.org_id = u.org_id AND k.id = u.id",
          absl::StrJoin(orgs, ","), absl::StrJoin(ids, ","), absl::StrJoin(ats, ","));
      // A success forgives a service token's earlier failed secrets, unless they locked it.
      tx.exec_params(
          "DELETE FROM auth_throttle t USING unnest(string_to_array($1, ','),"
          "   string_to_array($2, ',')::bigint[]) AS u(id, at)"
          " WHERE t.subject = 'key:' || u.id AND t.locked_until_us <= u.at"
          "   AND t.last_failure_us <= u.at",
          absl::StrJoin(ids, ","), absl::StrJoin(ats, ","));
      return absl::OkStatus();
    });
  }

 private:
  template <typename... Params>
  absl::StatusOr<std::optional<ApiKeyInfo>> ReadOne(const char* where, Params&&... params) {
    return pool_.TransactValue<std::optional<ApiKeyInfo>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<ApiKeyInfo>> {
          auto r = tx.exec_params(
              absl::StrCat("SELECT ", kInfoColumns, " FROM api_keys WHERE ", where), params...);
          if (r.empty()) return std::optional<ApiKeyInfo>();
          return std::optional<ApiKeyInfo>(ReadInfo(r));
        });
  }

  PgPool& pool_;
  Writer writer_;
};

constexpr char kCredentialColumns[] =
    "id, org_id, account_id, kind, digest, array_to_string(scopes, ' '),"
    " coalesce(secret_digest, ''), coalesce(previous_secret_digest, ''),"
    " tessera_us(previous_valid_until), tessera_us(expires_at),"
    " (SELECT t.locked_until_us FROM auth_throttle t WHERE t.subject = 'key:' || api_keys.id)";

// Row `i` of a result of kCredentialColumns.
ApiKeyCredential ReadCredential(const pqxx::result& r, int i = 0) {
  Columns c(r, i);
  ApiKeyCredential k{.id = c.Text(),
                     .org_id = c.Text(),
                     .account_id = c.Text(),
                     .kind = ParseKeyKind(c.Text()),
                     .digest = c.Text(),
                     .scopes = c.MaybeScopes(),
                     .secret_digest = c.Text(),
                     .previous_secret_digest = c.Text(),
                     .previous_valid_until = c.MaybeTime().value_or(absl::InfinitePast()),
                     .expires_at = c.MaybeTime().value_or(absl::InfiniteFuture())};
  std::optional<int64_t> locked_until_us = c.MaybeInt();
  k.secret_locked_until =
      locked_until_us.value_or(0) == 0 ? absl::InfinitePast() : FromUs(*locked_until_us);
  return k;
}

}  // namespace

std::vector<ApiKeyCredential> LoadLiveApiKeysTx(Tx& tx, absl::Time now) {
  auto r = tx.exec_params(absl::StrCat("SELECT ", kCredentialColumns,
                                       " FROM api_keys WHERE revoked_at IS NULL"
                                       " AND (expires_at IS NULL OR expires_at > tessera_ts($1))"),
                          Us(now));
  std::vector<ApiKeyCredential> out;
  out.reserve(r.size());
  for (int i = 0; i < static_cast<int>(r.size()); ++i) out.push_back(ReadCredential(r, i));
  return out;
}

std::optional<ApiKeyCredential> LoadLiveApiKeyTx(Tx& tx, absl::string_view org_id,
                                                 absl::string_view id, absl::Time now) {
  auto r = tx.exec_params(
      absl::StrCat("SELECT ", kCredentialColumns,
                   " FROM api_keys WHERE org_id = $1 AND id = $2::uuid AND revoked_at IS NULL"
                   " AND (expires_at IS NULL OR expires_at > tessera_ts($3))"),
      std::string(org_id), std::string(id), Us(now));
  if (r.empty()) return std::nullopt;
  return ReadCredential(r);
}

}  // namespace pg_internal

std::unique_ptr<ApiKeyStore> MakePgApiKeyStore(PgPool& pool) {
  return std::make_unique<pg_internal::PgApiKeyStore>(pool);
}

}  // namespace tessera
