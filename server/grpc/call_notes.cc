#include "server/grpc/call_notes.h"

#include <cstdint>

namespace tessera {

CallNotes::Shard& CallNotes::ShardFor(const void* call) {
  // Contexts are heap objects: drop the alignment bits before picking a shard.
  auto bits = reinterpret_cast<uintptr_t>(call) >> 4;
  return shards_[(bits ^ (bits >> 7)) % shards_.size()];
}

void CallNotes::Open(const void* call) {
  Shard& s = ShardFor(call);
  MutexLock lock(&s.mu);
  s.notes[call] = Note{};
}

void CallNotes::Record(const void* call, absl::string_view org_id, absl::string_view principal_id) {
  Shard& s = ShardFor(call);
  MutexLock lock(&s.mu);
  auto it = s.notes.find(call);
  if (it == s.notes.end()) return;
  it->second.org_id = std::string(org_id);
  it->second.principal_id = std::string(principal_id);
}

CallNotes::Note CallNotes::Close(const void* call) {
  Shard& s = ShardFor(call);
  MutexLock lock(&s.mu);
  auto it = s.notes.find(call);
  if (it == s.notes.end()) return {};
  Note out = std::move(it->second);
  s.notes.erase(it);
  return out;
}

}  // namespace tessera
