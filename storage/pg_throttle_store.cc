// The PostgreSQL ThrottleStore: every count is one call of tessera_throttle_attempt (migration
// 0004), whose row lock makes concurrent failures on one subject count one after another.
#include <pqxx/pqxx>

#include "storage/pg_internal.h"
#include "storage/pg_stores.h"
#include "storage/throttle_store.h"

namespace tessera {
namespace pg_internal {
namespace {

ThrottleVerdict CountTx(Tx& tx, absl::string_view subject, absl::Time now,
                        const ThrottlePolicy& p) {
  auto r = tx.exec_params1(
      "SELECT allowed, failures, locked_until_us FROM tessera_throttle_attempt($1, $2, $3, $4,"
      " $5, $6)",
      std::string(subject), Us(now), p.max_failures, absl::ToInt64Microseconds(p.window),
      absl::ToInt64Microseconds(p.base_lockout), absl::ToInt64Microseconds(p.max_lockout));
  int64_t locked_until = r[2].as<int64_t>();
  return ThrottleVerdict{
      .allowed = r[0].as<bool>(),
      .failures = r[1].as<int>(),
      .locked_until = locked_until > 0 ? FromUs(locked_until) : absl::InfinitePast()};
}

class PgThrottleStore final : public ThrottleStore {
 public:
  PgThrottleStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<ThrottleVerdict> CountFailure(absl::string_view subject, absl::Time now,
                                               const ThrottlePolicy& policy) override {
    return pool_.TransactValue<ThrottleVerdict>([&](Tx& tx) -> absl::StatusOr<ThrottleVerdict> {
      return CountTx(tx, subject, now, policy);
    });
  }

  absl::Status Clear(absl::string_view subject) override {
    return pool_.Transact([&](Tx& tx) {
      tx.exec_params("DELETE FROM auth_throttle WHERE subject = $1", std::string(subject));
      return absl::OkStatus();
    });
  }

  absl::Status Uncount(absl::string_view subject, const ThrottleVerdict& counted,
                       const ThrottlePolicy& policy) override {
    // The lock this count engaged, if it engaged one (an allowed attempt found no lock before
    // it, so none is restored); while it holds, nothing else is counted that could replace it.
    int64_t engaged =
        counted.locked_until == absl::InfinitePast() ? 0 : absl::ToUnixMicros(counted.locked_until);
    return pool_.Transact([&](Tx& tx) {
      // One statement under the row's lock; the right-hand sides read the row as it was.
      tx.exec_params(
          "UPDATE auth_throttle SET failures = greatest(failures - 1, 0), locked_until_us = "
          "CASE WHEN failures - 1 < $2 OR ($3::bigint > 0 AND locked_until_us = $3::bigint) THEN 0 "
          "ELSE locked_until_us END WHERE subject = $1",
          std::string(subject), policy.max_failures, engaged);
      return absl::OkStatus();
    });
  }

  absl::StatusOr<ThrottleVerdict> CountSecretFailure(absl::string_view org_id,
                                                     absl::string_view key_id, absl::Time now,
                                                     const ThrottlePolicy& policy,
                                                     Committed* committed) override {
    return writer_.Value<ThrottleVerdict>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<ThrottleVerdict> {
          ThrottleVerdict v = CountTx(tx, SecretSubject(key_id), now, policy);
          // Only a new lock matters to the snapshots: they refuse the key's secrets until then.
          if (v.allowed && v.locked_until > now) {
            Notify(tx, changes,
                   Change{.kind = ChangeKind::kApiKey,
                          .org_id = std::string(org_id),
                          .id = std::string(key_id)});
          }
          return v;
        });
  }

  absl::StatusOr<int64_t> Prune(absl::Time before) override {
    return pool_.TransactValue<int64_t>([&](Tx& tx) -> absl::StatusOr<int64_t> {
      auto r = tx.exec_params(
          "DELETE FROM auth_throttle WHERE last_failure_us < $1 AND locked_until_us < $1",
          Us(before));
      return static_cast<int64_t>(r.affected_rows());
    });
  }

 private:
  PgPool& pool_;
  Writer writer_;
};

}  // namespace
}  // namespace pg_internal

std::unique_ptr<ThrottleStore> MakePgThrottleStore(PgPool& pool) {
  return std::make_unique<pg_internal::PgThrottleStore>(pool);
}

}  // namespace tessera
