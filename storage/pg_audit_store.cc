// PgAuditStore: appending audit rows outside another write, and listing them.
#include <algorithm>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/encoding.h"
#include "storage/pg_internal.h"
#include "storage/pg_stores.h"

namespace tessera {
namespace {

using namespace pg_internal;  // NOLINT: the shared helpers of the PostgreSQL stores

class PgAuditStore final : public AuditStore {
 public:
  explicit PgAuditStore(PgPool& pool) : pool_(pool) {}

  absl::Status Append(AuditEntry entry) override {
    return pool_.Transact([&](Tx& tx) {
      AppendAudit(tx, entry);
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::vector<AuditEvent>> List(absl::string_view org_id, int limit,
                                               int64_t before_id, absl::string_view action,
                                               absl::string_view actor_id) override {
    return pool_.TransactValue<std::vector<AuditEvent>>(
        [&](Tx& tx) -> absl::StatusOr<std::vector<AuditEvent>> {
          std::vector<AuditEvent> out;
          auto r = tx.exec_params(
              "SELECT id, coalesce(org_id::text, ''), tessera_us(occurred_at), actor_id, action,"
              " target_type, target_id, peer, request_id, details::text FROM audit_events"
              " WHERE org_id = $1 AND ($2 = 0 OR id < $2) AND ($4 = '' OR action = $4)"
              " AND ($5 = '' OR actor_id = $5) ORDER BY id DESC LIMIT $3",
              std::string(org_id), before_id, limit, std::string(action), std::string(actor_id));
          for (int i = 0; i < static_cast<int>(r.size()); ++i) {
            Columns c(r, i);
            AuditEvent e;
            e.id = c.Int();
            e.entry.org_id = c.Text();
            e.entry.at = c.Time();
            e.entry.actor_id = c.Text();
            e.entry.action = c.Text();
            e.entry.target_type = c.Text();
            e.entry.target_id = c.Text();
            e.entry.peer = c.Text();
            e.entry.request_id = c.Text();
            e.entry.details_json = c.Text();
            out.push_back(std::move(e));
          }
          return out;
        });
  }

 private:
  PgPool& pool_;
};

}  // namespace

std::unique_ptr<AuditStore> MakePgAuditStore(PgPool& pool) {
  return std::make_unique<PgAuditStore>(pool);
}

}  // namespace tessera
