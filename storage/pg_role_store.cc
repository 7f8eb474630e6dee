// PgRoleStore: roles and their scopes.
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

class PgRoleStore final : public RoleStore {
 public:
  explicit PgRoleStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<Role> Create(absl::string_view org_id, absl::string_view name,
                              const ScopeSet& scopes, absl::Time now, AuditActor actor,
                              Committed* committed) override {
    return pool_.TransactValue<Role>([&](Tx& tx) -> absl::StatusOr<Role> {
      Role out;
      auto r = tx.exec_params(
          "INSERT INTO roles (org_id, name, scopes, created_at)"
          " VALUES ($1, $2, string_to_array($3, ' '), tessera_ts($4)) RETURNING id",
          std::string(org_id), std::string(name), JoinScopes(scopes), Us(now));
      out = Role{.id = r[0][0].as<std::string>(),
                 .org_id = std::string(org_id),
                 .name = std::string(name),
                 .scopes = scopes};
      AppendAudit(tx, actor,
                  {.action = "role.created",
                   .target_type = "role",
                   .target_id = out.id,
                   .details_json = Details({{"name", name}, {"scopes", scopes.ToVector()}})});
      return out;
    });
  }

  absl::StatusOr<std::vector<Role>> FindByNames(absl::string_view org_id,
                                                const std::vector<std::string>& names) override {
    return pool_.TransactValue<std::vector<Role>>([&](Tx& tx) -> absl::StatusOr<std::vector<Role>> {
      std::vector<Role> out;
      auto r = tx.exec_params(
          "SELECT id, name, array_to_string(scopes, ' ') FROM roles"
          " WHERE org_id = $1 AND name = ANY (string_to_array($2, ' ')) ORDER BY name",
          std::string(org_id), absl::StrJoin(names, " "));
      for (const auto& row : r) {
        out.push_back(Role{.id = row[0].as<std::string>(),
                           .org_id = std::string(org_id),
                           .name = row[1].as<std::string>(),
                           .scopes = SplitScopes(row[2].as<std::string>())});
      }
      return out;
    });
  }

 private:
  PgPool& pool_;
};

}  // namespace

std::unique_ptr<RoleStore> MakePgRoleStore(PgPool& pool) {
  return std::make_unique<PgRoleStore>(pool);
}

}  // namespace tessera
