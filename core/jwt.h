// Access tokens: JWTs per RFC 9068 (header typ "at+jwt", alg, kid; claims iss, sub, aud, exp,
// iat, nbf, jti, client_id, scope, org_id). Encoding signs with a SigningKey; verification finds
// the key by `kid` and accepts only the algorithm that key is for, so `none`, HS* and algorithm
// confusion are refused before any signature math.
#ifndef TESSERA_CORE_JWT_H_
#define TESSERA_CORE_JWT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/signing_key.h"

namespace tessera {

struct AccessTokenClaims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  int64_t exp = 0;
  int64_t iat = 0;
  int64_t nbf = 0;
  std::string jti;
  std::string client_id;
  std::vector<std::string> scopes;  // the `scope` claim, split on spaces
  std::string org_id;
  std::string sid;  // the refresh family (session) the token was minted from; empty if none
  std::string kid;  // from the header: set by VerifyAccessToken, ignored by EncodeAccessToken
};

// Where the verifier looks up a key by `kid`; returns null for an unknown or retired key.
class VerificationKeySource {
 public:
  virtual ~VerificationKeySource() = default;
  virtual std::shared_ptr<const SigningKey> FindVerificationKey(absl::string_view kid,
                                                                absl::Time now) const = 0;
};

// Longest compact JWT accepted; anything longer is refused before it is decoded.
inline constexpr size_t kMaxJwtLength = 8192;

absl::StatusOr<std::string> EncodeAccessToken(const AccessTokenClaims& claims,
                                              const SigningKey& key);

struct VerifyOptions {
  std::string issuer;
  absl::Duration leeway = absl::Seconds(10);
};

// Every failure is UNAUTHENTICATED with a reason meant for logs, not for callers.
absl::StatusOr<AccessTokenClaims> VerifyAccessToken(absl::string_view token,
                                                    const VerificationKeySource& keys,
                                                    absl::Time now, const VerifyOptions& options);

// True when `token` has the shape of a compact JWS (three base64url parts); says nothing about
// validity. Used to route a bearer credential to the right verifier.
bool LooksLikeJwt(absl::string_view token);

}  // namespace tessera

#endif  // TESSERA_CORE_JWT_H_
