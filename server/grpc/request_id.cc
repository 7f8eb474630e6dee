#include "server/grpc/request_id.h"

#include "server/request_id.h"

namespace tessera {

std::string RequestIdFor(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) {
  auto it = client_metadata.find("x-request-id");
  if (it == client_metadata.end()) return RequestIdOrNew(std::nullopt);
  return RequestIdOrNew(absl::string_view(it->second.data(), it->second.size()));
}

}  // namespace tessera
