#include "storage/pg_change_feed.h"

#include <pqxx/pqxx>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/log.h"

namespace tessera {
namespace {

// Collects payloads; the feed handles them outside libpqxx's callback, which swallows errors.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::vector<std::string>& out)
      : pqxx::notification_receiver(conn, kChangeChannel), out_(out) {}
  void operator()(const std::string& payload, int) override { out_.push_back(payload); }

 private:
  std::vector<std::string>& out_;
};

// How long Stop() may wait for the listening thread to notice.
constexpr long kPollMicros = 200 * 1000;

}  // namespace

PgChangeFeed::PgChangeFeed(ChangeFeedOptions options, ChangeSink& sink)
    : options_(std::move(options)), sink_(sink) {}

PgChangeFeed::~PgChangeFeed() { Stop(); }

void PgChangeFeed::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void PgChangeFeed::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  in_sync_ = false;
}

bool PgChangeFeed::WaitInSync(absl::Duration timeout) const {
  absl::Time give_up = absl::Now() + timeout;
  while (!in_sync_.load() && absl::Now() < give_up && !stop_.HasBeenNotified()) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return in_sync_.load();
}

bool PgChangeFeed::WaitForMarker(const std::string& id, absl::Duration timeout) const {
  MutexLock lock(&marker_mu_);
  return marker_mu_.AwaitWithTimeout(
      [&]() ABSL_SHARED_LOCKS_REQUIRED(marker_mu_) { return last_marker_ == id; }, timeout);
}

void PgChangeFeed::Run() {
  absl::Duration backoff = options_.min_backoff;
  while (!stop_.HasBeenNotified()) {
    absl::Time started = absl::Now();
    std::string why = ListenOnce();
    in_sync_ = false;
    if (stop_.HasBeenNotified()) break;
    // A connection that lived a while was healthy: start the backoff over.
    if (absl::Now() - started > absl::Seconds(10)) backoff = options_.min_backoff;
    Log(LogLevel::kWarning, "change_feed_disconnected",
        {{"error", why}, {"retry_in_ms", std::to_string(absl::ToInt64Milliseconds(backoff))}});
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

std::string PgChangeFeed::ListenOnce() {
  try {
    pqxx::connection conn(options_.url);
    {
      // Named, so that operators (and tests) can find the listener in pg_stat_activity.
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SET application_name = ", tx.quote(kChangeFeedApplicationName)));
    }
    std::vector<std::string> pending;
    Receiver receiver(conn, pending);  // LISTEN, before the reload, so nothing falls between
    // libpqxx may silently reconnect a broken connection; a new backend PID gives that away.
    const int backend = conn.backendpid();
    connections_.fetch_add(1);
    if (absl::Status s = sink_.Resync(); !s.ok()) {
      return absl::StrCat("resync: ", s.message());
    }
    in_sync_ = true;
    if (connections_.load() > 1) Log(LogLevel::kInfo, "change_feed_resynced");
    absl::Time last_check = absl::Now();
    while (!stop_.HasBeenNotified()) {
      conn.await_notification(0, kPollMicros);
      for (const std::string& payload : pending) {
        notifications_.fetch_add(1);
        auto change = DecodeChange(payload);
        if (!change.ok()) {
          // Not ours or from a newer version: the only safe answer is to reload everything.
          Log(LogLevel::kWarning, "change_feed_bad_payload",
              {{"error", std::string(change.status().message())}});
          if (absl::Status s = sink_.Resync(); !s.ok()) {
            return absl::StrCat("resync: ", s.message());
          }
          continue;
        }
        if (change->kind == ChangeKind::kMarker) {
          MutexLock lock(&marker_mu_);
          last_marker_ = change->id;
          continue;
        }
        if (absl::Status s = sink_.Apply(*change); !s.ok()) {
          return absl::StrCat("apply: ", s.message());
        }
        if (options_.observe_lag) options_.observe_lag(absl::Now() - change->sent_at);
      }
      pending.clear();
      if (absl::Now() - last_check >= options_.keepalive) {
        pqxx::nontransaction tx(conn);
        tx.exec("SELECT 1");
        tx.commit();
        if (conn.backendpid() != backend) return "connection was replaced";
        last_check = absl::Now();
      }
    }
    return "stopped";
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace tessera
