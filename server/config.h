// Configuration of the tessera binary: every setting is a flag (--name=value or --name value)
// with an environment variable (TESSERA_NAME); a flag wins over the environment, which wins over
// the default. Parsing and validation are separate from main() so tests can reach them, and every
// error names the setting at fault.
#ifndef TESSERA_SERVER_CONFIG_H_
#define TESSERA_SERVER_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/log.h"
#include "core/password_hasher.h"
#include "core/signing_key.h"

namespace tessera {

// This build's version, as `tessera version` prints it and tessera_build_info labels it.
inline constexpr char kTesseraVersion[] = "0.1.0";

// One row of the settings table (also rendered as `tessera help` and the README table).
struct SettingSpec {
  const char* flag;
  const char* env;
  const char* default_value;
  const char* help;
};

const std::vector<SettingSpec>& SettingSpecs();

struct Config {
  std::string database_url;
  std::string grpc_listen;
  std::string http_listen;
  std::string issuer;
  absl::Duration access_token_ttl;
  absl::Duration refresh_token_ttl;
  absl::Duration refresh_grace = absl::Seconds(10);
  std::string api_key_prefix = "tsr";
  std::string service_token_prefix = "tss";
  absl::Duration signing_key_publish_delay = absl::Minutes(5);
  int login_max_failures = 5;
  absl::Duration login_failure_window = absl::Minutes(15);
  absl::Duration login_lockout = absl::Minutes(1);
  int peer_max_failures = 20;
  // TLS on the gRPC port (both empty: plaintext). The files are watched and reloaded.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // set: mutual TLS, every client presents a certificate it signed
  absl::Duration tls_reload_interval = absl::Seconds(10);
  // kMtls: a verified client certificate is enough to call Introspect (no bearer credential).
  enum class IntrospectAuth { kScope, kMtls };
  IntrospectAuth introspect_auth = IntrospectAuth::kScope;
  SigningAlg signing_alg = SigningAlg::kES256;
  std::string key_encryption_key;  // 32 raw bytes
  std::string pepper;              // >= 32 raw bytes
  int password_threads = 1;
  int password_queue = 64;
  Argon2Params argon2;
  int db_pool_size = 8;
  absl::Duration health_interval;
  absl::Duration shutdown_grace;
  absl::Duration startup_timeout;
  LogLevel log_level = LogLevel::kInfo;
};

// What each subcommand needs besides the defaults.
enum class Needs { kDatabase, kDatabaseAndSecrets };

// Parses `args` (flags only, the subcommand already removed) against `env`. Flags not in the
// table are returned in `extra` when `extra` is given (subcommand options), else an error.
absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env, Needs needs,
                                   std::map<std::string, std::string>* extra = nullptr);

// The process environment as a map, for ParseConfig.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace tessera

#endif  // TESSERA_SERVER_CONFIG_H_
