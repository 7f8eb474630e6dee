#include "services/admin_logic.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "services/validation.h"

namespace tessera {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

}  // namespace

AdminLogic::AdminLogic(const Clock& clock, const PasswordHasher& hasher,
                       BoundedWorkerPool& password_pool, OrganizationStore& orgs,
                       AccountStore& accounts, RoleStore& roles, AuditStore& audit,
                       AuthSnapshot& snapshot)
    : clock_(clock),
      hasher_(hasher),
      password_pool_(password_pool),
      orgs_(orgs),
      accounts_(accounts),
      roles_(roles),
      audit_(audit),
      snapshot_(snapshot) {}

AuditActor AdminLogic::Actor(const Principal& caller, const CallContext& call) const {
  return AuditBy(caller, call, clock_.Now());
}

absl::StatusOr<std::string> AdminLogic::HashOnPool(const std::string& password) {
  auto hashed =
      password_pool_.Run<absl::StatusOr<std::string>>([&] { return hasher_.Hash(password); });
  if (!hashed.ok()) return hashed.status();
  return *std::move(hashed);
}

absl::Status AdminLogic::RequireRolesHeld(const Principal& caller,
                                          const std::vector<std::string>& names,
                                          absl::string_view field) {
  auto found = roles_.FindByNames(caller.org_id, names);
  if (!found.ok()) return found.status();
  ScopeSet granted;
  for (const std::string& name : names) {
    auto it =
        std::find_if(found->begin(), found->end(), [&](const Role& r) { return r.name == name; });
    if (it == found->end()) {
      return absl::NotFoundError(absl::StrCat(field, ": no role \"", name, "\""));
    }
    granted.Merge(it->scopes);
  }
  return RequireHeld(caller, granted, field);
}

absl::StatusOr<AdminLogic::AuditPage> AdminLogic::ListAuditEvents(const Principal& caller,
                                                                  int page_size,
                                                                  const std::string& page_token,
                                                                  const std::string& action,
                                                                  const std::string& actor_id) {
  if (auto s = RequireScope(caller, kScopeAuditRead); !s.ok()) return s;
  if (page_size < 0) return absl::InvalidArgumentError("page_size: negative");
  if (page_size == 0) page_size = kDefaultPageSize;
  if (page_size > kMaxPageSize) page_size = kMaxPageSize;
  int64_t before = 0;
  if (!page_token.empty() && (!absl::SimpleAtoi(page_token, &before) || before <= 0)) {
    return absl::InvalidArgumentError("page_token: not a token from a previous page");
  }
  if (auto s = CheckText("action", action, 64, false); !s.ok()) return s;
  if (auto s = CheckText("actor_id", actor_id, 64, false); !s.ok()) return s;
  auto events = audit_.List(caller.org_id, page_size + 1, before, action, actor_id);
  if (!events.ok()) return events.status();
  AuditPage page;
  page.events = *std::move(events);
  if (static_cast<int>(page.events.size()) > page_size) {
    page.events.resize(page_size);
    page.next_page_token = std::to_string(page.events.back().id);
  }
  return page;
}

absl::StatusOr<Organization> AdminLogic::CallerOrganization(const Principal& caller) {
  return orgs_.Get(caller.org_id);
}

absl::StatusOr<CreatedOrg> AdminLogic::CreateOrganization(const Principal& caller,
                                                          const CallContext& call,
                                                          const std::string& slug,
                                                          const std::string& name,
                                                          const std::string& admin_username) {
  if (!IsPlatformAdmin(caller)) {
    return absl::PermissionDeniedError("only platform admins may create organizations");
  }
  if (auto s = CheckSlug("slug", slug); !s.ok()) return s;
  if (auto s = CheckText("name", name, 200); !s.ok()) return s;
  auto admin_name = CheckName("admin_username", admin_username, 256, false);
  if (!admin_name.ok()) return admin_name.status();
  CreatedOrg out;
  NewOrganizationWithAdmin req{.slug = slug, .name = name, .platform = false, .now = clock_.Now()};
  if (!admin_name->empty()) {
    out.admin_password = NewGeneratedPassword();
    auto hash = HashOnPool(out.admin_password);
    if (!hash.ok()) return hash.status();
    req.admin_username = *admin_name;
    req.admin_password_hash = *std::move(hash);
  }
  auto created = snapshot_.AfterCommit(
      [&](Committed* c) { return orgs_.Create(req, Actor(caller, call), c); });
  if (absl::IsAlreadyExists(created.status())) {
    return absl::AlreadyExistsError(absl::StrCat("slug: organization \"", slug, "\" exists"));
  }
  if (!created.ok()) return created.status();
  out.org = created->org;
  out.admin = created->admin;
  if (!out.admin) out.admin_password.clear();
  return out;
}

absl::StatusOr<CreatedAccount> AdminLogic::CreateAccount(const Principal& caller,
                                                         const CallContext& call,
                                                         const CreateAccountInput& in) {
  if (auto s = RequireScope(caller, kScopeAccountsWrite); !s.ok()) return s;
  auto username = CheckName("username", in.username, 256);
  if (!username.ok()) return username.status();
  auto email = CheckName("email", in.email, 320, false);
  if (!email.ok()) return email.status();
  if (!in.email.empty() && (!absl::StrContains(in.email, "@") || absl::StrContains(in.email, " ")))
    return absl::InvalidArgumentError("email: not an email address");
  if (in.roles.size() > 50) return absl::InvalidArgumentError("roles: more than 50 roles");
  for (const auto& r : in.roles) {
    if (auto s = CheckRoleName("roles", r); !s.ok()) return s;
  }
  // The new account may hold no more than its creator.
  if (!in.roles.empty()) {
    if (auto s = RequireRolesHeld(caller, in.roles, "roles"); !s.ok()) return s;
  }
  CreatedAccount out;
  std::string password;
  switch (in.kind) {
    case AccountKind::kUser:
      if (in.password.empty()) return absl::InvalidArgumentError("password: required for USER");
      if (in.password.size() < 8) {
        return absl::InvalidArgumentError("password: shorter than 8 characters");
      }
      if (in.password.size() > kMaxPasswordLength) {
        return absl::InvalidArgumentError("password: longer than 1024 bytes");
      }
      password = in.password;
      break;
    case AccountKind::kService:
      if (!in.password.empty()) {
        return absl::InvalidArgumentError(
            "password: SERVICE accounts get a generated password; leave it empty");
      }
      if (in.roles.empty()) {
        return absl::InvalidArgumentError("roles: a SERVICE account is created with a role");
      }
      out.generated_password = NewGeneratedPassword();
      password = out.generated_password;
      break;
  }
  auto hash = HashOnPool(password);
  if (!hash.ok()) return hash.status();
  NewAccount row{.org_id = caller.org_id,
                 .kind = in.kind,
                 .username = *username,
                 .email = *email,
                 .password_hash = *std::move(hash),
                 .roles = in.roles,
                 .now = clock_.Now()};
  auto account = snapshot_.AfterCommit(
      [&](Committed* c) { return accounts_.Create(row, Actor(caller, call), c); });
  // The login-name namespace says which of the two it was; the accounts table's own unique
  // constraints (the same username or email to the letter) say it in SQL, never sent.
  if (absl::IsAlreadyExists(account.status()) &&
      !absl::StartsWith(account.status().message(), "username:") &&
      !absl::StartsWith(account.status().message(), "email:")) {
    return absl::AlreadyExistsError("username: already the username or email of another account");
  }
  if (!account.ok()) return account.status();
  out.account = *std::move(account);
  return out;
}

absl::StatusOr<Account> AdminLogic::GetAccount(const Principal& caller,
                                               const std::string& account_id) {
  if (auto s = RequireScope(caller, kScopeAccountsRead); !s.ok()) return s;
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  return accounts_.Get(caller.org_id, account_id);
}

absl::StatusOr<AccountPage> AdminLogic::ListAccounts(const Principal& caller, int page_size,
                                                     const std::string& page_token) {
  if (auto s = RequireScope(caller, kScopeAccountsRead); !s.ok()) return s;
  if (page_size < 0) return absl::InvalidArgumentError("page_size: negative");
  if (page_size == 0) page_size = kDefaultPageSize;
  if (page_size > kMaxPageSize) page_size = kMaxPageSize;
  if (!page_token.empty()) {
    if (auto s = CheckId("page_token", page_token); !s.ok()) return s;
  }
  return accounts_.List(caller.org_id, page_size, page_token);
}

absl::StatusOr<Account> AdminLogic::DisableAccount(const Principal& caller, const CallContext& call,
                                                   const std::string& account_id) {
  if (auto s = RequireScope(caller, kScopeAccountsWrite); !s.ok()) return s;
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  if (auto s = RequireAuthorityOver(snapshot_, caller, account_id, "account_id"); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return accounts_.Disable(caller.org_id, account_id, clock_.Now(), Actor(caller, call), c);
  });
}

absl::StatusOr<Role> AdminLogic::CreateRole(const Principal& caller, const CallContext& call,
                                            const std::string& name,
                                            const std::vector<std::string>& scopes) {
  if (auto s = RequireScope(caller, kScopeRolesWrite); !s.ok()) return s;
  if (auto s = CheckRoleName("name", name); !s.ok()) return s;
  auto parsed = ParseScopes("scopes", scopes);
  if (!parsed.ok()) return parsed.status();
  // A caller cannot mint a role that grants more than it holds itself.
  if (auto s = RequireHeld(caller, *parsed, "scopes"); !s.ok()) return s;
  auto role = snapshot_.AfterCommit([&](Committed* c) {
    return roles_.Create(caller.org_id, name, *parsed, clock_.Now(), Actor(caller, call), c);
  });
  if (absl::IsAlreadyExists(role.status())) {
    return absl::AlreadyExistsError(absl::StrCat("name: role \"", name, "\" exists"));
  }
  return role;
}

absl::Status AdminLogic::AssignRole(const Principal& caller, const CallContext& call,
                                    const std::string& account_id, const std::string& role) {
  if (auto s = RequireScope(caller, kScopeRolesWrite); !s.ok()) return s;
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  if (auto s = CheckRoleName("role", role); !s.ok()) return s;
  if (auto s = RequireRolesHeld(caller, {role}, "role"); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return accounts_.AssignRole(caller.org_id, account_id, role, clock_.Now(), Actor(caller, call),
                                c);
  });
}

absl::Status AdminLogic::UnassignRole(const Principal& caller, const CallContext& call,
                                      const std::string& account_id, const std::string& role) {
  if (auto s = RequireScope(caller, kScopeRolesWrite); !s.ok()) return s;
  if (auto s = CheckId("account_id", account_id); !s.ok()) return s;
  if (auto s = CheckRoleName("role", role); !s.ok()) return s;
  if (auto s = RequireRolesHeld(caller, {role}, "role"); !s.ok()) return s;
  return snapshot_.AfterCommit([&](Committed* c) {
    return accounts_.UnassignRole(caller.org_id, account_id, role, clock_.Now(),
                                  Actor(caller, call), c);
  });
}

}  // namespace tessera
