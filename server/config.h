// Configuration of the tessera binary: one table of settings (SettingSpecs), each a flag
// (--name=value or --name value, parsed by CLI11) with an environment variable (TESSERA_NAME)
// and one default; a flag wins over the environment, which wins over the default. Every number
// has its range in the table, checked whichever source it came from, and every error names the
// setting at fault. Parsing and checking are separate from main() so tests can reach them.
//
//   CLI::App serve;
//   SettingFlags flags;
//   AddSettings(serve, flags);          // --database_url, --grpc_listen, ...
//   serve.parse(argc, argv);
//   auto config = BuildConfig(flags, ProcessEnvironment(), Needs::kDatabaseAndSecrets);
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

namespace CLI {
class App;
}  // namespace CLI

namespace tessera {

// This build's version, as `tessera version` prints it and tessera_build_info labels it.
inline constexpr char kTesseraVersion[] = "0.1.0";

struct Config;

// One row of the settings table (also rendered by `tessera <command> --help` and, by hand, as
// the README's table, which a test holds to it).
struct SettingSpec {
  const char* flag;
  const char* env;
  const char* default_value;
  const char* help;
  // A number: its bounds, and where it goes. Other settings are checked one by one.
  int64_t min = 0;
  int64_t max = 0;
  void (*assign)(Config&, int64_t) = nullptr;
};

const std::vector<SettingSpec>& SettingSpecs();

// Each member's value comes from the table (DefaultConfig, BuildConfig); none has a default of
// its own here (a number is zero until then), so there is one default per setting.
struct Config {
  std::string database_url;
  std::string grpc_listen;
  std::string http_listen;
  // The OAuth 2.0 port: HTTPS with tls_cert, when the issuer is then an https URL (its public
  // address, which the metadata names; a deployment that has not set one keeps running without
  // the port, and the log says why); without TLS, plaintext only if oauth_plaintext says so.
  std::string oauth_listen;  // empty: not served
  bool oauth_plaintext{};
  int http_threads{};
  bool oauth_served() const {
    if (oauth_listen.empty()) return false;
    if (!tls_cert.empty()) return issuer.rfind("https://", 0) == 0;
    return oauth_plaintext;
  }
  std::string issuer;
  absl::Duration access_token_ttl;
  absl::Duration refresh_token_ttl;
  absl::Duration refresh_grace;
  std::string api_key_prefix;
  std::string service_token_prefix;
  absl::Duration signing_key_publish_delay;
  int login_max_failures{};
  absl::Duration login_failure_window;
  absl::Duration login_lockout;
  int peer_max_failures{};
  // TLS on the gRPC port (both empty: plaintext). The files are watched and reloaded.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;  // set: mutual TLS, every client presents a certificate it signed
  absl::Duration tls_reload_interval;
  // How a service that asks about other clients' credentials (an introspecting service, a proxy
  // calling Check) proves itself: a bearer holding tokens:introspect, or with kMtls a verified
  // client certificate alone.
  enum class RelayAuth { kScope, kMtls };
  RelayAuth introspect_auth{};
  // Envoy's external authorization (Authorization/Check on the gRPC port): who may call it (a
  // bearer with tokens:introspect, or with kMtls a verified client certificate alone), the
  // prefix of the headers that tell the upstream who passed, and whether the upstream also
  // gets the request's credential.
  RelayAuth ext_authz_auth{};
  std::string ext_authz_header_prefix;
  bool ext_authz_keep_credential{};
  SigningAlg signing_alg{};
  std::string key_encryption_key;  // 32 raw bytes
  std::string pepper;              // >= 32 raw bytes
  int password_threads{};
  int password_queue{};
  Argon2Params argon2;
  int db_pool_size{};
  // Group commit of the hot writes (storage/group_commit.h).
  int group_commit_max_batch{};
  absl::Duration group_commit_max_delay{};
  int group_commit_writers{};
  absl::Duration health_interval;
  absl::Duration shutdown_grace;
  absl::Duration startup_timeout;
  LogLevel log_level{};
};

// What a command needs besides the defaults.
enum class Needs { kNothing, kDatabase, kDatabaseAndSecrets };

// The settings given as flags on one command line, by flag name.
using SettingFlags = std::map<std::string, std::string>;

// Adds every setting of the table to `command` as an option whose value lands in `flags`.
void AddSettings(CLI::App& command, SettingFlags& flags);

// Moves each `--setting=` (an empty value, which overrides the environment) from `args` into
// `flags`, from `args[first]` on. CLI11 2.1 reads `--name=` as `--name` and would take the next
// argument as its value; run this on the arguments before CLI11 parses them.
std::vector<std::string> TakeEmptySettings(std::vector<std::string> args, SettingFlags& flags,
                                           size_t first = 0);

// The configuration from `flags`, then `env`, then the table's defaults, checked.
absl::StatusOr<Config> BuildConfig(const SettingFlags& flags,
                                   const std::map<std::string, std::string>& env, Needs needs);

// The table's defaults, unchecked (tests and the benchmark start from it).
Config DefaultConfig();

// AddSettings, parse `args` (flags only, no command), BuildConfig: for tests and one-shot use.
absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env, Needs needs);

// The process environment as a map, for ParseConfig.
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace tessera

#endif  // TESSERA_SERVER_CONFIG_H_
