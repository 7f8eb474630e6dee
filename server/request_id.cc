#include "server/request_id.h"

#include "absl/strings/ascii.h"
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

std::string RequestIdOrNew(std::optional<absl::string_view> offered) {
  if (offered && IsSafeRequestId(*offered)) return std::string(*offered);
  return RandomHex(8);
}

}  // namespace tessera
