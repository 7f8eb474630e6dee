#include "server/grpc/request_id.h"

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "core/encoding.h"

namespace tessera {
namespace {

bool IsSafeRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

}  // namespace

std::string RequestIdFor(const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) {
  auto it = client_metadata.find("x-request-id");
  if (it != client_metadata.end()) {
    absl::string_view id(it->second.data(), it->second.size());
    if (IsSafeRequestId(id)) return std::string(id);
  }
  return RandomHex(8);
}

}  // namespace tessera
