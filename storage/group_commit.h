// GroupCommit: the durable writes of callers that arrive together, committed together — one
// transaction and one WAL flush per batch instead of one per caller — with each caller
// answered only after the batch that carried its write has committed. Private to the
// PostgreSQL stores (like pg_internal.h); the hot writes (refresh rotation, access-token
// revocation) go through one each.
//
// How batches form: a caller queues its item; while fewer than `writers` batches are in flight,
// a caller becomes a writer, takes up to `max_batch` queued items (its own among the first) and
// commits them. A caller that arrives alone is committed at once; under load, the calls that
// queued while the writers were busy make the next batch. With `max_delay` above zero a writer
// that finds fewer than `max_batch` items waits up to that long for more.
//
// An item the batch could not do without waiting for a lock another transaction holds (the
// batch says which) is committed alone afterwards, by its own caller: one locked row delays its
// own callers, never a batch.
//
// One item's failure fails that item only: a batch that fails (other than by losing the
// database, which every item of it reports) is split, and its items are committed one per
// transaction, so the item that failed it gets its own error and its neighbours commit.
//
//   GroupCommit<Revocation, bool> revocations(pool, options,
//       [](Tx& tx, absl::Span<const Revocation* const> items, bool alone,
//          GroupCommit<Revocation, bool>::Outcomes& out) {
//         ... one statement for all items; out.results[i], out.changes[i] ...
//         return absl::OkStatus();
//       });
//   absl::StatusOr<bool> revoked = revocations.Commit(std::move(r), committed);
#ifndef TESSERA_STORAGE_GROUP_COMMIT_H_
#define TESSERA_STORAGE_GROUP_COMMIT_H_

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "storage/change_feed.h"
#include "storage/pg_internal.h"
#include "storage/pg_pool.h"

namespace tessera {

template <typename Item, typename Result>
class GroupCommit {
 public:
  // What a batch produced, per item in the order given.
  struct Outcomes {
    std::vector<absl::StatusOr<Result>> results;
    std::vector<pg_internal::Changes> changes;
    // Items the batch could not do without waiting for a lock another transaction holds; each
    // is then committed alone, by its own caller, so that the wait holds up nobody else.
    std::vector<bool> alone;
  };
  // Runs every item of a batch inside `tx` (the vectors of `out` come sized to the batch). Not
  // OK, or an exception, rolls the batch back. `alone`: one item, run by its own caller, which
  // may wait for locks.
  using RunBatch = std::function<absl::Status(
      pqxx::transaction_base& tx, absl::Span<const Item* const> items, bool alone, Outcomes& out)>;

  GroupCommit(PgPool& pool, GroupCommitOptions options, RunBatch run)
      : pool_(pool), options_(Sane(options)), run_(std::move(run)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Commits `item` with whatever else is queued; returns once its batch committed (or failed).
  // Its changes go to `committed` (when given) only if it committed.
  absl::StatusOr<Result> Commit(Item item, Committed* committed) {
    Waiter self{.item = std::move(item)};
    {
      std::unique_lock<std::mutex> lock(mu_);
      queue_.push_back(&self);
      if (filling_ && static_cast<int>(queue_.size()) >= options_.max_batch) full_.notify_one();
      while (!self.done) {
        if (writing_ < options_.writers && !queue_.empty()) {
          Write(lock, self);
          continue;
        }
        self.wake.wait(lock);
      }
    }
    if (self.alone) RunInOneTransaction({&self}, /*alone=*/true);
    if (self.result.ok() && committed != nullptr) {
      for (Change& c : self.changes) committed->changes.push_back(std::move(c));
    }
    return std::move(self.result);
  }

 private:
  struct Waiter {
    Item item;
    bool done = false;     // guarded by mu_
    bool writing = false;  // guarded by mu_: a writer now (of a batch it may not be in)
    bool alone = false;    // its batch left it to be committed alone
    absl::StatusOr<Result> result = absl::UnknownError("not committed");
    pg_internal::Changes changes;
    // Each waiter is woken alone (its batch committed, or it is first in the queue when a
    // writer's place frees up): with 64 callers waiting, waking them all at every step was
    // most of the time the server spent in the kernel.
    std::condition_variable wake;
  };

  static GroupCommitOptions Sane(GroupCommitOptions o) {
    o.max_batch = std::max(1, o.max_batch);
    o.writers = std::max(1, o.writers);
    return o;
  }

  // Takes a batch off the queue and commits it, with mu_ released meanwhile.
  void Write(std::unique_lock<std::mutex>& lock, Waiter& self) {
    ++writing_;
    self.writing = true;
    if (options_.max_delay > absl::ZeroDuration() &&
        static_cast<int>(queue_.size()) < options_.max_batch) {
      // Woken early by the call that fills the batch (see Commit's notify below).
      filling_ = true;
      full_.wait_for(lock, absl::ToChronoMicroseconds(options_.max_delay),
                     [&] { return static_cast<int>(queue_.size()) >= options_.max_batch; });
      filling_ = false;
    }
    size_t n = std::min(queue_.size(), static_cast<size_t>(options_.max_batch));
    std::vector<Waiter*> batch(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    lock.unlock();
    try {
      Run(batch);
    } catch (...) {  // not a database error (those are statuses): memory, say
      for (Waiter* w : batch) w->result = absl::InternalError("group commit failed");
    }
    lock.lock();
    --writing_;
    self.writing = false;
    for (Waiter* w : batch) {
      w->done = true;
      w->wake.notify_one();
    }
    // Writers' places are free: the first callers still queued that are not writing take them.
    int free = options_.writers - writing_;
    for (Waiter* w : queue_) {
      if (free <= 0) break;
      if (w->writing) continue;
      w->wake.notify_one();
      --free;
    }
  }

  void Run(const std::vector<Waiter*>& batch) {
    if (batch.empty()) return;
    absl::Status s = RunInOneTransaction(batch, /*alone=*/false);
    if (s.ok()) return;
    if (batch.size() == 1 || absl::IsUnavailable(s)) {
      for (Waiter* w : batch) w->result = s;
      return;
    }
    absl::Status lost;  // once the database is gone, the rest of the batch is not tried
    for (Waiter* w : batch) {
      absl::Status one = lost.ok() ? RunInOneTransaction({w}, /*alone=*/false) : lost;
      if (one.ok()) continue;
      w->result = one;
      if (absl::IsUnavailable(one)) lost = one;
    }
  }

  // Commits `batch` as one transaction; on success each waiter holds its result and changes (or
  // is marked to be committed alone).
  absl::Status RunInOneTransaction(const std::vector<Waiter*>& batch, bool alone) {
    std::vector<const Item*> items;
    items.reserve(batch.size());
    for (const Waiter* w : batch) items.push_back(&w->item);
    Outcomes out;
    absl::Status s = pool_.Transact([&](pqxx::transaction_base& tx) {
      // A retried transaction starts over.
      out.results.assign(batch.size(), absl::UnknownError("no result for the item"));
      out.changes.assign(batch.size(), {});
      out.alone.assign(batch.size(), false);
      return run_(tx, absl::MakeConstSpan(items), alone, out);
    });
    if (!s.ok()) {
      if (alone) batch[0]->result = s;
      return s;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = std::move(out.results[i]);
      batch[i]->changes = std::move(out.changes[i]);
      batch[i]->alone = !alone && out.alone[i];
    }
    return absl::OkStatus();
  }

  PgPool& pool_;
  const GroupCommitOptions options_;
  const RunBatch run_;
  std::mutex mu_;
  std::deque<Waiter*> queue_;  // guarded by mu_, as are the rest
  int writing_ = 0;
  bool filling_ = false;  // a writer waits for a fuller batch on full_
  std::condition_variable full_;
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_GROUP_COMMIT_H_
