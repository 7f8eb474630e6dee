#include "services/api_key_logic.h"

#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "services/authority.h"
#include "services/validation.h"

namespace tessera {

ApiKeyLogic::ApiKeyLogic(const Clock& clock, ApiKeyOptions options, const SecretDigester& digester,
                         ApiKeyStore& store, AuthSnapshot& snapshot)
    : clock_(clock),
      options_(std::move(options)),
      digester_(digester),
      store_(store),
      snapshot_(snapshot) {}

absl::Status ApiKeyLogic::MayRevoke(const Principal& caller, const ApiKeyInfo& key) const {
  if (key.org_id != caller.org_id) return absl::NotFoundError("api_key_id: API key not found");
  if (key.account_id == caller.account_id) return absl::OkStatus();
  if (auto s = RequireScope(caller, kScopeTokensRevoke); !s.ok()) return s;
  return RequireAuthorityOver(snapshot_, caller, key.account_id, "api_key_id");
}

absl::StatusOr<CreatedApiKey> ApiKeyLogic::Create(const Principal& caller, const CallContext& call,
                                                  const NewApiKeyInput& in) {
  std::string account_id = in.account_id.empty() ? caller.account_id : in.account_id;
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  if (auto s = CheckText("name", in.name, 200); !s.ok()) return s;
  if (in.ttl_seconds < 0 || in.ttl_seconds > 10LL * 366 * 86400) {
    return absl::InvalidArgumentError("ttl_seconds: 0 (no expiry) to ten years");
  }
  if (in.kind == ApiKeyKind::kUserToken && !in.scopes.empty()) {
    return absl::InvalidArgumentError(
        "scopes: a user token inherits its user's permissions; only service tokens take scopes");
  }
  if (account_id != caller.account_id) {
    if (auto s = RequireScope(caller, kScopeApiKeysWrite); !s.ok()) return s;
  }
  auto owner = snapshot_.FindAccount(caller.org_id, account_id);
  if (!owner.ok()) return owner.status();
  if (*owner == nullptr) return absl::NotFoundError("account_id: account not found");
  // A key acts as its account: minting one needs all the account holds, even for one's own
  // account when the caller's credential is narrower than it.
  if (auto s = RequireAuthorityOver(caller, **owner, "account_id"); !s.ok()) return s;
  if ((*owner)->disabled) return absl::FailedPreconditionError("account_id: account is disabled");

  NewApiKeyRow row{.org_id = caller.org_id,
                   .account_id = account_id,
                   .kind = in.kind,
                   .name = in.name,
                   .now = clock_.Now()};
  if (in.ttl_seconds > 0) row.expires_at = row.now + absl::Seconds(in.ttl_seconds);
  CreatedApiKey out;
  if (in.kind == ApiKeyKind::kServiceToken) {
    ScopeSet scopes{std::string(kAdminScope)};  // none given: admin, stored explicitly as such
    if (!in.scopes.empty()) {
      auto parsed = ParseScopes("scopes", in.scopes);
      if (!parsed.ok()) return parsed.status();
      scopes = *std::move(parsed);
    }
    for (const std::string& s : scopes.items()) {
      if (!(*owner)->scopes.Grants(s)) {
        return absl::InvalidArgumentError(
            absl::StrCat("scopes: \"", s, "\" is not held by the account"));
      }
    }
    if (auto s = RequireHeld(caller, scopes, "scopes"); !s.ok()) return s;
    row.scopes = std::move(scopes);
    out.key = NewApiKey(options_.service_token_prefix);
    out.secret = NewApiSecret();
    row.secret_digest = digester_.Digest(out.secret);
  } else {
    out.key = NewApiKey(options_.user_token_prefix);
    // Made for someone else: capped at what its maker holds now, so that a role the account
    // gains later does not reach whoever holds the token (an admin's is not capped).
    if (account_id != caller.account_id && !caller.scopes.Contains(kAdminScope)) {
      row.scopes = caller.scopes;
    }
  }
  row.digest = digester_.Digest(out.key);
  row.display_prefix = ApiKeyDisplayPrefix(out.key);
  auto info = snapshot_.AfterCommit(
      [&](Committed* c) { return store_.Create(row, AuditBy(caller, call, clock_.Now()), c); });
  if (!info.ok()) return info.status();
  out.info = *std::move(info);
  return out;
}

absl::StatusOr<std::vector<ApiKeyInfo>> ApiKeyLogic::List(const Principal& caller,
                                                          const std::string& account_id) {
  if (account_id != caller.account_id) {
    if (auto s = RequireScope(caller, kScopeApiKeysRead); !s.ok()) return s;
  }
  if (!account_id.empty()) {
    if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
    auto owner = snapshot_.FindAccount(caller.org_id, account_id);
    if (!owner.ok()) return owner.status();
    if (*owner == nullptr) return absl::NotFoundError("account_id: account not found");
  }
  return store_.List(caller.org_id, account_id);
}

absl::Status ApiKeyLogic::RevokeById(const Principal& caller, const CallContext& call,
                                     absl::string_view api_key_id) {
  if (auto s = CheckId("api_key_id", api_key_id); !s.ok()) return s;
  auto key = store_.Get(caller.org_id, api_key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return absl::NotFoundError("api_key_id: API key not found");
  if (auto s = MayRevoke(caller, **key); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return store_.Revoke(caller.org_id, api_key_id, clock_.Now(),
                         AuditBy(caller, call, clock_.Now()), c);
  });
}

absl::Status ApiKeyLogic::RevokeByKey(const Principal& caller, const CallContext& call,
                                      absl::string_view key) {
  auto found = store_.FindByDigest(digester_.Digest(key));
  if (!found.ok()) return found.status();
  if (!found->has_value()) return absl::OkStatus();
  const ApiKeyInfo& info = **found;
  if (info.org_id != caller.org_id) {
    return absl::PermissionDeniedError("token: not yours to revoke");
  }
  if (auto s = MayRevoke(caller, info); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return store_.Revoke(info.org_id, info.id, clock_.Now(), AuditBy(caller, call, clock_.Now()),
                         c);
  });
}

absl::StatusOr<RotatedSecret> ApiKeyLogic::RotateSecret(const Principal& caller,
                                                        const CallContext& call,
                                                        absl::string_view api_key_id,
                                                        int64_t overlap_seconds) {
  if (auto s = CheckId("service_token_secret.api_key_id", api_key_id); !s.ok()) return s;
  if (overlap_seconds < 0 || absl::Seconds(overlap_seconds) > options_.max_overlap) {
    return absl::InvalidArgumentError(absl::StrCat("service_token_secret.overlap_seconds: 0 to ",
                                                   absl::ToInt64Seconds(options_.max_overlap)));
  }
  auto key = store_.Get(caller.org_id, api_key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value() || (*key)->revoked_at) {
    return absl::NotFoundError("service_token_secret.api_key_id: API key not found");
  }
  // A new secret is a new credential: its owner or api_keys:write, and in either case all the
  // key may grant, which is its scopes within its account's.
  if ((*key)->account_id != caller.account_id) {
    if (auto s = RequireScope(caller, kScopeApiKeysWrite); !s.ok()) return s;
  }
  if (auto s = RequireAuthorityOver(snapshot_, caller, (*key)->account_id,
                                    "service_token_secret.api_key_id");
      !s.ok()) {
    return s;
  }
  if ((*key)->scopes) {
    if (auto s = RequireHeld(caller, *(*key)->scopes, "service_token_secret.api_key_id"); !s.ok()) {
      return s;
    }
  }
  RotatedSecret out{.secret = NewApiSecret()};
  absl::Time now = clock_.Now();
  out.previous_valid_until = now + absl::Seconds(overlap_seconds);
  AuditActor actor = AuditBy(caller, call, clock_.Now());
  auto s = snapshot_.AfterCommit([&](Committed* c) {
    return store_.RotateSecret(SecretRotation{.org_id = caller.org_id,
                                              .id = std::string(api_key_id),
                                              .secret_digest = digester_.Digest(out.secret),
                                              .now = now,
                                              .previous_valid_until = out.previous_valid_until},
                               std::move(actor), c);
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace tessera
