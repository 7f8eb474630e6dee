#include "services/session_logic.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/names.h"
#include "services/refusal.h"
#include "services/validation.h"

namespace tessera {
namespace {

// One message for every failed login, whatever failed, so a caller cannot tell an unknown user
// from a wrong password or a disabled account.
constexpr char kBadCredentials[] = "invalid credentials";

absl::Status Unauthenticated() {
  return MarkRefused(absl::UnauthenticatedError(kBadCredentials),
                     RefusalReason::kInvalidCredentials);
}

}  // namespace

SessionLogic::SessionLogic(const Clock& clock, TokenOptions options, const KeyRing& keys,
                           const PasswordHasher& hasher, BoundedWorkerPool& password_pool,
                           const SecretDigester& digester, AccountStore& accounts,
                           RefreshTokenStore& refresh_tokens, AuditStore& audit,
                           CredentialCheck& checks, LoginGuard& guard, AuthSnapshot& snapshot)
    : clock_(clock),
      options_(std::move(options)),
      keys_(keys),
      hasher_(hasher),
      password_pool_(password_pool),
      digester_(digester),
      accounts_(accounts),
      refresh_tokens_(refresh_tokens),
      audit_(audit),
      checks_(checks),
      guard_(guard),
      snapshot_(snapshot) {}

absl::StatusOr<ScopeSet> SessionLogic::NarrowScopes(const ScopeSet& held,
                                                    const std::vector<std::string>& requested) {
  if (requested.empty()) return held;
  auto wanted = ParseScopes("scopes", requested);
  if (!wanted.ok()) return wanted.status();
  for (const auto& s : wanted->items()) {
    if (!held.Grants(s)) {
      return absl::InvalidArgumentError(absl::StrCat("scopes: \"", s, "\" is not held"));
    }
  }
  return *wanted;
}

absl::StatusOr<std::string> SessionLogic::MintAccessToken(
    const std::string& org_id, const std::string& account_id, const std::string& client_id,
    const ScopeSet& scopes, const std::string& audience, absl::Time issued_at,
    const std::string& jti, const std::string& sid) {
  auto key = keys_.SigningKeyAt(clock_.Now());
  if (!key.ok()) return key.status();
  AccessTokenClaims c;
  c.iss = options_.issuer;
  c.sub = account_id;
  c.aud = {audience.empty() ? options_.issuer : audience};
  c.iat = absl::ToUnixSeconds(issued_at);
  c.nbf = c.iat;
  c.exp = c.iat + absl::ToInt64Seconds(options_.access_token_ttl);
  c.jti = jti;
  c.client_id = client_id;
  c.scopes = scopes.ToVector();
  c.org_id = org_id;
  c.sid = sid;
  return EncodeAccessToken(c, **key);
}

std::string SessionLogic::UnknownNameDigest(absl::string_view org_slug,
                                            absl::string_view name) const {
  return digester_.Digest(absl::StrCat("login-name:", org_slug, ":", NameKey(name)));
}

void SessionLogic::AuditFailedLogin(const PasswordLogin& login, const LoginCandidate* matched,
                                    absl::string_view name, const CallContext& call,
                                    absl::string_view reason) {
  nlohmann::json details = {
      {"grant", "password"}, {"org_slug", login.org_slug}, {"reason", std::string(reason)}};
  AuditEntry e{.at = clock_.Now(),
               .actor_id = "anonymous",
               .action = "auth.failed",
               .peer = call.peer,
               .request_id = call.request_id};
  if (matched != nullptr) {
    e.org_id = matched->org.id;
    e.target_type = "account";
    e.target_id = matched->account.id;
    details["username"] = matched->account.username;
  } else {
    // What was typed may be a password typed into the wrong field: kept only as a peppered
    // digest, enough to see one name tried again and again, never to read it.
    e.target_type = "login_name";
    e.target_id = UnknownNameDigest(login.org_slug, name).substr(0, 16);
  }
  e.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  absl::Status s = audit_.Append(std::move(e));
  if (!s.ok()) {
    Log(LogLevel::kError, "audit_write_failed",
        {{"request_id", call.request_id}, {"error", std::string(s.message())}});
  }
}

absl::StatusOr<IssuedTokens> SessionLogic::LoginWithPassword(const PasswordLogin& login,
                                                             const CallContext& call) {
  if (auto s = CheckSlug("password.org_slug", login.org_slug); !s.ok()) return s;
  // Text, not necessarily a name a new account could take: accounts from before the name rules
  // (core/names.h) keep logging in by theirs. It is looked up by its NameKey either way.
  if (auto s = CheckText("password.username", login.username, 320); !s.ok()) return s;
  const std::string* name = &login.username;
  if (login.password.empty()) return absl::InvalidArgumentError("password.password: required");
  if (login.password.size() > kMaxPasswordLength) {
    return absl::InvalidArgumentError("password.password: longer than 1024 bytes");
  }
  if (auto s = CheckText("audience", login.audience, 256, /*required=*/false); !s.ok()) return s;
  if (auto s = ParseScopes("scopes", login.scopes); !s.ok()) return s.status();

  auto candidate = accounts_.FindForLogin(login.org_slug, *name);
  if (absl::IsNotFound(candidate.status())) {
    // An unknown name is throttled and answered exactly like a known one, so neither the
    // answer, nor its cost, nor a lockout tells the two apart.
    auto attempt = guard_.BeginPassword(
        LoginGuard::SubjectForUnknownLogin(UnknownNameDigest(login.org_slug, *name)), "", call);
    if (!attempt.ok()) return attempt.status();
    auto spent = password_pool_.Run<bool>([&] {
      hasher_.VerifyDummy(login.password);
      return false;
    });
    if (!spent.ok()) {  // no room to hash: not an attempt at all
      guard_.Unchecked(*attempt, call);
      return spent.status();
    }
    guard_.Failed(*attempt, call);
    AuditFailedLogin(login, nullptr, *name, call, "unknown_account");
    return Unauthenticated();
  }
  if (!candidate.ok()) return candidate.status();

  auto attempt = guard_.BeginPassword(LoginGuard::SubjectForAccount(candidate->account.id),
                                      candidate->org.id, call);
  if (!attempt.ok()) return attempt.status();
  const std::string& hash = candidate->password_hash;
  auto verified = password_pool_.Run<bool>([&] { return hasher_.Verify(hash, login.password); });
  if (!verified.ok()) {  // no room to hash: not an attempt at all
    guard_.Unchecked(*attempt, call);
    return verified.status();
  }
  if (!*verified || candidate->account.disabled) {
    guard_.Failed(*attempt, call);
    AuditFailedLogin(login, &*candidate, *name, call,
                     *verified ? "account_disabled" : "wrong_password");
    return Unauthenticated();
  }
  // The password was right: the failure count goes, with the new session's own write when
  // there is one (one transaction less per login), on its own otherwise.
  auto scopes = NarrowScopes(candidate->scopes, login.scopes);
  if (!scopes.ok()) {
    guard_.Succeeded(*attempt, call);
    return scopes.status();
  }
  const std::string& org_id = candidate->org.id;
  const std::string& account_id = candidate->account.id;
  std::string family_id = NewUuid();
  absl::Time now = clock_.Now();
  auto access = MintAccessToken(org_id, account_id, account_id, *scopes, login.audience, now,
                                NewJti(), family_id);
  if (!access.ok()) {
    guard_.Succeeded(*attempt, call);
    return access.status();
  }

  std::string refresh = NewRefreshToken();
  RefreshTokenRow row{.family_id = family_id,
                      .org_id = org_id,
                      .account_id = account_id,
                      .digest = digester_.Digest(refresh),
                      .scopes = *scopes,
                      .audience = login.audience.empty() ? options_.issuer : login.audience,
                      .created_at = now,
                      .expires_at = now + options_.refresh_token_ttl,
                      .family_expires_at = now + options_.refresh_family_ttl};
  AuditActor actor{.org_id = org_id,
                   .at = now,
                   .actor_id = account_id,
                   .peer = call.peer,
                   .request_id = call.request_id};
  auto family = snapshot_.AfterCommit([&](Committed* c) {
    return refresh_tokens_.CreateFamily(row, candidate->password_hash, attempt->subject,
                                        std::move(actor), c);
  });
  if (!family.ok()) {
    guard_.Succeeded(*attempt, call);  // the password was right; the database failed
    return family.status();
  }
  switch (family->refused) {
    case NewFamilyRefusal::kNone:
      break;
    case NewFamilyRefusal::kAccountEnded:
    case NewFamilyRefusal::kPasswordChanged:
      // Disabled, or the password replaced, while it was being checked: the same answer as a
      // disabled account or a wrong password.
      AuditFailedLogin(login, &*candidate, *name, call,
                       family->refused == NewFamilyRefusal::kAccountEnded ? "account_disabled"
                                                                          : "password_changed");
      return Unauthenticated();
    case NewFamilyRefusal::kRevokedThisSecond:
      guard_.Succeeded(*attempt, call);  // the password was right
      return absl::AbortedError(
          "the account's sessions were revoked within this second; retry the login");
  }

  IssuedTokens out;
  out.grant = IssueGrant::kPassword;
  out.access_token = *std::move(access);
  out.expires_in = absl::ToInt64Seconds(options_.access_token_ttl);
  out.refresh_token = std::move(refresh);
  out.scopes = *std::move(scopes);
  out.org = candidate->org;
  out.account = candidate->account;
  return out;
}

absl::StatusOr<IssuedTokens> SessionLogic::Refresh(absl::string_view refresh_token,
                                                   const CallContext& call,
                                                   const std::vector<std::string>& scopes) {
  auto invalid = [](bool reused = false) {
    return MarkRefused(absl::UnauthenticatedError("invalid refresh token"),
                       RefusalReason::kInvalidRefreshToken, reused);
  };
  if (!IsRefreshTokenFormat(refresh_token)) return invalid();
  if (auto s = ParseScopes("scopes", scopes); !s.ok()) return s.status();
  // The child is derived from the parent under the pepper, so a retry of the parent yields the
  // same child without the child ever being stored in plaintext.
  std::string child = absl::StrCat("rt_", digester_.Digest(absl::StrCat("child:", refresh_token)));
  absl::Time now = clock_.Now();
  RefreshRotation rotation{.presented_digest = digester_.Digest(refresh_token),
                           .child_digest = digester_.Digest(child),
                           .now = now,
                           .grace = options_.refresh_grace,
                           .child_ttl = options_.refresh_token_ttl};
  // Whose act it is the store learns from the token.
  AuditActor actor{.at = now, .peer = call.peer, .request_id = call.request_id};
  auto result = snapshot_.AfterCommit(
      [&](Committed* c) { return refresh_tokens_.Rotate(rotation, std::move(actor), c); });
  if (!result.ok()) return result.status();
  if (result->outcome == RefreshOutcome::kReuse) {
    Log(LogLevel::kWarning, "refresh_reuse_detected",
        {{"request_id", call.request_id},
         {"org_id", result->org_id},
         {"family_id", result->family_id},
         {"peer", call.peer}});
    return invalid(/*reused=*/true);
  }
  if (result->outcome == RefreshOutcome::kInvalid) return invalid();

  // One child, one access token: its ID and issue time come from the child, so a grace replay
  // answers with the same token (same jti, iat and exp).
  std::string jti = result->child_id;
  jti.erase(std::remove(jti.begin(), jti.end(), '-'), jti.end());
  auto narrowed = NarrowScopes(result->scopes, scopes);
  if (!narrowed.ok()) return narrowed.status();
  auto access = MintAccessToken(result->org_id, result->account_id, result->account_id, *narrowed,
                                result->audience, result->child_created_at, jti, result->family_id);
  if (!access.ok()) return access.status();
  IssuedTokens out;
  out.grant = IssueGrant::kRefresh;
  out.access_token = *std::move(access);
  out.expires_in = std::max<int64_t>(
      0, absl::ToInt64Seconds(result->child_created_at + options_.access_token_ttl - now));
  out.refresh_token = std::move(child);
  out.scopes = *std::move(narrowed);
  out.org = std::move(result->org);
  out.account = std::move(result->account);
  return out;
}

absl::StatusOr<IssuedTokens> SessionLogic::LoginWithApiKey(const KeyLogin& login, ApiKeyKind kind,
                                                           const CallContext& call) {
  const char* field = kind == ApiKeyKind::kServiceToken ? "service_token" : "api_key";
  if (login.key.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ".key: required"));
  if (login.key.size() > 128 || login.secret.size() > 128) return Unauthenticated();
  if (auto s = CheckText("audience", login.audience, 256, /*required=*/false); !s.ok()) return s;
  if (auto s = ParseScopes("scopes", login.scopes); !s.ok()) return s.status();
  auto active = checks_.ApiKey(login.key, login.secret, call, /*peer_presents=*/true, nullptr);
  if (!active.ok()) return active.status();
  if (!active->has_value() || (*active)->key->kind != kind) return Unauthenticated();
  CredentialCheck::ActiveCredential& c = **active;
  auto scopes = NarrowScopes(c.effective, login.scopes);
  if (!scopes.ok()) return scopes.status();
  absl::Time now = clock_.Now();
  auto access = MintAccessToken(c.key->org_id, c.key->account_id, c.key->id, *scopes,
                                login.audience, now, NewJti(), /*sid=*/"");
  if (!access.ok()) return access.status();
  IssuedTokens out;
  out.grant = kind == ApiKeyKind::kServiceToken ? IssueGrant::kServiceToken : IssueGrant::kApiKey;
  out.access_token = *std::move(access);
  // The token does not outlive the key it was minted from.
  absl::Time exp = std::min(now + options_.access_token_ttl, c.key->expires_at);
  out.expires_in = std::max<int64_t>(0, absl::ToInt64Seconds(exp - now));
  out.scopes = *std::move(scopes);
  out.org = c.account->org;
  out.account = c.account->account;
  return out;
}

}  // namespace tessera
