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
using HeaderValueOptions = Headers;

constexpr absl::string_view kAuthorization = "authorization";
constexpr absl::string_view kApiSecret = "x-api-secret";

// What the face reads of a CheckRequest: the proxied request's credential and client, the
// headers the client sent under tessera's prefix, and the route's extensions for tessera.
struct ProxiedRequest {
  CallContext presented;
  std::vector<std::string> prefixed;  // lower case
  std::vector<std::pair<std::string, std::string>> extensions;
};

// The downstream client's address as the proxy reports it, in its canonical spelling and in the
// proxy's own namespace ("proxied[org:<id>]:ipv4:10.0.0.7:5123", "...:ipv6:[::1]:5123"; the
// throttle keys on all but the port). The proxy chooses this address, so the failures it counts
// can lock out that address only behind proxies of the same identity, never a direct caller
// or another organization's gateway. Empty when the proxy sent no IP literal.
std::string PeerOf(const AttributeContext::Peer& peer, absl::string_view relay) {
  const auto& socket = peer.address().socket_address();
  const std::string& ip = socket.address();
  if (ip.size() > INET6_ADDRSTRLEN) return "";
  unsigned char raw[16];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, ip.c_str(), raw) == 1 &&
        inet_ntop(family, raw, text, sizeof(text)) != nullptr) {
      return family == AF_INET
                 ? absl::StrCat("proxied[", relay, "]:ipv4:", text, ":", socket.port_value())
                 : absl::StrCat("proxied[", relay, "]:ipv6:[", text, "]:", socket.port_value());
    }
  }
  return "";
}

// Header names as upstreams may read them: CGI and WSGI servers take '_' for '-'.
bool UnderPrefix(absl::string_view key, absl::string_view prefix) {
  if (key.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = absl::ascii_tolower(key[i]);
    if ((c == '_' ? '-' : c) != prefix[i]) return false;
  }
  return true;
}

// `relay`: who the proxy is, for the namespace of its clients' addresses.
ProxiedRequest Read(const CheckRequest& request, const CallContext& call, absl::string_view prefix,
                    absl::string_view relay) {
  ProxiedRequest out;
  const AttributeContext& attributes = request.attributes();
  const auto& http = attributes.request().http();
  CallContext& p = out.presented;
  p.request_id = http.id().empty() ? call.request_id : RequestIdOrNew(http.id());
  p.peer = PeerOf(attributes.source(), relay);
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
    } else if (UnderPrefix(key, prefix)) {
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
    if (RoutePolicy::Concerns(key)) out.extensions.emplace_back(key, value);
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

// At most one line a second for `last` (nanoseconds of the last line): a misconfigured route or a
// full write pool answers every request, and the log must not take the reactor's time.
bool LogDue(std::atomic<int64_t>& last) {
  int64_t now = absl::GetCurrentTimeNanos();
  int64_t before = last.load(std::memory_order_relaxed);
  return now - before >= 1'000'000'000 && last.compare_exchange_strong(before, now);
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

namespace {

// The denied answer's common part: its headers, status and body.
HeaderValueOptions* Denied(CheckResponse* response, absl::StatusCode code,
                           envoy::type::v3::StatusCode http, absl::string_view error,
                           absl::string_view description) {
  auto* denied = response->mutable_denied_response();
  Set(denied->mutable_headers(), "content-type", "application/json");
  Set(denied->mutable_headers(), "cache-control", "no-store");
  response->mutable_status()->set_code(static_cast<int>(code));
  response->mutable_status()->set_message(std::string(description));
  denied->mutable_status()->set_code(http);
  denied->set_body(JsonError(error, description));
  return denied->mutable_headers();
}

}  // namespace

void ExtAuthzService::DenyMisconfigured(const absl::Status& why, const CallContext& call,
                                        CheckResponse* response) const {
  if (LogDue(policy_logged_)) {
    Log(LogLevel::kError, "ext_authz_route_policy",
        {{"request_id", call.request_id}, {"error", std::string(why.message())}});
  }
  Denied(response, absl::StatusCode::kInternal, envoy::type::v3::InternalServerError,
         "server_error",
         absl::StrCat("route policy misconfigured (request id ", call.request_id, ")"));
}

void ExtAuthzService::Deny(const absl::Status& why, bool credential_sent, const RoutePolicy* policy,
                           absl::string_view request_id, CheckResponse* response) const {
  auto deny = [&](absl::StatusCode code, envoy::type::v3::StatusCode http, absl::string_view error,
                  absl::string_view description) {
    return Denied(response, code, http, error, description);
  };
  switch (why.code()) {
    case absl::StatusCode::kUnauthenticated:
      // RFC 6750 section 3.1: no error code when the request carried no credential at all.
      Set(deny(why.code(), envoy::type::v3::Unauthorized, "invalid_token",
               credential_sent ? "invalid bearer credential" : "no bearer credential"),
          "www-authenticate", credential_sent ? R"(Bearer error="invalid_token")" : "Bearer");
      return;
    case absl::StatusCode::kPermissionDenied: {
      std::string challenge = R"(Bearer error="insufficient_scope")";
      if (policy != nullptr && !policy->required_scopes.empty()) {
        absl::StrAppend(&challenge, R"(, scope=")",
                        absl::StrJoin(policy->required_scopes.items(), " "), "\"");
      }
      Set(deny(why.code(), envoy::type::v3::Forbidden, "insufficient_scope", why.message()),
          "www-authenticate", challenge);
      return;
    }
    case absl::StatusCode::kResourceExhausted:
      Set(deny(why.code(), envoy::type::v3::TooManyRequests, "temporarily_unavailable",
               why.message()),
          "retry-after", absl::StrCat(RetryAfterSeconds(why).value_or(1)));
      return;
    case absl::StatusCode::kUnavailable:
      Set(deny(why.code(), envoy::type::v3::ServiceUnavailable, "temporarily_unavailable",
               "temporarily unavailable; retry"),
          "retry-after", "1");
      return;
    default:
      if (LogDue(internal_logged_)) {
        Log(LogLevel::kError, "rpc_internal_error",
            {{"request_id", std::string(request_id)},
             {"method", "Check"},
             {"error", std::string(why.message())}});
      }
      deny(absl::StatusCode::kInternal, envoy::type::v3::InternalServerError, "server_error",
           absl::StrCat("internal error (request id ", request_id, ")"));
      return;
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
  bool posted = writes_.Post([reactor, status, deferred = std::move(deferred)] {
    for (const auto& write : deferred) write();
    reactor->Finish(status);
  });
  if (!posted) {
    // Every worker busy and the queue full: PostgreSQL is stuck or slow, and this thread must
    // not wait for it. The request is refused as unavailable (fail closed) without its key's
    // count; the client's address was counted in memory already, so one address still cannot
    // guess on.
    if (LogDue(overload_logged_)) {
      Log(LogLevel::kWarning, "ext_authz_writes_refused",
          {{"queued", std::to_string(writes_.queued())},
           {"refused", std::to_string(writes_.refused())}});
    }
    if (!status.ok()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::UNAVAILABLE, "temporarily unavailable; retry"));
    } else {
      response->Clear();
      Deny(absl::UnavailableError("write pool full"), true, nullptr, "", response);
      reactor->Finish(grpc::Status::OK);
    }
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
  // Who the proxy is: the namespace of the client addresses it reports.
  std::string relay = proxy->has_value() ? absl::StrCat("org:", (*proxy)->org_id)
                                         : absl::StrCat("cert:", call.client_certificate_identity);
  ProxiedRequest proxied = Read(*request, call, options_.header_prefix, relay);
  absl::StatusOr<RoutePolicy> policy = RoutePolicy::Parse(proxied.extensions);
  if (!policy.ok()) {
    edge_.metrics().Checked(absl::InternalError("route policy"));
    DenyMisconfigured(policy.status(), call, response);
    return grpc::Status::OK;
  }
  auto allowed = logic_.Check(proxy->has_value() ? &**proxy : nullptr, proxied.presented, *policy);
  edge_.metrics().Checked(allowed.status());
  if (!allowed.ok()) {
    edge_.metrics().Refused(allowed.status());
    Deny(allowed.status(), proxied.presented.authorization.has_value(), &*policy, call.request_id,
         response);
    return grpc::Status::OK;
  }
  edge_.Note(context, allowed->org_id, allowed->account_id);  // the log line names who passed
  response->mutable_status()->set_code(0);
  Allow(*allowed, std::move(proxied.prefixed), response);
  return grpc::Status::OK;
}

}  // namespace tessera
