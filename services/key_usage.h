// KeyUsage: when each API key was last used, written coalesced. Authentication notes a use in
// memory (a sharded map, so request threads rarely share a lock); Flush() writes the pending
// uses in one statement, off the request path. A key is written at most once per `interval`
// per replica, however often it is used.
#ifndef TESSERA_SERVICES_KEY_USAGE_H_
#define TESSERA_SERVICES_KEY_USAGE_H_

#include <array>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "core/sync.h"
#include "storage/api_key_store.h"

namespace tessera {

class KeyUsage {
 public:
  explicit KeyUsage(absl::Duration interval = absl::Minutes(1)) : interval_(interval) {}

  void Note(const std::string& org_id, const std::string& key_id, absl::Time now);
  // The uses noted since the last call, at most one per key.
  std::vector<KeyUse> TakePending();
  // Writes TakePending() to `store`; on failure they are noted again for the next flush.
  absl::Status Flush(ApiKeyStore& store);

 private:
  struct Entry {
    std::string org_id;
    absl::Time last_written = absl::InfinitePast();
    absl::Time pending = absl::InfinitePast();  // > last_written: not yet written
  };
  struct Shard {
    Mutex mu;
    absl::flat_hash_map<std::string, Entry> keys ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(const std::string& key_id);

  const absl::Duration interval_;
  std::array<Shard, 16> shards_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_KEY_USAGE_H_
