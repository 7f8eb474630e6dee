// PgRevocationStore: revoking access tokens by jti, refresh families and whole accounts, each under
// the account's session lock where sessions end.
#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/group_commit.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

struct AccessTokenRevocation {
  std::string org_id;
  std::string jti;
  absl::Time expires_at;
  absl::Time now;
  AuditActor actor;
};
using AccessTokenRevocations = GroupCommit<AccessTokenRevocation, bool>;

// One statement for the whole batch (tessera_revoke_access_tokens, migration 0008): per item,
// the revoked jti, and when it is new, its audit row and its change on the channel.
absl::Status RevokeAccessTokenBatch(Tx& tx, absl::Span<const AccessTokenRevocation* const> items,
                                    bool /*alone: it takes no lock but its rows'*/,
                                    AccessTokenRevocations::Outcomes& out) {
  std::vector<std::string> org_id, jti, expires, now, actor_id, peer, request_id, encoded;
  std::vector<Change> changes;
  absl::Time sent_at = absl::Now();  // wall clock on purpose, as in Notify
  for (const AccessTokenRevocation* r : items) {
    org_id.push_back(r->org_id);
    jti.push_back(r->jti);
    expires.push_back(std::to_string(Us(r->expires_at)));
    now.push_back(std::to_string(Us(r->now)));
    actor_id.push_back(r->actor.actor_id);
    peer.push_back(r->actor.peer);
    request_id.push_back(r->actor.request_id);
    changes.push_back(Change{.kind = ChangeKind::kAccessToken,
                             .org_id = r->org_id,
                             .id = r->jti,
                             .expires_at = r->expires_at,
                             .sent_at = sent_at});
    encoded.push_back(EncodeChange(changes.back()));
  }
  auto rows = tx.exec_params(
      "SELECT * FROM tessera_revoke_access_tokens($1::uuid[], $2::text[], $3::bigint[],"
      " $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9)",
      ArrayLiteral(org_id), ArrayLiteral(jti), ArrayLiteral(expires), ArrayLiteral(now),
      ArrayLiteral(actor_id), ArrayLiteral(peer), ArrayLiteral(request_id), ArrayLiteral(encoded),
      std::string(kChangeChannel));
  for (int row = 0; row < static_cast<int>(rows.size()); ++row) {
    Columns c(rows, row);
    size_t i = static_cast<size_t>(c.Int()) - 1;  // WITH ORDINALITY counts from 1
    if (i >= items.size()) return absl::InternalError("revocation batch: row for no item");
    bool revoked = c.Bool();
    if (revoked) out.changes[i].push_back(changes[i]);
    out.results[i] = revoked;
  }
  return absl::OkStatus();
}

class PgRevocationStore final : public RevocationStore {
 public:
  PgRevocationStore(PgPool& pool, const GroupCommitOptions& options)
      : pool_(pool), writer_(pool), access_tokens_(pool, options, RevokeAccessTokenBatch) {}

  absl::Status RevokeAccessToken(absl::string_view org_id, absl::string_view jti,
                                 absl::Time expires_at, absl::Time now, AuditActor actor,
                                 Committed* committed) override {
    auto revoked = access_tokens_.Commit(AccessTokenRevocation{.org_id = std::string(org_id),
                                                               .jti = std::string(jti),
                                                               .expires_at = expires_at,
                                                               .now = now,
                                                               .actor = std::move(actor)},
                                         committed);
    return revoked.status();
  }

  absl::StatusOr<std::optional<RefreshTokenOwner>> FindRefreshToken(
      absl::string_view digest) override {
    return pool_.TransactValue<std::optional<RefreshTokenOwner>>(
        [&](Tx& tx) -> absl::StatusOr<std::optional<RefreshTokenOwner>> {
          auto r = tx.exec_params(
              "SELECT org_id, account_id, family_id FROM refresh_tokens WHERE digest = $1",
              std::string(digest));
          if (r.empty()) return std::optional<RefreshTokenOwner>();
          return RefreshTokenOwner{.org_id = r[0][0].as<std::string>(),
                                   .account_id = r[0][1].as<std::string>(),
                                   .family_id = r[0][2].as<std::string>()};
        });
  }

  absl::Status RevokeFamily(absl::string_view org_id, absl::string_view family_id, absl::Time now,
                            AuditActor actor, Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) {
      // The family's account's session lock first, so that the update below also sees the
      // child a rotation in flight is inserting (see LockAccountSessions).
      auto owner = tx.exec_params(
          "SELECT account_id FROM refresh_tokens WHERE org_id = $1 AND family_id = $2 LIMIT 1",
          std::string(org_id), std::string(family_id));
      if (owner.empty()) return absl::OkStatus();
      LockAccountSessions(tx, org_id, owner[0][0].as<std::string>());
      auto r = tx.exec_params(
          "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
          " WHERE org_id = $1 AND family_id = $2 AND revoked_at IS NULL"
          " RETURNING tessera_us(family_expires_at)",
          std::string(org_id), std::string(family_id), Us(now));
      if (r.empty()) return absl::OkStatus();
      Notify(tx, changes,
             Change{.kind = ChangeKind::kFamily,
                    .org_id = std::string(org_id),
                    .id = std::string(family_id),
                    .expires_at = FromUs(r[0][0].as<int64_t>())});
      AppendAudit(tx, actor,
                  {.action = "token_family.revoked",
                   .target_type = "token_family",
                   .target_id = family_id,
                   .org_id = org_id});
      return absl::OkStatus();
    });
  }

  absl::Status RevokeAccount(absl::string_view org_id, absl::string_view account_id, absl::Time now,
                             AuditActor actor, Committed* committed) override {
    return writer_.Status(committed, [&](Tx& tx, Changes& changes) {
      // The session lock first: rotations and logins in flight commit before the update below,
      // which then sees every token they made (see LockAccountSessions).
      auto sessions = LockAccountSessions(tx, org_id, account_id);
      if (!sessions) return absl::NotFoundError("account_id: account not found");
      auto revoked = tx.exec_params(
          "UPDATE refresh_tokens SET revoked_at = tessera_ts($3)"
          " WHERE org_id = $1 AND account_id = $2 AND revoked_at IS NULL"
          " RETURNING tessera_us(created_at)",
          std::string(org_id), std::string(account_id), Us(now));
      // The cutoff covers every access token issued so far, including one minted by a rotation
      // whose clock read a little later than ours: never before the newest session it revokes.
      absl::Time cutoff = now;
      if (sessions->tokens_valid_after) cutoff = std::max(cutoff, *sessions->tokens_valid_after);
      for (const auto& row : revoked) cutoff = std::max(cutoff, FromUs(row[0].as<int64_t>()));
      tx.exec_params(
          "UPDATE accounts SET tokens_valid_after = tessera_ts($3), updated_at = tessera_ts($4)"
          " WHERE org_id = $1 AND id = $2",
          std::string(org_id), std::string(account_id), Us(cutoff), Us(now));
      // The account's cutoff covers every family's access tokens, so one change says it all.
      NotifyAccount(tx, changes, org_id, account_id);
      AppendAudit(tx, actor,
                  {.action = "account.sessions_revoked",
                   .target_type = "account",
                   .target_id = account_id,
                   .org_id = org_id});
      return absl::OkStatus();
    });
  }

 private:
  PgPool& pool_;
  Writer writer_;
  AccessTokenRevocations access_tokens_;
};

}  // namespace

std::unique_ptr<RevocationStore> MakePgRevocationStore(PgPool& pool,
                                                       const GroupCommitOptions& options) {
  return std::make_unique<PgRevocationStore>(pool, options);
}

}  // namespace tessera
