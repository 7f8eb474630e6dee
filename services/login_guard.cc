#include "services/login_guard.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "services/auth_snapshot.h"

namespace tessera {
namespace {

constexpr char kRetryAfterPayload[] = "tessera/retry-after";

absl::Duration Lockout(int failures, const ThrottlePolicy& p) {
  int doublings = std::min(failures - p.max_failures, 40);
  absl::Duration d = p.base_lockout * std::ldexp(1.0, doublings);
  return std::min(d, p.max_lockout);
}

}  // namespace

absl::Status TooManyAttempts(absl::Duration retry_after) {
  int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(retry_after, absl::Seconds(1))));
  absl::Status s = absl::ResourceExhaustedError(
      absl::StrCat("too many failed attempts; retry after ", seconds, " s"));
  s.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
  return s;
}

std::optional<int64_t> RetryAfterSeconds(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds)) return std::nullopt;
  return seconds;
}

std::string PeerAddress(absl::string_view peer) {
  size_t colon = peer.rfind(':');
  // "ipv4:1.2.3.4:5" and "ipv6:[::1]:5" end in a port; "unix:/path" has none after its scheme.
  if (colon == absl::string_view::npos || colon <= peer.find(':')) return std::string(peer);
  return std::string(peer.substr(0, colon));
}

ThrottleVerdict CountFailure(ThrottleCounter& c, absl::Time now, const ThrottlePolicy& p) {
  if (c.locked_until > now) {
    return ThrottleVerdict{
        .allowed = false, .failures = c.failures, .locked_until = c.locked_until};
  }
  c.failures = c.last_failure <= now - p.window ? 1 : c.failures + 1;
  c.last_failure = now;
  c.locked_until =
      c.failures >= p.max_failures ? now + Lockout(c.failures, p) : absl::InfinitePast();
  return ThrottleVerdict{.allowed = true, .failures = c.failures, .locked_until = c.locked_until};
}

std::optional<absl::Time> PeerThrottle::LockedUntil(const std::string& address,
                                                    absl::Time now) const {
  MutexLock lock(&mu_);
  auto it = peers_.find(address);
  if (it == peers_.end() || it->second.locked_until <= now) return std::nullopt;
  return it->second.locked_until;
}

ThrottleVerdict PeerThrottle::CountFailure(const std::string& address, absl::Time now) {
  MutexLock lock(&mu_);
  auto it = peers_.find(address);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_) PruneLocked(now);
    // Still full of live counters: an address flood. Counting stops for new addresses (each
    // subject is still throttled in PostgreSQL) rather than memory growing without bound.
    if (peers_.size() >= max_peers_) return ThrottleVerdict{.allowed = true};
    it = peers_.emplace(address, ThrottleCounter{}).first;
  }
  return tessera::CountFailure(it->second, now, policy_);
}

void PeerThrottle::Prune(absl::Time now) {
  MutexLock lock(&mu_);
  PruneLocked(now);
}

void PeerThrottle::PruneLocked(absl::Time now) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    bool stale = it->second.last_failure <= now - policy_.window && it->second.locked_until <= now;
    if (stale) {
      peers_.erase(it++);
    } else {
      ++it;
    }
  }
}

size_t PeerThrottle::size() const {
  MutexLock lock(&mu_);
  return peers_.size();
}

LoginGuard::LoginGuard(const Clock& clock, GuardOptions options, ThrottleStore& store,
                       AuditStore& audit, AuthSnapshot* snapshot)
    : clock_(clock),
      options_(options),
      store_(store),
      audit_(audit),
      snapshot_(snapshot),
      peers_(options.peer) {}

std::string LoginGuard::SubjectForAccount(absl::string_view account_id) {
  return absl::StrCat("account:", account_id);
}

std::string LoginGuard::SubjectForUnknownLogin(absl::string_view name_digest) {
  return absl::StrCat("login:", name_digest);
}

absl::Status LoginGuard::CheckPeer(const CallContext& call, absl::Time now) const {
  if (call.peer.empty()) return absl::OkStatus();
  auto until = peers_.LockedUntil(PeerAddress(call.peer), now);
  if (until) return TooManyAttempts(*until - now);
  return absl::OkStatus();
}

std::optional<LoginGuard::PeerLock> LoginGuard::CountPeerFailure(const CallContext& call,
                                                                 absl::Time now) {
  if (call.peer.empty()) return std::nullopt;
  std::string address = PeerAddress(call.peer);
  ThrottleVerdict v = peers_.CountFailure(address, now);
  if (!v.allowed || v.locked_until <= now) return std::nullopt;
  return PeerLock{std::move(address), v};
}

absl::StatusOr<LoginGuard::Attempt> LoginGuard::BeginPassword(std::string subject,
                                                              std::string org_id,
                                                              const CallContext& call) {
  absl::Time now = clock_.Now();
  if (auto s = CheckPeer(call, now); !s.ok()) return s;
  auto verdict = store_.CountFailure(subject, now, options_.subject);
  if (!verdict.ok()) return verdict.status();
  if (!verdict->allowed) return TooManyAttempts(verdict->locked_until - now);
  Attempt a{.subject = std::move(subject), .org_id = std::move(org_id), .verdict = *verdict};
  absl::string_view id = absl::string_view(a.subject).substr(a.subject.find(':') + 1);
  if (absl::StartsWith(a.subject, "login:")) {
    a.target_type = "login_name";
    a.target_id = std::string(id.substr(0, 16));
  } else {
    a.target_type = "account";
    a.target_id = std::string(id);
  }
  return a;
}

void LoginGuard::Succeeded(const Attempt& attempt, const CallContext& call) {
  absl::Status s = store_.Clear(attempt.subject);
  if (!s.ok()) {
    // The login stands; the stale count only brings a later lockout closer.
    Log(LogLevel::kWarning, "throttle_clear_failed",
        {{"request_id", call.request_id}, {"error", std::string(s.message())}});
  }
}

void LoginGuard::Failed(const Attempt& attempt, const CallContext& call) {
  absl::Time now = clock_.Now();
  if (auto lock = CountPeerFailure(call, now)) {
    AuditLockout("", "peer", lock->address, lock->verdict, now, call);
  }
  // Begin already counted this failure; if that count engaged the lock, this is the lockout.
  if (attempt.verdict.locked_until > now) {
    AuditLockout(attempt.org_id, attempt.target_type, attempt.target_id, attempt.verdict, now,
                 call);
  }
}

void LoginGuard::Unchecked(const Attempt& attempt, const CallContext& call) {
  absl::Status s = store_.Uncount(attempt.subject, attempt.verdict, options_.subject);
  if (!s.ok()) {
    // The refusal stands; the stale count only brings a later lockout closer.
    Log(LogLevel::kWarning, "throttle_uncount_failed",
        {{"request_id", call.request_id}, {"error", std::string(s.message())}});
  }
}

absl::Status LoginGuard::CheckSecret(const ApiKeyCredential& key, const CallContext& call,
                                     bool peer_presents) const {
  absl::Time now = clock_.Now();
  if (key.secret_locked_until > now) return TooManyAttempts(key.secret_locked_until - now);
  return peer_presents ? CheckPeer(call, now) : absl::OkStatus();
}

void LoginGuard::SecretFailed(const ApiKeyCredential& key, const CallContext& call,
                              bool peer_presents) {
  absl::Time now = clock_.Now();
  std::optional<PeerLock> peer_lock;
  if (peer_presents) peer_lock = CountPeerFailure(call, now);
  // What the writes need of the call, without its credentials.
  CallContext written{.request_id = call.request_id, .peer = call.peer};
  auto write = [this, org_id = key.org_id, key_id = key.id, written = std::move(written), now,
                peer_lock = std::move(peer_lock)] {
    if (peer_lock) AuditLockout("", "peer", peer_lock->address, peer_lock->verdict, now, written);
    Committed committed;
    auto v = store_.CountSecretFailure(org_id, key_id, now, options_.subject, &committed);
    if (snapshot_ != nullptr) snapshot_->ApplyCommitted(committed);
    if (!v.ok()) {
      Log(LogLevel::kWarning, "throttle_count_failed",
          {{"request_id", written.request_id}, {"error", std::string(v.status().message())}});
      return;
    }
    if (v->allowed && v->locked_until > now) {
      AuditLockout(org_id, "api_key", key_id, *v, now, written);
    }
  };
  if (call.deferred_writes != nullptr) {
    call.deferred_writes->push_back(std::move(write));
  } else {
    write();
  }
}

absl::Status LoginGuard::Prune() {
  absl::Time now = clock_.Now();
  peers_.Prune(now);
  return store_.Prune(now - options_.subject.window).status();
}

void LoginGuard::AuditLockout(const std::string& org_id, absl::string_view target_type,
                              absl::string_view target_id, const ThrottleVerdict& verdict,
                              absl::Time now, const CallContext& call) {
  int64_t seconds = absl::ToInt64Seconds(absl::Ceil(verdict.locked_until - now, absl::Seconds(1)));
  nlohmann::json details = {{"failures", verdict.failures}, {"locked_seconds", seconds}};
  AuditEntry e{.org_id = org_id,
               .at = now,
               .actor_id = "anonymous",
               .action = "auth.lockout",
               .target_type = std::string(target_type),
               .target_id = std::string(target_id),
               .peer = call.peer,
               .request_id = call.request_id,
               .details_json = details.dump()};
  Log(LogLevel::kWarning, "auth_lockout",
      {{"request_id", call.request_id},
       {"target_type", std::string(target_type)},
       {"target_id", std::string(target_id)},
       {"locked_seconds", std::to_string(seconds)}});
  if (absl::Status s = audit_.Append(std::move(e)); !s.ok()) {
    Log(LogLevel::kError, "audit_write_failed",
        {{"request_id", call.request_id}, {"error", std::string(s.message())}});
  }
}

}  // namespace tessera
