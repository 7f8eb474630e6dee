// Fuzzes caller authentication as production runs it: CredentialCheck::AuthenticateCaller on a
// real AuthSnapshot holding one organization with a user token and a service token, behind a real
// LoginGuard, fed "<authorization value>\n<x-api-secret value>" as a call's context. The snapshot
// and the throttle read from small in-memory stores (the harness has no database; what they hand
// over is what PostgreSQL would). Oracle: nothing but the two keys (the service token with its
// secret) may authenticate, a JWT never (none was signed), and an accepted caller is that key's
// account, in its organization, with no more than its scopes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/credentials.h"
#include "core/secret_digest.h"
#include "fuzz/fuzz_common.h"
#include "services/credential_check.h"
#include "storage/audit_store.h"
#include "storage/throttle_store.h"

namespace {

using namespace tessera;  // NOLINT: a fuzz harness

constexpr char kOrg[] = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr char kAccount[] = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string kUserKey = "tsr_" + std::string(64, 'a');
const std::string kServiceKey = "tss_" + std::string(64, 'b');
const std::string kSecret(64, 'c');

const SecretDigester& Digester() {
  static const SecretDigester* d = new SecretDigester(std::string(32, 'p'));
  return *d;
}

// What PostgreSQL would hand the snapshot: one enabled account holding read:x, its user token,
// and its service token (scope read:x, with a secret).
class MemorySnapshotStore final : public SnapshotStore {
 public:
  absl::StatusOr<SnapshotData> LoadAll(absl::Time, absl::Duration) override {
    SnapshotData d;
    AccountPermissions a;
    a.org_id = kOrg;
    a.account_id = kAccount;
    a.username = "fuzz";
    a.disabled = false;
    a.scopes = ScopeSet({"read:x"});
    a.account.id = kAccount;
    a.account.org_id = kOrg;
    a.org.id = kOrg;
    d.accounts.push_back(a);
    ApiKeyCredential user{.id = "k-user",
                          .org_id = kOrg,
                          .account_id = kAccount,
                          .kind = ApiKeyKind::kUserToken,
                          .digest = Digester().Digest(kUserKey)};
    ApiKeyCredential service{.id = "k-service",
                             .org_id = kOrg,
                             .account_id = kAccount,
                             .kind = ApiKeyKind::kServiceToken,
                             .digest = Digester().Digest(kServiceKey),
                             .scopes = ScopeSet({"read:x"}),
                             .secret_digest = Digester().Digest(kSecret)};
    d.api_keys = {user, service};
    return d;
  }
  absl::StatusOr<std::optional<AccountPermissions>> LoadAccount(absl::string_view,
                                                                absl::string_view) override {
    return std::nullopt;
  }
  absl::StatusOr<std::optional<ApiKeyCredential>> LoadApiKey(absl::string_view, absl::string_view,
                                                             absl::Time) override {
    return std::nullopt;
  }
};

// Counts failures but never locks, so every input reaches the secret comparison.
class MemoryThrottleStore final : public ThrottleStore {
 public:
  absl::StatusOr<ThrottleVerdict> CountFailure(absl::string_view, absl::Time,
                                               const ThrottlePolicy&) override {
    return ThrottleVerdict{.allowed = true, .failures = 1};
  }
  absl::Status Clear(absl::string_view) override { return absl::OkStatus(); }
  absl::Status Uncount(absl::string_view, const ThrottleVerdict&, const ThrottlePolicy&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<ThrottleVerdict> CountSecretFailure(absl::string_view, absl::string_view,
                                                     absl::Time, const ThrottlePolicy&,
                                                     Committed*) override {
    return ThrottleVerdict{.allowed = true, .failures = 1};
  }
  absl::StatusOr<int64_t> Prune(absl::Time) override { return 0; }
};

class MemoryAuditStore final : public AuditStore {
 public:
  absl::Status Append(AuditEntry) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<AuditEvent>> List(absl::string_view, int, int64_t, absl::string_view,
                                               absl::string_view) override {
    return std::vector<AuditEvent>{};
  }
};

struct Harness {
  FakeClock clock{absl::FromUnixSeconds(fuzz::kNow)};
  MemorySnapshotStore snapshot_store;
  MemoryThrottleStore throttle;
  MemoryAuditStore audit;
  AuthSnapshot snapshot{clock, snapshot_store, SnapshotOptions{}, nullptr};
  KeyUsage usage;
  LoginGuard guard{clock, GuardOptions{.peer = {.max_failures = 1 << 30}}, throttle, audit};
  CredentialCheck checks{clock, fuzz::Ring(), fuzz::Options(), Digester(), snapshot, usage, guard};
  Harness() {
    if (!snapshot.Resync().ok()) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness();
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  size_t newline = in.find('\n');
  absl::string_view authorization = in.substr(0, newline);
  absl::string_view secret =
      newline == absl::string_view::npos ? absl::string_view() : in.substr(newline + 1);
  CallContext call{.request_id = "fuzz",
                   .peer = "ipv4:127.0.0.1:1",
                   .authorization = std::string(authorization),
                   .api_secret = std::string(secret)};
  auto caller = h->checks.AuthenticateCaller(call);
  if (!caller.ok()) return 0;
  auto credential = BearerCredential(authorization);
  if (!credential.ok()) __builtin_trap();  // authenticated by a header that is no bearer one
  const bool user = *credential == kUserKey && secret.empty();
  const bool service = *credential == kServiceKey && secret == kSecret;
  if (!user && !service) __builtin_trap();  // authenticated by something that is no key of ours
  if (caller->org_id != kOrg || caller->account_id != kAccount) __builtin_trap();
  if (caller->client_id != (user ? "k-user" : "k-service")) __builtin_trap();
  for (const std::string& s : caller->scopes.items()) {
    if (s != "read:x") __builtin_trap();  // more than the account holds
  }
  return 0;
}
