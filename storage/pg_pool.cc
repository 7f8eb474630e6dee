#include "storage/pg_pool.h"

#include <pqxx/pqxx>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

constexpr int kMaxAttempts = 4;

// Maps the exception in flight to a status. Must be called from inside a catch block.
absl::Status CurrentExceptionToStatus() {
  try {
    throw;
  } catch (const pqxx::unique_violation& e) {
    return absl::AlreadyExistsError(e.what());
  } catch (const pqxx::foreign_key_violation& e) {
    return absl::NotFoundError(e.what());
  } catch (const pqxx::check_violation& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const pqxx::data_exception& e) {
    return absl::InvalidArgumentError(e.what());
  } catch (const pqxx::serialization_failure& e) {
    return absl::AbortedError(e.what());
  } catch (const pqxx::deadlock_detected& e) {
    return absl::AbortedError(e.what());
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("database unavailable: ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat("commit outcome unknown: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    return absl::InternalError(absl::StrCat("database error: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("database client error: ", e.what()));
  }
}

}  // namespace

PgPool::PgPool(PgPoolOptions options) : options_(std::move(options)) {}

PgPool::~PgPool() = default;

int PgPool::idle_connections() const {
  MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

int PgPool::open_connections() const {
  MutexLock lock(&mu_);
  return open_;
}

void PgPool::ConnDeleter::operator()(pqxx::connection_base* c) const {
  delete static_cast<pqxx::connection*>(c);
}

absl::Status PgPool::Acquire(Conn* out) {
  {
    MutexLock lock(&mu_);
    auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    if (!mu_.AwaitWithTimeout(available, options_.acquire_timeout)) {
      return absl::UnavailableError("database connection pool exhausted");
    }
    if (!idle_.empty()) {
      *out = std::move(idle_.back());
      idle_.pop_back();
      return absl::OkStatus();
    }
    ++open_;  // reserve the slot, connect outside the lock
  }
  try {
    *out = Conn(new pqxx::connection(options_.url));
    return absl::OkStatus();
  } catch (...) {
    MutexLock lock(&mu_);
    --open_;
    absl::Status s = CurrentExceptionToStatus();
    return absl::UnavailableError(absl::StrCat("cannot connect to the database: ", s.message()));
  }
}

void PgPool::Release(Conn conn, bool reusable) {
  MutexLock lock(&mu_);
  if (reusable && conn && conn->is_open()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

absl::Status PgPool::Transact(absl::FunctionRef<absl::Status(pqxx::transaction_base&)> fn) {
  return Run(fn, /*count=*/true);
}

absl::Status PgPool::Run(absl::FunctionRef<absl::Status(pqxx::transaction_base&)> fn, bool count) {
  absl::Status status;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Conn conn;
    status = Acquire(&conn);
    if (!status.ok()) return status;
    if (count) transactions_.fetch_add(1, std::memory_order_relaxed);
    bool reusable = true;
    try {
      pqxx::work tx(*conn);
      status = fn(tx);
      if (status.ok()) tx.commit();
    } catch (...) {
      status = CurrentExceptionToStatus();
      reusable = !absl::IsUnavailable(status);
    }
    Release(std::move(conn), reusable);
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

absl::Status PgPool::Ping() {
  // Not counted: the health loop's probe is not a query any request made.
  return Run(
      [](pqxx::transaction_base& tx) {
        tx.exec("SELECT 1");
        return absl::OkStatus();
      },
      /*count=*/false);
}

}  // namespace tessera
