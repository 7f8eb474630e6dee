// PgOrganizationStore: organizations, and bootstrapping the first one (once, under kBootstrapLock).
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

class PgOrganizationStore final : public OrganizationStore {
 public:
  PgOrganizationStore(PgPool& pool) : pool_(pool), writer_(pool) {}

  absl::StatusOr<CreatedOrganization> Create(const NewOrganizationWithAdmin& req, AuditActor actor,
                                             Committed* committed) override {
    return writer_.Value<CreatedOrganization>(
        committed, [&](Tx& tx, Changes& changes) { return CreateTx(tx, changes, req, actor); });
  }

  absl::StatusOr<CreatedOrganization> Bootstrap(const NewOrganizationWithAdmin& req,
                                                AuditActor actor, Committed* committed) override {
    return writer_.Value<CreatedOrganization>(
        committed, [&](Tx& tx, Changes& changes) -> absl::StatusOr<CreatedOrganization> {
          CreatedOrganization out;
          // Serializes concurrent bootstraps (two Job pods, a Job and a developer).
          AdvisoryXactLock(tx, kBootstrapLock);
          auto existing = tx.exec_params(
              absl::StrCat("SELECT ", kOrgColumns, " FROM organizations o WHERE o.slug = $1"),
              req.slug);
          if (!existing.empty()) {
            Columns c(existing);
            out.org = ReadOrg(c);
            out.created = false;
            return out;
          }
          return CreateTx(tx, changes, req, actor);
        });
  }

  absl::StatusOr<Organization> Get(absl::string_view org_id) override {
    return pool_.TransactValue<Organization>([&](Tx& tx) -> absl::StatusOr<Organization> {
      Organization out;
      auto r = tx.exec_params(
          absl::StrCat("SELECT ", kOrgColumns, " FROM organizations o WHERE o.id = $1"),
          std::string(org_id));
      if (r.empty()) return absl::NotFoundError("organization not found");
      Columns c(r);
      out = ReadOrg(c);
      return out;
    });
  }

 private:
  static absl::StatusOr<CreatedOrganization> CreateTx(Tx& tx, Changes& changes,
                                                      const NewOrganizationWithAdmin& req,
                                                      AuditActor actor) {
    CreatedOrganization out;
    auto r = tx.exec_params(
        "INSERT INTO organizations AS o (slug, name, platform, created_at)"
        " VALUES ($1, $2, $3, tessera_ts($4)) RETURNING id, slug, name, platform,"
        " tessera_us(created_at)",
        req.slug, req.name, req.platform, Us(req.now));
    Columns c(r);
    out.org = ReadOrg(c);
    // By a platform admin, the row is its organization's; by `tessera bootstrap`, the new one's.
    AppendAudit(tx, actor,
                {.action = "organization.created",
                 .target_type = "organization",
                 .target_id = out.org.id,
                 .details_json = Details({{"slug", req.slug}}),
                 .org_id = actor.org_id.empty() ? absl::string_view(out.org.id) : ""});
    if (!req.admin_username.empty()) {
      tx.exec_params(
          "INSERT INTO roles (org_id, name, scopes, created_at)"
          " VALUES ($1, 'admin', ARRAY['admin'], tessera_ts($2))",
          out.org.id, Us(req.now));
      NewAccount admin{.org_id = out.org.id,
                       .kind = AccountKind::kService,
                       .username = req.admin_username,
                       .email = "",
                       .password_hash = req.admin_password_hash,
                       .roles = {"admin"},
                       .now = req.now};
      auto account = InsertAccountTx(tx, changes, admin);
      if (!account.ok()) return account.status();
      out.admin = *std::move(account);
      AppendAudit(
          tx, actor,
          {.action = "account.created",
           .target_type = "account",
           .target_id = out.admin->id,
           .details_json = Details(
               {{"kind", "SERVICE"}, {"username", req.admin_username}, {"roles", {"admin"}}}),
           .org_id = out.org.id});
    }
    return out;
  }

  PgPool& pool_;
  Writer writer_;
};

}  // namespace

std::unique_ptr<OrganizationStore> MakePgOrganizationStore(PgPool& pool) {
  return std::make_unique<PgOrganizationStore>(pool);
}

}  // namespace tessera
