#include "core/key_ring.h"

#include <algorithm>

#include "absl/status/status.h"

namespace tessera {

void KeyRing::Replace(std::vector<KeyRingEntry> entries) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.activates_at > b.activates_at; });
  MutexLock lock(&mu_);
  entries_ = std::move(entries);
}

absl::StatusOr<std::shared_ptr<const SigningKey>> KeyRing::SigningKeyAt(absl::Time now) const {
  ReaderMutexLock lock(&mu_);
  for (const auto& e : entries_) {
    if (e.key->can_sign() && e.activates_at <= now && now < e.retired_at) return e.key;
  }
  return absl::UnavailableError("no active signing key");
}

std::optional<absl::Time> KeyRing::SigningSince(absl::Time now) const {
  ReaderMutexLock lock(&mu_);
  for (const auto& e : entries_) {
    if (e.key->can_sign() && e.activates_at <= now && now < e.retired_at) return e.activates_at;
  }
  return std::nullopt;
}

std::shared_ptr<const SigningKey> KeyRing::FindVerificationKey(absl::string_view kid,
                                                               absl::Time now) const {
  ReaderMutexLock lock(&mu_);
  for (const auto& e : entries_) {
    if (e.key->kid() == kid) return now < e.verify_until ? e.key : nullptr;
  }
  return nullptr;
}

std::vector<std::shared_ptr<const SigningKey>> KeyRing::Published(absl::Time now) const {
  ReaderMutexLock lock(&mu_);
  std::vector<std::shared_ptr<const SigningKey>> out;
  for (const auto& e : entries_) {
    if (now < e.verify_until) out.push_back(e.key);
  }
  return out;
}

}  // namespace tessera
