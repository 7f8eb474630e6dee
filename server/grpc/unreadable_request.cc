#include "server/grpc/unreadable_request.h"

#include <google/protobuf/stubs/logging.h>

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/log.h"

namespace tessera {
namespace {

// The field protobuf last reported invalid UTF-8 in, on this thread ("" if none since taken).
thread_local std::string invalid_utf8_field;

void HandleProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  // "String field 'tessera.v1.PasswordGrant.username' contains invalid UTF-8 data when parsing
  // a protocol buffer. ..."
  constexpr absl::string_view kPrefix = "String field '";
  if (absl::StartsWith(message, kPrefix) &&
      absl::StrContains(message, "invalid UTF-8 data when parsing")) {
    absl::string_view rest = absl::string_view(message).substr(kPrefix.size());
    invalid_utf8_field = std::string(rest.substr(0, rest.find('\'')));
    return;  // the caller's mistake, answered as such: not worth an error line
  }
  LogLevel ours = level >= google::protobuf::LOGLEVEL_ERROR     ? LogLevel::kError
                  : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                                : LogLevel::kInfo;
  Log(ours, "protobuf", {{"message", message}, {"at", absl::StrCat(filename, ":", line)}});
}

}  // namespace

void InstallProtobufLogHandler() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&HandleProtobufLog); });
}

absl::Status UnreadableRequestStatus() {
  std::string field = std::move(invalid_utf8_field);
  invalid_utf8_field.clear();
  if (field.empty()) {
    return absl::InvalidArgumentError("request: not a valid message for this method");
  }
  return absl::InvalidArgumentError(
      absl::StrCat(absl::StripPrefix(field, "tessera.v1."), ": not valid UTF-8"));
}

}  // namespace tessera
