// The request ID of a gRPC call, from its `x-request-id` metadata (server/request_id.h).
#ifndef TESSERA_SERVER_GRPC_REQUEST_ID_H_
#define TESSERA_SERVER_GRPC_REQUEST_ID_H_

#include <grpcpp/support/string_ref.h>

#include <map>
#include <string>

namespace tessera {

// The caller's `x-request-id` if it is 1 to 64 of [A-Za-z0-9._-], else 16 new random hex digits.
std::string RequestIdFor(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata);

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_REQUEST_ID_H_
