// Replica: a second tessera replica in the test process, for tests that need two replicas on
// one database (the snapshot following the change feed, races between replicas).
#ifndef TESSERA_TESTS_INTEGRATION_REPLICA_H_
#define TESSERA_TESTS_INTEGRATION_REPLICA_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/app.h"
#include "tessera/v1/token.grpc.pb.h"

namespace tessera {

// A second replica: its own ServerApp (pool, snapshot, change feed, gRPC port) on the
// fixture's database and clock.
struct Replica {
  Replica(const Config& config, const Clock& clock) : app(config, clock) {
    status = app.Start();
    if (!status.ok()) return;
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(app.grpc_port()),
                                       grpc::InsecureChannelCredentials());
    tokens = v1::TokenService::NewStub(channel);
  }
  ~Replica() { app.Shutdown(absl::Seconds(1)); }

  v1::IntrospectResponse Introspect(const std::string& caller, const std::string& token) {
    v1::IntrospectRequest req;
    req.set_token(token);
    v1::IntrospectResponse resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + caller);
    grpc::Status s = tokens->Introspect(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  ServerApp app;
  absl::Status status;
  std::unique_ptr<v1::TokenService::Stub> tokens;
};

}  // namespace tessera

#endif  // TESSERA_TESTS_INTEGRATION_REPLICA_H_
