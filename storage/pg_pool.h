// PgPool: a bounded pool of PostgreSQL connections and the one place where libpqxx errors become
// absl::Status (unique_violation → ALREADY_EXISTS, foreign-key violation → NOT_FOUND, bad input
// → INVALID_ARGUMENT, serialization failure/deadlock → retried, then ABORTED, lost connection →
// UNAVAILABLE, anything else → INTERNAL). pqxx is only forward-declared here; its headers stay
// inside storage/*.cc.
#ifndef TESSERA_STORAGE_PG_POOL_H_
#define TESSERA_STORAGE_PG_POOL_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/sync.h"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace tessera {

struct PgPoolOptions {
  std::string url;
  int max_connections = 8;
  absl::Duration acquire_timeout = absl::Seconds(5);
};

// How the stores group-commit their hot writes (storage/group_commit.h).
struct GroupCommitOptions {
  int max_batch = 32;  // items per transaction at most
  // How long a writer with fewer than max_batch items waits for more; zero: it never waits,
  // and batches form from the calls that queued while the writers were busy.
  absl::Duration max_delay = absl::ZeroDuration();
  int writers = 2;  // batches of one kind in flight at once, each on its own connection
};

class PgPool {
 public:
  explicit PgPool(PgPoolOptions options);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Runs `fn` in a READ COMMITTED transaction and commits if it returns OK; a non-OK status
  // rolls back and is returned as is. Serialization failures and deadlocks are retried.
  absl::Status Transact(absl::FunctionRef<absl::Status(pqxx::transaction_base&)> fn);

  // Transact for a body that produces a value: commits when it is OK, rolls back otherwise.
  template <typename T>
  absl::StatusOr<T> TransactValue(
      absl::FunctionRef<absl::StatusOr<T>(pqxx::transaction_base&)> fn) {
    absl::StatusOr<T> out = absl::UnknownError("transaction body did not run");
    absl::Status s = Transact([&](pqxx::transaction_base& tx) {
      out = fn(tx);
      return out.status();
    });
    if (!s.ok()) return s;
    return out;
  }

  // A round trip to the server: OK, or UNAVAILABLE.
  absl::Status Ping();

  // Transactions begun so far for callers (not health pings); lets tests prove a path makes no
  // database round trip.
  int64_t transactions_started() const { return transactions_.load(std::memory_order_relaxed); }
  int idle_connections() const;
  int open_connections() const;

 private:
  // pqxx 6's connection_base has no virtual destructor: a connection must be deleted as the
  // pqxx::connection it was made as (AddressSanitizer caught the mismatch).
  struct ConnDeleter {
    void operator()(pqxx::connection_base* c) const;
  };
  using Conn = std::unique_ptr<pqxx::connection_base, ConnDeleter>;
  absl::Status Acquire(Conn* out);
  absl::Status Run(absl::FunctionRef<absl::Status(pqxx::transaction_base&)> fn, bool count);
  void Release(Conn conn, bool reusable);

  PgPoolOptions options_;
  mutable Mutex mu_;
  std::vector<Conn> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> transactions_{0};
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_PG_POOL_H_
