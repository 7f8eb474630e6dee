#include "server/grpc/ext_authz_service.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "server/request_id.h"
#include "services/login_guard.h"

namespace tessera {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::AttributeContext;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using Headers = google::protobuf::RepeatedPtrField<HeaderValueOption>;

constexpr absl::string_view kAuthorization = "authorization";
constexpr absl::string_view kApiSecret = "x-api-secret";

// What the face reads of a CheckRequest: the proxied request's credential and client, the
// headers the client sent under tessera's prefix, and the route's "tessera." extensions.
struct ProxiedRequest {
  CallContext presented;
  std::vector<std::string> prefixed;  // lower case
  std::vector<std::pair<std::string, std::string>> extensions;
};

// "ipv4:10.0.0.7:5123" / "ipv6:[::1]:5123", as gRPC names peers (the throttle keys on the
// address part); empty when the proxy sent no IP literal.
std::string PeerOf(const AttributeContext::Peer& peer) {
  const auto& socket = peer.address().socket_address();
  const std::string& ip = socket.address();
  unsigned char buf[16];
  std::string port = absl::StrCat(socket.port_value());
  if (ip.size() <= 45 && inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    return absl::StrCat("ipv4:", ip, ":", port);
  }
  if (ip.size() <= 45 && inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    return absl::StrCat("ipv6:[", ip, "]:", port);
  }
  return "";
}

ProxiedRequest Read(const CheckRequest& request, const CallContext& call,
                    absl::string_view prefix) {
  ProxiedRequest out;
  const AttributeContext& attributes = request.attributes();
  const auto& http = attributes.request().http();
  CallContext& p = out.presented;
  p.request_id = http.id().empty() ? call.request_id : RequestIdOrNew(http.id());
  p.peer = PeerOf(attributes.source());
  p.deadline = call.deadline;
  p.deferred_writes = call.deferred_writes;
  // Envoy joins repeated headers with ',' in `headers`; raw headers (header_map) are joined here
  // the same way, so two credentials never read as one.
  auto take = [&](absl::string_view key, absl::string_view value) {
    if (absl::EqualsIgnoreCase(key, kAuthorization)) {
      p.authorization =
          p.authorization ? absl::StrCat(*p.authorization, ",", value) : std::string(value);
    } else if (absl::EqualsIgnoreCase(key, kApiSecret)) {
      p.api_secret =
          p.api_secret.empty() ? std::string(value) : absl::StrCat(p.api_secret, ",", value);
    } else if (absl::StartsWithIgnoreCase(key, prefix)) {
      out.prefixed.push_back(absl::AsciiStrToLower(key));
    }
  };
  for (const auto& [key, value] : http.headers()) take(key, value);
  if (http.headers().empty()) {
    for (const auto& h : http.header_map().headers()) {
      take(h.key(), h.raw_value().empty() ? h.value() : h.raw_value());
    }
  }
  for (const auto& [key, value] : attributes.context_extensions()) {
    if (absl::StartsWith(key, "tessera.")) out.extensions.emplace_back(key, value);
  }
  return out;
}

// A header Envoy sets on the request (or on its local reply), replacing any of the same name.
void Set(Headers* headers, std::string key, std::string value) {
  HeaderValueOption* h = headers->Add();
  h->mutable_header()->set_key(std::move(key));
  h->mutable_header()->set_value(std::move(value));
  h->mutable_append()->set_value(false);
}

google::protobuf::Value* Field(google::protobuf::Struct* s, const char* name) {
  return &(*s->mutable_fields())[name];
}

// RFC 6749 section 5.2's shape, which OAuth clients already read. The words are tessera's own
// (codes, scope names, fixed messages); quotes, backslashes and control characters are dropped
// all the same, so the body stays JSON whatever a message says.
std::string JsonError(absl::string_view error, absl::string_view description) {
  std::string text;
  for (char c : description) {
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) text.push_back(c);
  }
  return absl::StrCat(R"({"error":")", error, R"(","error_description":")", text, R"("})");
}

// Each call's request and response on one arena, with its first block inside the holder: one
// allocation per call instead of one per header, map entry and string.
class ArenaMessages final : public grpc::MessageAllocator<CheckRequest, CheckResponse> {
 public:
  grpc::MessageHolder<CheckRequest, CheckResponse>* AllocateMessages() override {
    return new Holder;
  }

 private:
  class Holder final : public grpc::MessageHolder<CheckRequest, CheckResponse> {
   public:
    Holder() : arena_(Options(block_, sizeof(block_))) {
      set_request(google::protobuf::Arena::CreateMessage<CheckRequest>(&arena_));
      set_response(google::protobuf::Arena::CreateMessage<CheckResponse>(&arena_));
    }
    void Release() override { delete this; }

   private:
    static google::protobuf::ArenaOptions Options(char* block, size_t size) {
      google::protobuf::ArenaOptions o;
      o.initial_block = block;
      o.initial_block_size = size;
      return o;
    }
    alignas(8) char block_[8192];
    google::protobuf::Arena arena_;
  };
};

}  // namespace

ExtAuthzService::~ExtAuthzService() = default;

ExtAuthzService::ExtAuthzService(GrpcEdge& edge, ProxyCheckLogic& logic, BoundedWorkerPool& writes,
                                 ExtAuthzOptions options)
    : edge_(edge),
      logic_(logic),
      writes_(writes),
      options_(std::move(options)),
      subject_header_(options_.header_prefix + "subject"),
      org_header_(options_.header_prefix + "org-id"),
      scopes_header_(options_.header_prefix + "scopes"),
      client_header_(options_.header_prefix + "client-id"),
      allocator_(std::make_unique<ArenaMessages>()) {
  SetMessageAllocatorFor_Check(allocator_.get());
}

void ExtAuthzService::Allow(const Principal& who, std::vector<std::string> prefixed,
                            CheckResponse* response) const {
  std::string scopes = absl::StrJoin(who.scopes.items(), " ");
  auto* ok = response->mutable_ok_response();
  Set(ok->mutable_headers(), subject_header_, who.account_id);
  Set(ok->mutable_headers(), org_header_, who.org_id);
  Set(ok->mutable_headers(), client_header_, who.client_id);
  // Some Envoy versions pass an empty value on and some drop it: a header with nothing to say is
  // removed instead, so a forged one never survives.
  if (!scopes.empty()) Set(ok->mutable_headers(), scopes_header_, scopes);
  std::vector<std::string> remove;
  if (!options_.keep_credential) {
    remove.emplace_back(kAuthorization);
    remove.emplace_back(kApiSecret);
  }
  if (scopes.empty()) prefixed.push_back(scopes_header_);
  // Envoy removes after it sets: a name set above must not be listed here.
  for (std::string& name : prefixed) {
    bool set = name == subject_header_ || name == org_header_ || name == client_header_ ||
               (name == scopes_header_ && !scopes.empty());
    if (!set && std::find(remove.begin(), remove.end(), name) == remove.end()) {
      remove.push_back(std::move(name));
    }
  }
  for (std::string& name : remove) ok->add_headers_to_remove(std::move(name));
  google::protobuf::Struct* meta = response->mutable_dynamic_metadata();
  Field(meta, "subject")->set_string_value(who.account_id);
  Field(meta, "org_id")->set_string_value(who.org_id);
  Field(meta, "client_id")->set_string_value(who.client_id);
  auto* list = Field(meta, "scopes")->mutable_list_value();
  for (const std::string& s : who.scopes.items()) list->add_values()->set_string_value(s);
}

void ExtAuthzService::Deny(const absl::Status& why, const CallContext& call, bool credential_sent,
                           const RoutePolicy* policy, CheckResponse* response) const {
  auto* denied = response->mutable_denied_response();
  Set(denied->mutable_headers(), "content-type", "application/json");
  Set(denied->mutable_headers(), "cache-control", "no-store");
  auto deny = [&](absl::StatusCode code, envoy::type::v3::StatusCode http, absl::string_view error,
                  absl::string_view description) {
    response->mutable_status()->set_code(static_cast<int>(code));
    response->mutable_status()->set_message(std::string(description));
    denied->mutable_status()->set_code(http);
    denied->set_body(JsonError(error, description));
  };
  if (policy == nullptr) {  // the operator's route configuration, not the client, is at fault
    Log(LogLevel::kError, "ext_authz_route_policy",
        {{"request_id", call.request_id}, {"error", std::string(why.message())}});
    return deny(absl::StatusCode::kInternal, envoy::type::v3::InternalServerError, "server_error",
                absl::StrCat("route policy misconfigured (request id ", call.request_id, ")"));
  }
  switch (why.code()) {
    case absl::StatusCode::kUnauthenticated:
      // RFC 6750 section 3.1: no error code when the request carried no credential at all.
      Set(denied->mutable_headers(), "www-authenticate",
          credential_sent ? R"(Bearer error="invalid_token")" : "Bearer");
      return deny(why.code(), envoy::type::v3::Unauthorized, "invalid_token",
                  credential_sent ? "invalid bearer credential" : "no bearer credential");
    case absl::StatusCode::kPermissionDenied: {
      std::string challenge = R"(Bearer error="insufficient_scope")";
      if (!policy->required_scopes.empty()) {
        absl::StrAppend(&challenge, R"(, scope=")",
                        absl::StrJoin(policy->required_scopes.items(), " "), "\"");
      }
      Set(denied->mutable_headers(), "www-authenticate", challenge);
      return deny(why.code(), envoy::type::v3::Forbidden, "insufficient_scope", why.message());
    }
    case absl::StatusCode::kResourceExhausted:
      Set(denied->mutable_headers(), "retry-after",
          absl::StrCat(RetryAfterSeconds(why).value_or(1)));
      return deny(why.code(), envoy::type::v3::TooManyRequests, "temporarily_unavailable",
                  why.message());
    case absl::StatusCode::kUnavailable:
      Set(denied->mutable_headers(), "retry-after", "1");
      return deny(why.code(), envoy::type::v3::ServiceUnavailable, "temporarily_unavailable",
                  "temporarily unavailable; retry");
    default:
      Log(LogLevel::kError, "rpc_internal_error",
          {{"request_id", call.request_id},
           {"method", "Check"},
           {"error", std::string(why.message())}});
      return deny(absl::StatusCode::kInternal, envoy::type::v3::InternalServerError, "server_error",
                  absl::StrCat("internal error (request id ", call.request_id, ")"));
  }
}

grpc::ServerUnaryReactor* ExtAuthzService::Check(grpc::CallbackServerContext* context,
                                                 const CheckRequest* request,
                                                 CheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<std::function<void()>> deferred;
  grpc::Status status = Decide(context, request, response, &deferred);
  if (deferred.empty()) {  // the usual case: decided from memory, answered on this thread
    reactor->Finish(status);
    return reactor;
  }
  // A failed secret's count (and a lockout's audit row) is written before the answer, as on the
  // other RPCs, but on a thread that may block.
  auto write_then_answer =
      std::make_shared<std::function<void()>>([reactor, status, deferred = std::move(deferred)] {
        for (const auto& write : deferred) write();
        reactor->Finish(status);
      });
  if (!writes_.Post([write_then_answer] { (*write_then_answer)(); })) {
    // Every worker busy and the queue full: the count must not be lost (it is what stops
    // guessing), so this thread waits for it.
    (*write_then_answer)();
  }
  return reactor;
}

grpc::Status ExtAuthzService::Decide(grpc::ServerContextBase* context, const CheckRequest* request,
                                     CheckResponse* response,
                                     std::vector<std::function<void()>>* deferred) {
  CallContext call = edge_.Begin(context);
  call.deferred_writes = deferred;
  auto proxy = logic_.Caller(call);
  // The proxy's own credential failing is the one gRPC error: the call itself is refused.
  if (!proxy.ok()) return edge_.Finish(context, call, proxy.status(), "Check");
  if (proxy->has_value()) edge_.Note(context, (*proxy)->org_id, (*proxy)->account_id);
  ProxiedRequest proxied = Read(*request, call, options_.header_prefix);
  absl::StatusOr<RoutePolicy> policy = RoutePolicy::Parse(proxied.extensions);
  if (!policy.ok()) {
    edge_.metrics().Checked(absl::InternalError("route policy"));
    Deny(policy.status(), call, false, nullptr, response);
    return grpc::Status::OK;
  }
  auto allowed = logic_.Check(proxy->has_value() ? &**proxy : nullptr, proxied.presented, *policy);
  edge_.metrics().Checked(allowed.status());
  if (!allowed.ok()) {
    edge_.metrics().Refused(allowed.status());
    Deny(allowed.status(), call, proxied.presented.authorization.has_value(), &*policy, response);
    return grpc::Status::OK;
  }
  edge_.Note(context, allowed->org_id, allowed->account_id);  // the log line names who passed
  response->mutable_status()->set_code(0);
  Allow(*allowed, std::move(proxied.prefixed), response);
  return grpc::Status::OK;
}

}  // namespace tessera
