// CallNotes: who made each RPC in flight, for its log line. The gRPC interceptor opens a note
// when a call arrives and closes it when the status goes out; in between, the handler records
// the caller it authenticated (or the principal it logged in). Keyed by the call's context and
// sharded, so concurrent calls rarely share a lock.
#ifndef TESSERA_SERVER_GRPC_CALL_NOTES_H_
#define TESSERA_SERVER_GRPC_CALL_NOTES_H_

#include <array>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "core/sync.h"

namespace tessera {

class CallNotes {
 public:
  struct Note {
    std::string org_id;
    std::string principal_id;
  };
  void Open(const void* call);
  // Ignored for a call that is not open (no interceptor, e.g. in unit tests).
  void Record(const void* call, absl::string_view org_id, absl::string_view principal_id);
  Note Close(const void* call);

 private:
  struct Shard {
    Mutex mu;
    absl::flat_hash_map<const void*, Note> notes ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(const void* call);
  std::array<Shard, 16> shards_;
};

}  // namespace tessera

#endif  // TESSERA_SERVER_GRPC_CALL_NOTES_H_
