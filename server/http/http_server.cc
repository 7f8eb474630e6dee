#include "server/http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/tls_material.h"
#include "server/http/json_object.h"
#include "server/request_id.h"

namespace tessera {
namespace {

// What one request on this thread has been so far: cpp-httplib runs the pre-routing handler,
// the route and the logger of a request on one thread, one request at a time.
struct Exchange {
  absl::Time start = absl::InfinitePast();
  std::string handler = "none";
  HttpNote note;
};
thread_local Exchange current;

std::string PeerOf(const httplib::Request& req) {
  bool v6 = req.remote_addr.find(':') != std::string::npos;
  return v6 ? absl::StrCat("ipv6:[", req.remote_addr, "]:", req.remote_port)
            : absl::StrCat("ipv4:", req.remote_addr, ":", req.remote_port);
}

// cpp-httplib's routes are regular expressions; tessera's paths are exact.
std::string ExactPattern(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (std::string_view(".[]{}()\\*+?^$|").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void SplitHostPort(const std::string& addr, std::string* host, int* port) {
  size_t colon = addr.rfind(':');
  *host = addr.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  (void)absl::SimpleAtoi(addr.substr(colon + 1), port);
}

// cpp-httplib 0.11 listens with a backlog of 5: a gateway opening its pool of connections at
// once overflows it, and the kernel drops the rest (each then waits a SYN retransmission, or
// fails). Listening again on the bound socket raises the backlog (Linux takes a second listen()
// on a listening socket as a new backlog); the socket is the library's protected member.
template <typename Base>
class WideBacklog : public Base {
 public:
  using Base::Base;
  bool Widen() { return ::listen(this->svr_sock_, SOMAXCONN) == 0; }
};

}  // namespace

void SetJsonError(httplib::Response& res, int status, const std::string& error,
                  const std::string& description) {
  JsonObject body;
  body.Add("error", error);
  if (!description.empty()) body.Add("error_description", description);
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(std::move(body).Text(), "application/json");
}

HttpServer::HttpServer(HttpServerOptions options, HttpMetrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(const std::string& method, const std::string& path,
                        const std::string& handler_name, HttpHandler handler) {
  routes_[path][method] = {handler_name, std::move(handler)};
}

void HttpServer::Register() {
  httplib::Server& s = *server_;
  for (auto& [path, methods] : routes_) {
    std::string allow;
    for (const auto& [method, route] : methods) {
      absl::StrAppend(&allow, allow.empty() ? "" : ", ", method, method == "GET" ? ", HEAD" : "");
    }
    // The route's handler name labels every answer on its path, a 405 included.
    std::string path_handler = methods.begin()->second.first;
    auto* by_method = &methods;
    auto dispatch = [by_method, allow, path_handler](const httplib::Request& req,
                                                     httplib::Response& res) {
      auto it = by_method->find(req.method == "HEAD" ? "GET" : req.method);
      if (it == by_method->end()) {
        current.handler = path_handler;
        res.set_header("Allow", allow);
        SetJsonError(res, 405, "invalid_request",
                     absl::StrCat("method ", req.method, " is not allowed here; allowed: ", allow));
        return;
      }
      current.handler = it->second.first;
      // Framing a proxy in front could read otherwise than cpp-httplib did (request smuggling):
      // refused here, after cpp-httplib has read the body its way, so this connection stays
      // in step (RFC 9112 §6.3).
      if (req.get_header_value_count("Content-Length") > 1 ||
          (req.has_header("Content-Length") && req.has_header("Transfer-Encoding"))) {
        SetJsonError(res, 400, "invalid_request", "ambiguous message framing");
        return;
      }
      it->second.second(req, res, current.note);
    };
    std::string pattern = ExactPattern(path);
    s.Get(pattern, dispatch);
    s.Post(pattern, dispatch);
    s.Put(pattern, dispatch);
    s.Patch(pattern, dispatch);
    s.Delete(pattern, dispatch);
    s.Options(pattern, dispatch);
  }
}

absl::StatusOr<int> HttpServer::Start(const std::string& setting) {
  if (options_.tls != nullptr) {
    TlsMaterial* tls = options_.tls;
    auto ssl = std::make_unique<WideBacklog<httplib::SSLServer>>(
        [tls](SSL_CTX& ctx) { return tls->Install(ctx); });
    if (!ssl->is_valid()) return absl::InternalError("TLS set-up of the HTTPS port failed");
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<WideBacklog<httplib::Server>>();
  }
  httplib::Server& s = *server_;
  int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(options_.max_body);
  s.set_keep_alive_max_count(options_.keep_alive_max_count);
  s.set_keep_alive_timeout(5);
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  s.set_tcp_nodelay(true);
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    current = Exchange{.start = absl::Now()};
    current.note.request_id =
        RequestIdOrNew(req.has_header("X-Request-Id")
                           ? std::optional<absl::string_view>(req.get_header_value("X-Request-Id"))
                           : std::nullopt);
    current.note.peer = PeerOf(req);
    res.set_header("X-Request-Id", current.note.request_id);
    return httplib::Server::HandlerResponse::Unhandled;
  });
  size_t max_body = options_.max_body;
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [max_body](const httplib::Request&, httplib::Response& res) {
        // Called for every answer of 400 or more: only those cpp-httplib made itself have no body.
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Handled;
        if (res.status == 404) {
          SetJsonError(res, 404, "not_found", "no such path");
        } else if (res.status == 413) {
          SetJsonError(res, 400, "invalid_request",
                       absl::StrCat("body: larger than ", max_body, " bytes"));
        } else if (res.status == 400) {
          SetJsonError(res, 400, "invalid_request", "malformed HTTP request");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    Exchange done = std::move(current);
    current = Exchange{};
    absl::Duration took =
        done.start == absl::InfinitePast() ? absl::ZeroDuration() : absl::Now() - done.start;
    metrics_.Observe(done.handler, res.status, took);
    if (!LogEnabled(options_.log_level)) return;
    if (done.note.request_id.empty()) done.note.request_id = RequestIdOrNew(std::nullopt);
    Log(options_.log_level, "http",
        {{"port", options_.name},
         {"request_id", done.note.request_id},
         {"method", req.method},
         {"path", req.path},
         {"status", std::to_string(res.status)},
         {"duration_ms", absl::StrCat(absl::ToDoubleMilliseconds(took))},
         {"org_id", done.note.org_id},
         {"principal_id", done.note.principal_id},
         {"peer", done.note.peer.empty() ? PeerOf(req) : done.note.peer}});
  });
  Register();

  std::string host;
  int port = 0;
  SplitHostPort(options_.listen, &host, &port);
  int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("config: --", setting, ": cannot listen on ", options_.listen));
  }
  // Both kinds derive from httplib::Server, and only through WideBacklog (above).
  bool widened = options_.tls != nullptr ? static_cast<WideBacklog<httplib::SSLServer>&>(s).Widen()
                                         : static_cast<WideBacklog<httplib::Server>&>(s).Widen();
  if (!widened) return absl::InternalError("listen() on the bound HTTP socket failed");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the listening loop runs: a Stop right after a
  // failed start elsewhere would otherwise wait for ever.
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!server_->is_running()) {
    if (absl::Now() > give_up) return absl::InternalError("the HTTP server did not start");
    absl::SleepFor(absl::Milliseconds(1));
  }
  return bound;
}

void HttpServer::StopAccepting() {
  if (server_ && server_->is_running()) server_->stop();
}

void HttpServer::Join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera
