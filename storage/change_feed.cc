#include "storage/change_feed.h"

#include <iterator>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tessera {
namespace {

constexpr absl::string_view kKindNames[] = {"account", "jti", "family", "keys", "apikey", "marker"};

// IDs travel inside a space-separated line, so they must be plain tokens.
bool IsPlainToken(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string EncodeChange(const Change& c) {
  auto field = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  return absl::StrCat("v1 ", kKindNames[static_cast<int>(c.kind)], " ", field(c.org_id), " ",
                      field(c.id), " ", absl::ToUnixMicros(c.expires_at), " ",
                      absl::ToUnixMicros(c.sent_at));
}

absl::StatusOr<Change> DecodeChange(absl::string_view payload) {
  std::vector<absl::string_view> f = absl::StrSplit(payload, ' ');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("change payload: malformed \"", payload.substr(0, 200), "\""));
  };
  if (f.size() != 6 || f[0] != "v1") return bad();
  Change c;
  bool known = false;
  for (int i = 0; i < static_cast<int>(std::size(kKindNames)); ++i) {
    if (f[1] == kKindNames[i]) {
      c.kind = static_cast<ChangeKind>(i);
      known = true;
    }
  }
  if (!known) return bad();
  if (!IsPlainToken(f[2]) || !IsPlainToken(f[3])) return bad();
  if (f[2] != "-") c.org_id = std::string(f[2]);
  if (f[3] != "-") c.id = std::string(f[3]);
  int64_t expires_us = 0, sent_us = 0;
  if (!absl::SimpleAtoi(f[4], &expires_us) || !absl::SimpleAtoi(f[5], &sent_us)) return bad();
  c.expires_at = absl::FromUnixMicros(expires_us);
  c.sent_at = absl::FromUnixMicros(sent_us);
  bool needs_org = c.kind != ChangeKind::kSigningKeys && c.kind != ChangeKind::kMarker;
  bool needs_id = c.kind != ChangeKind::kSigningKeys;
  if ((needs_org && c.org_id.empty()) || (needs_id && c.id.empty())) return bad();
  return c;
}

}  // namespace tessera
