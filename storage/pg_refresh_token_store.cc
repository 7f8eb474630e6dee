// PgRefreshTokenStore: refresh-token families and their rotation, under the account's session lock
// (see LockAccountSessions in pg_internal.h). Rotations are group-committed (group_commit.h).
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

struct RotateItem {
  RefreshRotation rotation;
  AuditActor actor;
};
using Rotations = GroupCommit<RotateItem, RefreshResult>;

absl::Status RotateBatch(Tx& tx, absl::Span<const RotateItem* const> items, bool alone,
                         Rotations::Outcomes& out);

class PgRefreshTokenStore final : public RefreshTokenStore {
 public:
  PgRefreshTokenStore(PgPool& pool, const GroupCommitOptions& options)
      : pool_(pool), rotations_(pool, options, RotateBatch) {}

  absl::StatusOr<RefreshResult> Rotate(const RefreshRotation& rotation, AuditActor actor,
                                       Committed* committed) override {
    return rotations_.Commit(RotateItem{.rotation = rotation, .actor = std::move(actor)},
                             committed);
  }

  absl::StatusOr<NewFamily> CreateFamily(const RefreshTokenRow& t,
                                         absl::string_view checked_password_hash,
                                         absl::string_view throttle_subject, AuditActor actor,
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
      if (!throttle_subject.empty()) {
        tx.exec_params("DELETE FROM auth_throttle WHERE subject = $1",
                       std::string(throttle_subject));
      }
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
  Rotations rotations_;
};

RefreshOutcome ParseOutcome(const std::string& s) {
  if (s == "rotated") return RefreshOutcome::kRotated;
  if (s == "replayed") return RefreshOutcome::kGraceReplay;
  if (s == "reused") return RefreshOutcome::kReuse;
  return RefreshOutcome::kInvalid;  // "invalid", "unknown"
}

// One statement for the whole batch (tessera_rotate_refreshes, migration 0008), which does per
// item what one rotation's transaction did: under the account's session lock, check the
// presented token, spend it, insert the child and its audit row — or, on reuse, revoke the
// family and audit `refresh.reuse_detected`.
absl::Status RotateBatch(Tx& tx, absl::Span<const RotateItem* const> items, bool alone,
                         Rotations::Outcomes& out) {
  std::vector<std::string> presented, child, now, grace, ttl, peer, request_id;
  for (const RotateItem* item : items) {
    const RefreshRotation& rot = item->rotation;
    presented.push_back(rot.presented_digest);
    child.push_back(rot.child_digest);
    now.push_back(std::to_string(Us(rot.now)));
    grace.push_back(std::to_string(absl::ToInt64Microseconds(rot.grace)));
    ttl.push_back(std::to_string(absl::ToInt64Microseconds(rot.child_ttl)));
    peer.push_back(item->actor.peer);
    request_id.push_back(item->actor.request_id);
  }
  auto rows = tx.exec_params(
      "SELECT * FROM tessera_rotate_refreshes($1::text[], $2::text[], $3::bigint[],"
      " $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::boolean)",
      ArrayLiteral(presented), ArrayLiteral(child), ArrayLiteral(now), ArrayLiteral(grace),
      ArrayLiteral(ttl), ArrayLiteral(peer), ArrayLiteral(request_id), alone);
  for (int row = 0; row < static_cast<int>(rows.size()); ++row) {
    Columns c(rows, row);
    size_t i = static_cast<size_t>(c.Int()) - 1;  // WITH ORDINALITY counts from 1
    if (i >= items.size()) return absl::InternalError("rotation batch: row for no item");
    RefreshResult r;
    std::string outcome = c.Text();
    if (outcome == "busy") {  // its account is locked elsewhere: its caller waits alone
      out.alone[i] = true;
      continue;
    }
    r.outcome = ParseOutcome(outcome);
    if (outcome != "unknown") {
      r.org_id = c.Text();
      r.family_id = c.Text();
      r.account_id = c.Text();
      ScopeSet family_scopes = c.Scopes();
      r.audience = c.Text();
      if (r.outcome == RefreshOutcome::kRotated || r.outcome == RefreshOutcome::kGraceReplay) {
        r.child_id = c.Text();
        r.child_created_at = c.Time();
        // The database keeps microseconds; the rotation's own instant is the child's.
        if (r.outcome == RefreshOutcome::kRotated) r.child_created_at = items[i]->rotation.now;
      } else {
        c.Skip();  // r_child_id, null
        c.Skip();  // r_child_created_us, null
      }
      absl::Time family_expires_at = c.Time();
      r.scopes = family_scopes.IntersectHeld(c.Scopes());
      r.account = ReadAccount(c);
      r.org = ReadOrg(c);
      if (r.outcome == RefreshOutcome::kReuse) {
        Notify(tx, out.changes[i],
               Change{.kind = ChangeKind::kFamily,
                      .org_id = r.org_id,
                      .id = r.family_id,
                      .expires_at = family_expires_at});
      }
    }
    out.results[i] = std::move(r);
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<RefreshTokenStore> MakePgRefreshTokenStore(PgPool& pool,
                                                           const GroupCommitOptions& options) {
  return std::make_unique<PgRefreshTokenStore>(pool, options);
}

}  // namespace tessera
