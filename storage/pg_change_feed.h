// PgChangeFeed: this replica's ear on the change channel. One dedicated connection LISTENs on
// `tessera_changes` and hands each notification to a ChangeSink. Notifications sent while the
// connection is down are lost, so after every (re)connection — LISTEN first, then reload — the
// sink resynchronizes in full. Reconnects back off exponentially. A keep-alive query notices a
// connection that died silently.
#ifndef TESSERA_STORAGE_PG_CHANGE_FEED_H_
#define TESSERA_STORAGE_PG_CHANGE_FEED_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "core/sync.h"
#include "storage/change_feed.h"

namespace tessera {

// The listener's application_name in pg_stat_activity.
inline constexpr char kChangeFeedApplicationName[] = "tessera-change-feed";

struct ChangeFeedOptions {
  std::string url;
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  absl::Duration keepalive = absl::Seconds(1);
  // Told the propagation lag of each change received: from its writer sending it (just before
  // the commit) to this replica having applied it. Called on the feed's thread; may be empty.
  std::function<void(absl::Duration)> observe_lag;
};

class PgChangeFeed {
 public:
  // `sink` must outlive the feed.
  PgChangeFeed(ChangeFeedOptions options, ChangeSink& sink);
  ~PgChangeFeed();
  PgChangeFeed(const PgChangeFeed&) = delete;
  PgChangeFeed& operator=(const PgChangeFeed&) = delete;

  void Start();
  void Stop();

  // Listening, and the sink resynchronized since the connection was (re)established: the
  // snapshot follows every committed change.
  bool in_sync() const { return in_sync_.load(); }
  // Blocks until in_sync() or `timeout`; returns in_sync().
  bool WaitInSync(absl::Duration timeout) const;

  // Blocks until the feed has passed the marker change with this ID (see ChangeKind::kMarker),
  // or `timeout`; returns whether it has.
  bool WaitForMarker(const std::string& id, absl::Duration timeout) const;

  int64_t connections() const { return connections_.load(); }
  int64_t notifications() const { return notifications_.load(); }

 private:
  void Run();
  // Listens until the connection fails or Stop(); returns the failure's description.
  std::string ListenOnce();

  ChangeFeedOptions options_;
  ChangeSink& sink_;
  std::thread thread_;
  Notification stop_;
  std::atomic<bool> in_sync_{false};
  std::atomic<int64_t> connections_{0};
  std::atomic<int64_t> notifications_{0};
  mutable Mutex marker_mu_;
  std::string last_marker_ ABSL_GUARDED_BY(marker_mu_);
};

}  // namespace tessera

#endif  // TESSERA_STORAGE_PG_CHANGE_FEED_H_
