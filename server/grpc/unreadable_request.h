// Unreadable requests: a request gRPC could not parse never reaches a handler, and gRPC answers
// it INTERNAL with no detail. That is the caller's error, not ours, and a string field holding
// invalid UTF-8 (which proto3 refuses while parsing) is the usual cause. The server interceptor
// (rpc_metrics.cc) turns that answer into INVALID_ARGUMENT naming the field, which it learns from
// protobuf's own log line about it, caught by the handler installed here on the parsing thread.
#ifndef TESSERA_SERVER_GRPC_UNREADABLE_REQUEST_H_
#define TESSERA_SERVER_GRPC_UNREADABLE_REQUEST_H_

#include <string>

#include "absl/status/status.h"

namespace tessera {

// Routes protobuf's log lines into tessera's JSON log and notes, for the calling thread, the
// field of an invalid-UTF-8 parse error. Idempotent; call before serving.
void InstallProtobufLogHandler();

// The status for a request that failed to parse on this thread: INVALID_ARGUMENT naming the
// string field that held invalid UTF-8 if protobuf reported one, else naming the request.
// Clears what was noted.
absl::Status UnreadableRequestStatus();

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_UNREADABLE_REQUEST_H_
