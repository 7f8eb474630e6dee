// Fuzzes the change-feed decoder: every payload on the channel `tessera_changes` reaches it, and
// anyone who can connect to the database can send one. What it accepts must be a change the
// encoder could have written (plain-token IDs, the IDs its kind needs) and must survive being
// encoded and decoded again unchanged; everything else is refused, never crashed on.
#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>

#include "storage/change_feed.h"

namespace {

// The encoder's alphabet for IDs, said independently of the decoder's own check.
bool PlainToken(const std::string& s) {
  static const std::regex* const kPlain = new std::regex("[A-Za-z0-9._-]{1,128}");
  return std::regex_match(s, *kPlain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto change = tessera::DecodeChange(in);
  if (!change.ok()) return 0;
  using tessera::ChangeKind;
  const bool keys = change->kind == ChangeKind::kSigningKeys;
  const bool marker = change->kind == ChangeKind::kMarker;
  if (!keys && !marker && !PlainToken(change->org_id)) __builtin_trap();
  if (!keys && !PlainToken(change->id)) __builtin_trap();
  if (!change->org_id.empty() && !PlainToken(change->org_id)) __builtin_trap();
  if (!change->id.empty() && !PlainToken(change->id)) __builtin_trap();
  auto again = tessera::DecodeChange(tessera::EncodeChange(*change));
  if (!again.ok() || again->kind != change->kind || again->org_id != change->org_id ||
      again->id != change->id || again->expires_at != change->expires_at ||
      again->sent_at != change->sent_at) {
    __builtin_trap();
  }
  return 0;
}
