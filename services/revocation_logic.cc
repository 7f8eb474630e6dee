#include "services/revocation_logic.h"

#include "core/credentials.h"
#include "services/authority.h"
#include "services/validation.h"

namespace tessera {

RevocationLogic::RevocationLogic(const Clock& clock, absl::Duration leeway,
                                 const SecretDigester& digester, RevocationStore& revocations,
                                 AuthSnapshot& snapshot, CredentialCheck& checks,
                                 ApiKeyLogic& api_keys)
    : clock_(clock),
      leeway_(leeway),
      digester_(digester),
      revocations_(revocations),
      snapshot_(snapshot),
      checks_(checks),
      api_keys_(api_keys) {}

absl::StatusOr<RevokedKind> RevocationLogic::Revoke(const Principal& caller,
                                                    const RevokeTarget& target,
                                                    const CallContext& call) {
  absl::Status revoked;
  RevokedKind kind = RevokedKind::kAccessToken;
  switch (target.kind) {
    case RevokeTarget::kToken:
      if (!ApiKeyPrefix(target.value).empty()) {
        kind = RevokedKind::kApiKey;
        revoked = api_keys_.RevokeByKey(caller, call, target.value);
      } else {
        if (IsRefreshTokenFormat(target.value)) kind = RevokedKind::kRefreshFamily;
        revoked = RevokeToken(caller, target.value, call);
      }
      break;
    case RevokeTarget::kAccount:
      kind = RevokedKind::kAccount;
      revoked = RevokeAccount(caller, target.value, call);
      break;
    case RevokeTarget::kApiKey:
      kind = RevokedKind::kApiKey;
      revoked = api_keys_.RevokeById(caller, call, target.value);
      break;
  }
  if (!revoked.ok()) return revoked;
  return kind;
}

absl::Status RevocationLogic::RevokeToken(const Principal& caller, absl::string_view token,
                                          const CallContext& call) {
  absl::Time now = clock_.Now();
  AuditActor actor = AuditBy(caller, call, now);
  // The caller may revoke its own tokens; others' need tokens:revoke in the same organization
  // and every scope their account holds.
  auto may_revoke = [&](const std::string& org_id, const std::string& account_id) {
    if (caller.org_id == org_id && caller.account_id == account_id) return absl::OkStatus();
    if (caller.org_id != org_id || !caller.scopes.Grants(kScopeTokensRevoke)) {
      return absl::PermissionDeniedError("token: not yours to revoke (needs tokens:revoke)");
    }
    return RequireAuthorityOver(snapshot_, caller, account_id, "token");
  };
  if (IsRefreshTokenFormat(token)) {
    auto owner = revocations_.FindRefreshToken(digester_.Digest(token));
    if (!owner.ok()) return owner.status();
    if (!owner->has_value()) return absl::OkStatus();  // unknown: RFC 7009 says succeed
    const RefreshTokenOwner& o = **owner;
    if (auto s = may_revoke(o.org_id, o.account_id); !s.ok()) return s;
    return snapshot_.AfterCommit([&](Committed* c) {
      return revocations_.RevokeFamily(o.org_id, o.family_id, now, std::move(actor), c);
    });
  }
  // Only tokens this service signed and that have not expired are worth recording.
  auto claims = checks_.Verify(token, now);
  if (!claims.ok() || !CheckId("org_id", claims->org_id).ok()) return absl::OkStatus();
  if (auto s = may_revoke(claims->org_id, claims->sub); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return revocations_.RevokeAccessToken(claims->org_id, claims->jti,
                                          absl::FromUnixSeconds(claims->exp) + leeway_, now,
                                          std::move(actor), c);
  });
}

absl::Status RevocationLogic::RevokeAccount(const Principal& caller, absl::string_view account_id,
                                            const CallContext& call) {
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  if (caller.account_id != account_id) {
    if (!caller.scopes.Grants(kScopeTokensRevoke)) {
      return absl::PermissionDeniedError("account_id: not yours to revoke (needs tokens:revoke)");
    }
    if (auto s = RequireAuthorityOver(snapshot_, caller, account_id, "account_id"); !s.ok()) {
      return s;
    }
  }
  absl::Time now = clock_.Now();
  return snapshot_.AfterCommit([&](Committed* c) {
    return revocations_.RevokeAccount(caller.org_id, account_id, now, AuditBy(caller, call, now),
                                      c);
  });
}

}  // namespace tessera
