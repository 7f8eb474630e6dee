// Request IDs, the same on every face: each answer carries one (gRPC's `x-request-id` initial
// metadata, HTTP's `X-Request-Id` header) and so does its log line and any audit row it writes.
// The caller's own is kept when it is safe to log and echo; otherwise a new one is made.
#ifndef TESSERA_SERVER_REQUEST_ID_H_
#define TESSERA_SERVER_REQUEST_ID_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace tessera {

// `offered` if it is 1 to 64 of [A-Za-z0-9._-], else 16 new random hex digits.
std::string RequestIdOrNew(std::optional<absl::string_view> offered);

}  // namespace tessera

#endif  // TESSERA_SERVER_REQUEST_ID_H_
