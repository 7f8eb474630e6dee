#include "services/refusal.h"

#include "absl/strings/cord.h"

namespace tessera {
namespace {

constexpr char kReasonPayload[] = "tessera/refusal";
constexpr char kReusePayload[] = "tessera/refresh-reuse";

}  // namespace

absl::Status MarkRefused(absl::Status status, RefusalReason reason, bool reused) {
  status.SetPayload(kReasonPayload,
                    absl::Cord(std::string(1, static_cast<char>('0' + static_cast<int>(reason)))));
  if (reused) status.SetPayload(kReusePayload, absl::Cord("1"));
  return status;
}

std::optional<RefusalReason> RefusalOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  if (!payload.has_value() || payload->size() != 1) return std::nullopt;
  int n = payload->Flatten()[0] - '0';
  if (n < 0 || n > static_cast<int>(RefusalReason::kInvalidBearer)) return std::nullopt;
  return static_cast<RefusalReason>(n);
}

bool IsRefreshReuse(const absl::Status& status) {
  return status.GetPayload(kReusePayload).has_value();
}

}  // namespace tessera
