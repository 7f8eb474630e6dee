// `tessera bootstrap`: creates the first (platform) organization and its admin service account,
// idempotently, and reports the generated credentials once.
#ifndef TESSERA_SERVER_BOOTSTRAP_H_
#define TESSERA_SERVER_BOOTSTRAP_H_

#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "server/config.h"

namespace tessera {

struct BootstrapResult {
  bool created = false;
  std::string org_id;
  std::string org_slug;
  std::string account_id;
  std::string username;
  std::string password;  // only when created
};

absl::StatusOr<BootstrapResult> RunBootstrap(const Config& config, const Clock& clock,
                                             const std::string& org_slug,
                                             const std::string& org_name,
                                             const std::string& admin_username);

}  // namespace tessera

#endif  // TESSERA_SERVER_BOOTSTRAP_H_
