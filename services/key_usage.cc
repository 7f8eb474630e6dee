#include "services/key_usage.h"

#include "absl/hash/hash.h"

namespace tessera {

KeyUsage::Shard& KeyUsage::ShardFor(const std::string& key_id) {
  return shards_[absl::Hash<std::string>()(key_id) % shards_.size()];
}

void KeyUsage::Note(const std::string& org_id, const std::string& key_id, absl::Time now) {
  Shard& shard = ShardFor(key_id);
  MutexLock l(&shard.mu);
  Entry& e = shard.keys[key_id];
  if (now - e.last_written < interval_ || e.pending > e.last_written) return;
  e.org_id = org_id;
  e.pending = now;
}

std::vector<KeyUse> KeyUsage::TakePending() {
  std::vector<KeyUse> out;
  for (Shard& shard : shards_) {
    MutexLock l(&shard.mu);
    for (auto& [id, e] : shard.keys) {
      if (e.pending > e.last_written) {
        out.push_back(KeyUse{.org_id = e.org_id, .id = id, .at = e.pending});
        e.last_written = e.pending;
      }
    }
  }
  return out;
}

absl::Status KeyUsage::Flush(ApiKeyStore& store) {
  std::vector<KeyUse> uses = TakePending();
  absl::Status s = store.RecordUse(uses);
  if (!s.ok()) {
    for (const KeyUse& u : uses) {
      Shard& shard = ShardFor(u.id);
      MutexLock l(&shard.mu);
      Entry& e = shard.keys[u.id];
      e.last_written = absl::InfinitePast();
      e.pending = std::max(e.pending, u.at);
    }
  }
  return s;
}

}  // namespace tessera
