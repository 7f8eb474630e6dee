// ApiKeyLogic: creating, listing, revoking and rotating the secrets of user API tokens and
// service tokens, free of gRPC. Keys and secrets are generated here, returned once, and handed
// to storage only as peppered digests. Every call is confined to the caller's organization: a
// key of another organization is NOT_FOUND.
#ifndef TESSERA_SERVICES_API_KEY_LOGIC_H_
#define TESSERA_SERVICES_API_KEY_LOGIC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/secret_digest.h"
#include "services/auth_snapshot.h"
#include "services/principal.h"
#include "storage/api_key_store.h"

namespace tessera {

struct ApiKeyOptions {
  std::string user_token_prefix = "tsr";
  std::string service_token_prefix = "tss";
  absl::Duration max_overlap = absl::Hours(24 * 7);
};

struct NewApiKeyInput {
  std::string account_id;  // empty: the caller's own account
  std::string name;
  ApiKeyKind kind = ApiKeyKind::kUserToken;
  std::vector<std::string> scopes;  // service tokens; empty = admin
  int64_t ttl_seconds = 0;          // 0 = no expiry
};

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;     // shown this once
  std::string secret;  // service tokens; shown this once
};

struct RotatedSecret {
  std::string secret;  // shown this once
  absl::Time previous_valid_until;
};

class ApiKeyLogic {
 public:
  ApiKeyLogic(const Clock& clock, ApiKeyOptions options, const SecretDigester& digester,
              ApiKeyStore& store, AuthSnapshot& snapshot);

  // For one's own account: any caller. For another account of the org: api_keys:write. Either
  // way the caller must hold every scope the account holds (a key acts as it), and a service
  // token's scopes must each be held by its account and by the caller.
  absl::StatusOr<CreatedApiKey> Create(const Principal& caller, const CallContext& call,
                                       const NewApiKeyInput& in);
  // One's own keys: any caller; another account's or the whole org's (`account_id` empty with
  // api_keys:read): api_keys:read.
  absl::StatusOr<std::vector<ApiKeyInfo>> List(const Principal& caller,
                                               const std::string& account_id);
  // By ID. Unknown (or another organization's): NOT_FOUND; already revoked: OK. Another
  // account's key needs tokens:revoke and every scope that account holds.
  absl::Status RevokeById(const Principal& caller, const CallContext& call,
                          absl::string_view api_key_id);
  // By the key itself (RFC 7009: an unknown key succeeds).
  absl::Status RevokeByKey(const Principal& caller, const CallContext& call, absl::string_view key);
  // A new secret for a service token; the old one keeps working `overlap` longer (0: stops now).
  // The key's owner or api_keys:write, holding all the key's account and scopes hold.
  absl::StatusOr<RotatedSecret> RotateSecret(const Principal& caller, const CallContext& call,
                                             absl::string_view api_key_id, int64_t overlap_seconds);

 private:
  // Own keys need nothing; another account's need tokens:revoke and authority over it.
  absl::Status MayRevoke(const Principal& caller, const ApiKeyInfo& key) const;

  const Clock& clock_;
  ApiKeyOptions options_;
  const SecretDigester& digester_;
  ApiKeyStore& store_;
  AuthSnapshot& snapshot_;
};

}  // namespace tessera

#endif  // TESSERA_SERVICES_API_KEY_LOGIC_H_
