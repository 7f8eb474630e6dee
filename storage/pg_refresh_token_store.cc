// PgRefreshTokenStore: refresh-token families and their rotation, under the account's session lock
// (see LockAccountSessions in pg_internal.h).
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

absl::StatusOr<RefreshResult> RotateTx(Tx& tx, Changes& changes, const RefreshRotation& rot,
                                       AuditActor& actor);

class PgRefreshTokenStore final : public RefreshTokenStore {
 public:
  PgRefreshTokenStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<RefreshResult> Rotate(const RefreshRotation& rotation, AuditActor actor,
                                       Committed* committed) override {
    return writer_.Value<RefreshResult>(committed, [&](Tx& tx, Changes& changes) {
      return RotateTx(tx, changes, rotation, actor);
    });
  }

  absl::StatusOr<NewFamily> CreateFamily(const RefreshTokenRow& t,
                                         absl::string_view checked_password_hash, AuditActor actor,
                                         Committed* committed) override {
    return pool_.TransactValue<NewFamily>([&](Tx& tx) -> absl::StatusOr<NewFamily> {
      NewFamily out;
      // A login that lost the race with an ending gets no session (see LockAccountSessions).
      auto sessions = LockAccountSessions(tx, t.org_id, t.account_id);
      if (!sessions || sessions->disabled) {
        out.refused = NewFamilyRefusal::kAccountEnded;
        return out;
      }
      // A password rotation holds the same lock, so the hash read now is the current one.
      auto hash = tx.exec_params("SELECT password_hash FROM accounts WHERE org_id = $1 AND id = $2",
                                 t.org_id, t.account_id);
      if (hash.empty() || hash[0][0].as<std::string>() != checked_password_hash) {
        out.refused = NewFamilyRefusal::kPasswordChanged;
        return out;
      }
      // Its access token (iat in whole seconds) would be dead on arrival.
      if (!SurvivesCutoff(*sessions, absl::FromUnixSeconds(absl::ToUnixSeconds(t.created_at)))) {
        out.refused = NewFamilyRefusal::kRevokedThisSecond;
        return out;
      }
      auto r = tx.exec_params(
          "INSERT INTO refresh_tokens (org_id, family_id, account_id, digest, scopes, audience,"
          " created_at, expires_at, family_expires_at)"
          " VALUES ($1, $9::uuid, $2, $3, string_to_array($4, ' '), $5,"
          " tessera_ts($6), tessera_ts($7), tessera_ts($8)) RETURNING family_id",
          t.org_id, t.account_id, t.digest, JoinScopes(t.scopes), t.audience, Us(t.created_at),
          Us(t.expires_at), Us(t.family_expires_at), t.family_id);
      out.family_id = r[0][0].as<std::string>();
      AppendAudit(tx, actor,
                  {.action = "token.issued",
                   .target_type = "token_family",
                   .target_id = out.family_id,
                   .details_json = Details({{"grant", "password"}})});
      return out;
    });
  }

 private:
  PgPool& pool_;
  Writer writer_;
};

// The token, the account's current permissions, the account and its organization, read inside
// a refresh transaction.
constexpr char kRefreshSelect[] =
    "SELECT t.org_id, t.id, t.family_id, t.account_id, array_to_string(t.scopes, ' '),"
    " t.audience, tessera_us(t.expires_at), tessera_us(t.family_expires_at),"
    " tessera_us(t.used_at), t.revoked_at IS NOT NULL, tessera_us(t.created_at), ";

absl::StatusOr<RefreshResult> RotateTx(Tx& tx, Changes& changes, const RefreshRotation& rot,
                                       AuditActor& actor) {
  RefreshResult out;
  // Whose token it is, read without a lock so that the account's lock comes first (see
  // LockAccountSessions).
  auto owner = tx.exec_params("SELECT org_id, account_id FROM refresh_tokens WHERE digest = $1",
                              rot.presented_digest);
  if (owner.empty()) return out;  // unknown
  auto sessions =
      LockAccountSessions(tx, owner[0][0].as<std::string>(), owner[0][1].as<std::string>());
  if (!sessions) return out;
  auto r = tx.exec_params(
      absl::StrCat(kRefreshSelect, kAccountScopes, ", ", kAccountColumns, ", ", kOrgColumns,
                   " FROM refresh_tokens t JOIN accounts a"
                   " ON a.org_id = t.org_id AND a.id = t.account_id"
                   " JOIN organizations o ON o.id = t.org_id"
                   " WHERE t.digest = $1 FOR UPDATE OF t"),
      rot.presented_digest);
  if (r.empty()) return out;
  Columns c(r);  // kRefreshSelect, kAccountScopes, kAccountColumns, kOrgColumns
  out.org_id = c.Text();
  std::string token_id = c.Text();
  out.family_id = c.Text();
  out.account_id = c.Text();
  ScopeSet family_scopes = c.Scopes();
  out.audience = c.Text();
  absl::Time expires_at = c.Time();
  absl::Time family_expires_at = c.Time();
  std::optional<absl::Time> used_at = c.MaybeTime();
  bool revoked = c.Bool();
  absl::Time created_at = c.Time();
  out.scopes = family_scopes.IntersectHeld(c.Scopes());
  out.account = ReadAccount(c);
  out.org = ReadOrg(c);
  // A refresh is its account's own act.
  actor.org_id = out.org_id;
  actor.actor_id = out.account_id;

  if (revoked || sessions->disabled || !SurvivesCutoff(*sessions, created_at) ||
      rot.now >= expires_at || rot.now >= family_expires_at) {
    out.outcome = RefreshOutcome::kInvalid;
    return out;
  }
  if (!used_at) {
    auto child = tx.exec_params(
        "INSERT INTO refresh_tokens (org_id, family_id, parent_id, account_id, digest, scopes,"
        " audience, created_at, expires_at, family_expires_at)"
        " VALUES ($1, $2, $3, $4, $5, string_to_array($6, ' '), $7, tessera_ts($8::bigint),"
        " tessera_ts(least($9::bigint, $10::bigint)), tessera_ts($10::bigint)) RETURNING id",
        out.org_id, out.family_id, token_id, out.account_id, rot.child_digest,
        JoinScopes(family_scopes), out.audience, Us(rot.now), Us(rot.now + rot.child_ttl),
        Us(family_expires_at));
    tx.exec_params(
        "UPDATE refresh_tokens SET used_at = tessera_ts($3)"
        " WHERE org_id = $1 AND id = $2",
        out.org_id, token_id, Us(rot.now));
    out.child_id = child[0][0].as<std::string>();
    out.child_created_at = rot.now;
    out.outcome = RefreshOutcome::kRotated;
    AppendAudit(
        tx, actor,
        {.action = "token.refreshed", .target_type = "token_family", .target_id = out.family_id});
    return out;
  }
  // Spent. Only a retry of the immediate parent of the newest token, within the grace window,
  // gets the same child back; anything else is a stolen or replayed token.
  auto child = tx.exec_params(
      "SELECT id, tessera_us(created_at), digest, used_at IS NULL FROM refresh_tokens"
      " WHERE org_id = $1 AND parent_id = $2",
      out.org_id, token_id);
  bool replay = !child.empty() && rot.now - *used_at <= rot.grace && child[0][3].as<bool>() &&
                child[0][2].as<std::string>() == rot.child_digest;
  if (replay) {
    out.child_id = child[0][0].as<std::string>();
    out.child_created_at = FromUs(child[0][1].as<int64_t>());
    out.outcome = RefreshOutcome::kGraceReplay;
    return out;
  }
  tx.exec_params(
      "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
      " WHERE org_id = $1 AND family_id = $2 AND revoked_at IS NULL",
      out.org_id, out.family_id, Us(rot.now));
  Notify(tx, changes,
         Change{.kind = ChangeKind::kFamily,
                .org_id = out.org_id,
                .id = out.family_id,
                .expires_at = family_expires_at});
  out.outcome = RefreshOutcome::kReuse;
  AppendAudit(tx, actor,
              {.action = "refresh.reuse_detected",
               .target_type = "token_family",
               .target_id = out.family_id});
  return out;
}

}  // namespace

std::unique_ptr<RefreshTokenStore> MakePgRefreshTokenStore(PgPool& pool) {
  return std::make_unique<PgRefreshTokenStore>(pool);
}

}  // namespace tessera
