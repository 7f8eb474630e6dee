#include "server/bootstrap.h"

#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "core/encoding.h"
#include "core/password_hasher.h"
#include "services/validation.h"
#include "storage/migrator.h"
#include "storage/pg_pool.h"
#include "storage/pg_stores.h"

namespace tessera {

absl::StatusOr<BootstrapResult> RunBootstrap(const Config& config, const Clock& clock,
                                             const std::string& org_slug,
                                             const std::string& org_name,
                                             const std::string& admin_username) {
  if (auto s = CheckSlug("--org", org_slug); !s.ok()) return s;
  auto admin = CheckName("--admin", admin_username, 256);
  if (!admin.ok()) return admin.status();
  if (auto s = CheckText("--org_name", org_name, 200); !s.ok()) return s;
  auto migrated = MigrateDatabase(config.database_url);
  if (!migrated.ok()) return migrated.status();

  PgPool pool(PgPoolOptions{.url = config.database_url, .max_connections = 1});
  Stores stores = MakePgStores(pool);
  std::string password = NewGeneratedPassword();
  PasswordHasher hasher(config.argon2);
  auto hash = hasher.Hash(password);
  if (!hash.ok()) return hash.status();
  NewOrganizationWithAdmin req{.slug = org_slug,
                               .name = org_name,
                               .platform = true,
                               .admin_username = *admin,
                               .admin_password_hash = *std::move(hash),
                               .now = clock.Now()};
  AuditActor actor{.org_id = "",
                   .at = clock.Now(),
                   .actor_id = "bootstrap",
                   .peer = "local",
                   .request_id = absl::StrCat("bootstrap-", RandomHex(8))};
  auto created = stores.orgs->Bootstrap(req, actor, /*committed=*/nullptr);  // no snapshot here
  if (!created.ok()) return created.status();

  BootstrapResult out;
  out.created = created->created;
  out.org_id = created->org.id;
  out.org_slug = created->org.slug;
  out.username = *admin;
  if (created->admin) out.account_id = created->admin->id;
  if (created->created) out.password = std::move(password);
  return out;
}

}  // namespace tessera
