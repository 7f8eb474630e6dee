#include "server/grpc/rpc_metrics.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "core/log.h"
#include "server/grpc/request_id.h"
#include "server/grpc/unreadable_request.h"
#include "server/metrics/latency_buckets.h"

namespace tessera {
namespace {

const char* CodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  return code >= 0 && code < 17 ? kNames[code] : "Unknown";
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(RpcMetrics& metrics, RpcMetrics::Method& method,
                     grpc::ServerContextBase* context)
      : metrics_(metrics), method_(method), context_(context) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* batch) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (batch->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      start_ = absl::Now();
      method_.started->Increment();
      metrics_.calls().Open(context_);
    }
    if (batch->QueryInterceptionHookPoint(Hook::POST_RECV_MESSAGE) &&
        batch->GetRecvMessage() == nullptr) {
      // gRPC could not parse the request, so no handler runs (see unreadable_request.h).
      unreadable_ = UnreadableRequestStatus();
    }
    if (batch->QueryInterceptionHookPoint(Hook::PRE_SEND_INITIAL_METADATA)) {
      // The handler echoes the request ID it used (see MetaFrom); a call no handler saw gets
      // one here, so that its answer and its log line can be matched too.
      auto* sent = batch->GetSendInitialMetadata();
      auto it = sent->find("x-request-id");
      if (it != sent->end()) {
        request_id_ = it->second;
      } else {
        request_id_ = RequestIdFor(context_->client_metadata());
        sent->emplace("x-request-id", request_id_);
      }
    }
    if (batch->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      if (!unreadable_.ok() && batch->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
        batch->ModifySendStatus(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(unreadable_.message())));
      }
      int code = static_cast<int>(batch->GetSendStatus().error_code());
      metrics_.Handled(method_, code).Increment();
      absl::Duration took =
          start_ == absl::InfinitePast() ? absl::ZeroDuration() : absl::Now() - start_;
      method_.seconds->Observe(absl::ToDoubleSeconds(took));
      CallNotes::Note note = metrics_.calls().Close(context_);
      // Health probes arrive every few seconds from each prober: debug, not info.
      LogLevel level =
          method_.service == "grpc.health.v1.Health" ? LogLevel::kDebug : LogLevel::kInfo;
      if (LogEnabled(level)) {
        Log(level, "rpc",
            {{"request_id", request_id_},
             {"method", absl::StrCat(method_.service, "/", method_.name)},
             {"code", CodeName(code)},
             {"duration_ms", absl::StrCat(absl::ToDoubleMilliseconds(took))},
             {"org_id", note.org_id},
             {"principal_id", note.principal_id},
             {"peer", context_->peer()}});
      }
    }
    batch->Proceed();
  }

 private:
  RpcMetrics& metrics_;
  RpcMetrics::Method& method_;
  grpc::ServerContextBase* const context_;
  absl::Time start_ = absl::InfinitePast();
  std::string request_id_;
  absl::Status unreadable_;  // why the request could not be parsed, if it could not
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(RpcMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, metrics_.For(info->method()), info->server_context());
  }

 private:
  RpcMetrics& metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(prometheus::Registry& registry, CallNotes& calls,
                       const std::vector<std::string>& services)
    : calls_(calls),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, whatever their status.")
                   .Register(registry)),
      seconds_(prometheus::BuildHistogram()
                   .Name("grpc_server_handling_seconds")
                   .Help("Time from receiving an RPC to sending its status.")
                   .Register(registry)) {
  for (const std::string& name : services) {
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      std::string full = absl::StrCat("/", name, "/", service->method(i)->name());
      known_[full] = NewMethod(full);
    }
  }
}

std::unique_ptr<RpcMetrics::Method> RpcMetrics::NewMethod(absl::string_view full_method) {
  auto m = std::make_unique<Method>();
  absl::string_view path = absl::StripPrefix(full_method, "/");
  size_t slash = path.find('/');
  m->service = std::string(path.substr(0, slash));
  m->name = slash == absl::string_view::npos ? "" : std::string(path.substr(slash + 1));
  prometheus::Labels labels{{"grpc_service", m->service}, {"grpc_method", m->name}};
  m->started = &started_.Add(labels);
  m->seconds = &seconds_.Add(labels, LatencyBuckets());
  // OK and the server-side errors are on /metrics at 0 from the start, so that rate() sees a
  // method's first error too (the error-ratio alert); other codes appear on first use.
  for (grpc::StatusCode code : {grpc::OK, grpc::UNKNOWN, grpc::DEADLINE_EXCEEDED, grpc::INTERNAL,
                                grpc::UNAVAILABLE, grpc::DATA_LOSS}) {
    labels["grpc_code"] = CodeName(code);
    m->handled[code] = &handled_.Add(labels);
  }
  return m;
}

RpcMetrics::Method& RpcMetrics::For(absl::string_view full_method) {
  auto it = known_.find(full_method);
  if (it != known_.end()) return *it->second;
  MutexLock lock(&mu_);
  auto& late = late_[std::string(full_method)];
  if (!late) late = NewMethod(full_method);
  return *late;
}

prometheus::Counter& RpcMetrics::Handled(Method& m, int code) {
  if (code < 0 || code >= 17) code = 2;  // UNKNOWN
  prometheus::Counter* c = m.handled[code].load(std::memory_order_acquire);
  if (c == nullptr) {
    // Family::Add returns the existing metric for labels it has seen, so two threads racing
    // here get the same counter.
    c = &handled_.Add(
        {{"grpc_service", m.service}, {"grpc_method", m.name}, {"grpc_code", CodeName(code)}});
    m.handled[code].store(c, std::memory_order_release);
  }
  return *c;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

}  // namespace tessera
