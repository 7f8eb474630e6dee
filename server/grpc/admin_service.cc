#include "server/grpc/admin_service.h"

#include "server/grpc/grpc_edge.h"

namespace tessera {

template <typename Body>
grpc::Status AdminServiceImpl::Handle(grpc::ServerContext* context, absl::string_view method,
                                      Body body) {
  CallContext call = edge_.Begin(context);
  auto caller = edge_.Caller(context, call);
  if (!caller.ok()) return edge_.Finish(context, call, caller.status(), method);
  return edge_.Finish(context, call, body(*caller, call), method);
}

grpc::Status AdminServiceImpl::CreateOrganization(grpc::ServerContext* context,
                                                  const v1::CreateOrganizationRequest* request,
                                                  v1::CreateOrganizationResponse* response) {
  return Handle(context, "CreateOrganization", [&](const Principal& caller, const CallContext& m) {
    auto created = logic_.CreateOrganization(caller, m, request->slug(), request->name(),
                                             request->admin_username());
    if (!created.ok()) return created.status();
    ToProto(created->org, response->mutable_organization());
    if (created->admin) {
      ToProto(*created->admin, created->org, response->mutable_admin_account());
      response->set_admin_password(created->admin_password);
    }
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::CreateAccount(grpc::ServerContext* context,
                                             const v1::CreateAccountRequest* request,
                                             v1::CreateAccountResponse* response) {
  return Handle(context, "CreateAccount", [&](const Principal& caller, const CallContext& m) {
    CreateAccountInput in;
    switch (request->kind()) {
      case v1::ACCOUNT_KIND_USER:
        in.kind = AccountKind::kUser;
        break;
      case v1::ACCOUNT_KIND_SERVICE:
        in.kind = AccountKind::kService;
        break;
      default:
        return absl::InvalidArgumentError("kind: ACCOUNT_KIND_USER or ACCOUNT_KIND_SERVICE");
    }
    in.username = request->username();
    in.email = request->email();
    in.password = request->password();
    in.roles.assign(request->roles().begin(), request->roles().end());
    auto created = logic_.CreateAccount(caller, m, in);
    if (!created.ok()) return created.status();
    auto org = logic_.CallerOrganization(caller);
    if (!org.ok()) return org.status();
    ToProto(created->account, *org, response->mutable_account());
    response->set_generated_password(created->generated_password);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::GetAccount(grpc::ServerContext* context,
                                          const v1::GetAccountRequest* request,
                                          v1::GetAccountResponse* response) {
  return Handle(context, "GetAccount", [&](const Principal& caller, const CallContext&) {
    auto account = logic_.GetAccount(caller, request->account_id());
    if (!account.ok()) return account.status();
    auto org = logic_.CallerOrganization(caller);
    if (!org.ok()) return org.status();
    ToProto(*account, *org, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListAccounts(grpc::ServerContext* context,
                                            const v1::ListAccountsRequest* request,
                                            v1::ListAccountsResponse* response) {
  return Handle(context, "ListAccounts", [&](const Principal& caller, const CallContext&) {
    auto page = logic_.ListAccounts(caller, request->page_size(), request->page_token());
    if (!page.ok()) return page.status();
    auto org = logic_.CallerOrganization(caller);
    if (!org.ok()) return org.status();
    for (const auto& a : page->accounts) ToProto(a, *org, response->add_accounts());
    response->set_next_page_token(page->next_after_id);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::DisableAccount(grpc::ServerContext* context,
                                              const v1::DisableAccountRequest* request,
                                              v1::DisableAccountResponse* response) {
  return Handle(context, "DisableAccount", [&](const Principal& caller, const CallContext& m) {
    auto account = logic_.DisableAccount(caller, m, request->account_id());
    if (!account.ok()) return account.status();
    auto org = logic_.CallerOrganization(caller);
    if (!org.ok()) return org.status();
    ToProto(*account, *org, response->mutable_account());
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::CreateRole(grpc::ServerContext* context,
                                          const v1::CreateRoleRequest* request,
                                          v1::CreateRoleResponse* response) {
  return Handle(context, "CreateRole", [&](const Principal& caller, const CallContext& m) {
    auto role = logic_.CreateRole(caller, m, request->name(),
                                  {request->scopes().begin(), request->scopes().end()});
    if (!role.ok()) return role.status();
    response->mutable_role()->set_id(role->id);
    response->mutable_role()->set_name(role->name);
    for (const auto& s : role->scopes.items()) response->mutable_role()->add_scopes(s);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::AssignRole(grpc::ServerContext* context,
                                          const v1::AssignRoleRequest* request,
                                          v1::AssignRoleResponse*) {
  return Handle(context, "AssignRole", [&](const Principal& caller, const CallContext& m) {
    return logic_.AssignRole(caller, m, request->account_id(), request->role());
  });
}

grpc::Status AdminServiceImpl::ListAuditEvents(grpc::ServerContext* context,
                                               const v1::ListAuditEventsRequest* request,
                                               v1::ListAuditEventsResponse* response) {
  return Handle(context, "ListAuditEvents", [&](const Principal& caller, const CallContext&) {
    auto page = logic_.ListAuditEvents(caller, request->page_size(), request->page_token(),
                                       request->action(), request->actor_id());
    if (!page.ok()) return page.status();
    for (const AuditEvent& e : page->events) ToProto(e, response->add_events());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::UnassignRole(grpc::ServerContext* context,
                                            const v1::UnassignRoleRequest* request,
                                            v1::UnassignRoleResponse*) {
  return Handle(context, "UnassignRole", [&](const Principal& caller, const CallContext& m) {
    return logic_.UnassignRole(caller, m, request->account_id(), request->role());
  });
}

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* context,
                                            const v1::CreateApiKeyRequest* request,
                                            v1::CreateApiKeyResponse* response) {
  return Handle(context, "CreateApiKey", [&](const Principal& caller, const CallContext& m) {
    NewApiKeyInput in{.account_id = request->account_id(),
                      .name = request->name(),
                      .scopes = {request->scopes().begin(), request->scopes().end()},
                      .ttl_seconds = request->ttl_seconds()};
    switch (request->kind()) {
      case v1::API_KEY_KIND_USER_TOKEN:
        in.kind = ApiKeyKind::kUserToken;
        break;
      case v1::API_KEY_KIND_SERVICE_TOKEN:
        in.kind = ApiKeyKind::kServiceToken;
        break;
      default:
        return absl::InvalidArgumentError(
            "kind: API_KEY_KIND_USER_TOKEN or API_KEY_KIND_SERVICE_TOKEN");
    }
    auto created = api_keys_.Create(caller, m, in);
    if (!created.ok()) return created.status();
    ToProto(created->info, response->mutable_api_key());
    response->set_key(created->key);
    response->set_secret(created->secret);
    return absl::OkStatus();
  });
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* context,
                                           const v1::ListApiKeysRequest* request,
                                           v1::ListApiKeysResponse* response) {
  return Handle(context, "ListApiKeys", [&](const Principal& caller, const CallContext&) {
    auto keys = api_keys_.List(caller, request->account_id());
    if (!keys.ok()) return keys.status();
    for (const ApiKeyInfo& k : *keys) ToProto(k, response->add_api_keys());
    return absl::OkStatus();
  });
}

}  // namespace tessera
