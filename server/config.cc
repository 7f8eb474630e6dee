#include "server/config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/credentials.h"
#include "core/encoding.h"

extern char** environ;

namespace tessera {
namespace {

absl::Status Bad(const SettingSpec& s, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("config: --", s.flag, " (", s.env, "): ", why));
}

const SettingSpec* Find(absl::string_view flag) {
  for (const auto& s : SettingSpecs()) {
    if (flag == s.flag) return &s;
  }
  return nullptr;
}

class Values {
 public:
  Values(const SettingFlags& flags, const std::map<std::string, std::string>& env)
      : flags_(flags), env_(env) {}

  // Flag, else environment, else default.
  std::string Get(const SettingSpec& s) const {
    if (auto it = flags_.find(s.flag); it != flags_.end()) return it->second;
    if (auto it = env_.find(s.env); it != env_.end()) return it->second;
    return s.default_value;
  }
  bool IsSet(const SettingSpec& s) const {
    return flags_.count(s.flag) > 0 || env_.count(s.env) > 0;
  }

 private:
  const SettingFlags& flags_;
  const std::map<std::string, std::string>& env_;
};

const SettingSpec& Spec(absl::string_view flag) { return *Find(flag); }

// A prefix for the headers Check sets, whose namesakes from the client it also removes: an
// extension header's own namespace ("x-" words "-"), so that it never covers a standard header,
// the credential's (x-api-secret), or one that the proxy or tracing rely on.
bool IsHeaderPrefix(absl::string_view p) {
  if (p.size() < 4 || p.size() > 32 || !absl::StartsWith(p, "x-") || !absl::EndsWith(p, "-")) {
    return false;
  }
  char before = '-';
  for (char c : p.substr(2)) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
    if (c == '-' && before == '-') return false;
    before = c;
  }
  for (absl::string_view reserved : {"x-envoy-", "x-forwarded-", "x-request-", "x-b3-", "x-api-"}) {
    if (absl::StartsWith(p, reserved)) return false;
  }
  return true;
}

// A number setting, within the bounds the table gives it.
absl::StatusOr<int64_t> Number(const Values& v, const SettingSpec& s) {
  int64_t n = 0;
  std::string text = v.Get(s);
  if (!absl::SimpleAtoi(text, &n)) return Bad(s, absl::StrCat("\"", text, "\" is not a number"));
  if (n < s.min || n > s.max)
    return Bad(s, absl::StrCat("must be between ", s.min, " and ", s.max));
  return n;
}

absl::Status CheckListen(const Values& v, absl::string_view flag) {
  const SettingSpec& s = Spec(flag);
  std::string addr = v.Get(s);
  size_t colon = addr.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(addr).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return Bad(s, absl::StrCat("\"", addr, "\" is not host:port"));
  }
  return absl::OkStatus();
}

// A hex-encoded secret from the value setting or from the file named by the file setting.
absl::StatusOr<std::string> HexSecret(const Values& v, absl::string_view value_flag,
                                      absl::string_view file_flag, size_t min_bytes,
                                      size_t max_bytes) {
  const SettingSpec& value_spec = Spec(value_flag);
  const SettingSpec& file_spec = Spec(file_flag);
  std::string text;
  const SettingSpec* used = &value_spec;
  if (v.IsSet(file_spec)) {
    used = &file_spec;
    std::ifstream in(v.Get(file_spec));
    if (!in) return Bad(file_spec, absl::StrCat("cannot read \"", v.Get(file_spec), "\""));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else {
    text = v.Get(value_spec);
  }
  text = std::string(absl::StripAsciiWhitespace(text));
  if (text.empty()) {
    return Bad(value_spec, absl::StrCat("required (or set --", file_spec.flag, ")"));
  }
  auto raw = HexDecode(absl::AsciiStrToLower(text));
  if (!raw) return Bad(*used, "must be hex");
  if (raw->size() < min_bytes || raw->size() > max_bytes) {
    return Bad(*used, min_bytes == max_bytes
                          ? absl::StrCat("must be exactly ", min_bytes, " bytes (", 2 * min_bytes,
                                         " hex characters)")
                          : absl::StrCat("must be at least ", min_bytes, " bytes (", 2 * min_bytes,
                                         " hex characters)"));
  }
  return *raw;
}

}  // namespace

const std::vector<SettingSpec>& SettingSpecs() {
  static const auto* specs = new std::vector<SettingSpec>{
      {"database_url", "TESSERA_DATABASE_URL", "",
       "PostgreSQL connection URL or key=value string (required)"},
      {"grpc_listen", "TESSERA_GRPC_LISTEN", "127.0.0.1:50051",
       "gRPC listen address (port 0 = any)"},
      {"http_listen", "TESSERA_HTTP_LISTEN", "127.0.0.1:9464",
       "HTTP side port: /healthz, /readyz, /metrics, /.well-known/jwks.json"},
      {"oauth_listen", "TESSERA_OAUTH_LISTEN", "127.0.0.1:8443",
       "OAuth 2.0 port (HTTPS with tls_cert and an https issuer): /oauth2/token, "
       "/oauth2/introspect, /oauth2/revoke, metadata; empty = not served"},
      {"oauth_plaintext", "TESSERA_OAUTH_PLAINTEXT", "false",
       "true: serve the OAuth port without TLS when tls_cert is unset (local development only)"},
      {"http_threads", "TESSERA_HTTP_THREADS", "64",
       "connections the OAuth port serves at once (one thread each)", 1, 4096,
       [](Config& c, int64_t v) { c.http_threads = static_cast<int>(v); }},
      {"issuer", "TESSERA_ISSUER", "tessera",
       "`iss` of access tokens, checked on verification; with the OAuth port, its public URL "
       "(https with TLS)"},
      {"access_token_ttl", "TESSERA_ACCESS_TOKEN_TTL", "900", "access token lifetime, seconds", 10,
       86400, [](Config& c, int64_t v) { c.access_token_ttl = absl::Seconds(v); }},
      {"refresh_token_ttl", "TESSERA_REFRESH_TOKEN_TTL", "2592000",
       "refresh token lifetime, seconds (30 days)", 60, 365LL * 86400,
       [](Config& c, int64_t v) { c.refresh_token_ttl = absl::Seconds(v); }},
      {"refresh_grace", "TESSERA_REFRESH_GRACE", "10",
       "seconds a spent refresh token may be retried for the same child (0 = never)", 0, 300,
       [](Config& c, int64_t v) { c.refresh_grace = absl::Seconds(v); }},
      {"api_key_prefix", "TESSERA_API_KEY_PREFIX", "tsr",
       "prefix of user API tokens (1-16 lowercase letters and digits)"},
      {"service_token_prefix", "TESSERA_SERVICE_TOKEN_PREFIX", "tss",
       "prefix of service tokens (1-16 lowercase letters and digits)"},
      {"signing_key_publish_delay", "TESSERA_SIGNING_KEY_PUBLISH_DELAY", "300",
       "seconds a rotated signing key is published in the JWKS before it signs", 0, 7 * 86400,
       [](Config& c, int64_t v) { c.signing_key_publish_delay = absl::Seconds(v); }},
      {"login_max_failures", "TESSERA_LOGIN_MAX_FAILURES", "5",
       "failed passwords per account (or service-token secrets per key) that lock it out", 1, 1000,
       [](Config& c, int64_t v) { c.login_max_failures = static_cast<int>(v); }},
      {"login_failure_window", "TESSERA_LOGIN_FAILURE_WINDOW", "900",
       "seconds after which failures are forgotten; also the longest lockout", 1, 7 * 86400,
       [](Config& c, int64_t v) { c.login_failure_window = absl::Seconds(v); }},
      {"login_lockout", "TESSERA_LOGIN_LOCKOUT", "60",
       "seconds of the first lockout; doubles with each further failure", 1, 7 * 86400,
       [](Config& c, int64_t v) { c.login_lockout = absl::Seconds(v); }},
      {"peer_max_failures", "TESSERA_PEER_MAX_FAILURES", "20",
       "failed authentications per client address (this replica) that lock the address out", 1,
       100000, [](Config& c, int64_t v) { c.peer_max_failures = static_cast<int>(v); }},
      {"tls_cert", "TESSERA_TLS_CERT", "",
       "PEM certificate chain for TLS on the gRPC port (with tls_key; none = plaintext)"},
      {"tls_key", "TESSERA_TLS_KEY", "", "PEM private key of tls_cert"},
      {"tls_client_ca", "TESSERA_TLS_CLIENT_CA", "",
       "PEM CA bundle: require client certificates it signed (mutual TLS)"},
      {"tls_reload_interval", "TESSERA_TLS_RELOAD_INTERVAL", "10",
       "seconds between checks of the TLS files for rotated ones (no restart needed)", 1, 86400,
       [](Config& c, int64_t v) { c.tls_reload_interval = absl::Seconds(v); }},
      {"introspect_auth", "TESSERA_INTROSPECT_AUTH", "scope",
       "scope: Introspect needs a bearer with tokens:introspect; mtls: a client certificate "
       "is enough"},
      {"ext_authz_auth", "TESSERA_EXT_AUTHZ_AUTH", "scope",
       "who may call Envoy's Authorization/Check: scope (a bearer with tokens:introspect) or mtls "
       "(a client certificate is enough)"},
      {"ext_authz_header_prefix", "TESSERA_EXT_AUTHZ_HEADER_PREFIX", "x-tessera-",
       "prefix of the headers Check adds for the upstream (subject, org-id, scopes, client-id); "
       "the client's own under it are removed (x-...-, a namespace of your own)"},
      {"ext_authz_keep_credential", "TESSERA_EXT_AUTHZ_KEEP_CREDENTIAL", "false",
       "true: the upstream also gets the request's authorization and x-api-secret headers"},
      {"signing_alg", "TESSERA_SIGNING_ALG", "ES256",
       "algorithm of new signing keys: ES256, RS256 or EdDSA"},
      {"key_encryption_key", "TESSERA_KEY_ENCRYPTION_KEY", "",
       "32 bytes as 64 hex characters; seals signing private keys (AES-256-GCM)"},
      {"key_encryption_key_file", "TESSERA_KEY_ENCRYPTION_KEY_FILE", "",
       "file holding the key-encryption key (instead of the value)"},
      {"pepper", "TESSERA_PEPPER", "",
       "at least 32 bytes as hex; HMAC key for stored token and secret digests"},
      {"pepper_file", "TESSERA_PEPPER_FILE", "", "file holding the pepper (instead of the value)"},
      {"password_threads", "TESSERA_PASSWORD_THREADS", "0",
       "threads hashing passwords (Argon2id); 0 = one per core", 0, 256,
       [](Config& c, int64_t v) {
         c.password_threads =
             v == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))
                    : static_cast<int>(v);
       }},
      {"password_queue", "TESSERA_PASSWORD_QUEUE", "64",
       "password hashes waiting before logins fail fast with RESOURCE_EXHAUSTED", 1, 100000,
       [](Config& c, int64_t v) { c.password_queue = static_cast<int>(v); }},
      {"argon2_memory_kib", "TESSERA_ARGON2_MEMORY_KIB", "19456", "Argon2id memory cost, KiB", 8,
       4 * 1024 * 1024,
       [](Config& c, int64_t v) { c.argon2.memory_kib = static_cast<uint32_t>(v); }},
      {"argon2_iterations", "TESSERA_ARGON2_ITERATIONS", "2", "Argon2id time cost", 1, 100,
       [](Config& c, int64_t v) { c.argon2.iterations = static_cast<uint32_t>(v); }},
      {"db_pool_size", "TESSERA_DB_POOL_SIZE", "8", "PostgreSQL connections per replica", 1, 1000,
       [](Config& c, int64_t v) { c.db_pool_size = static_cast<int>(v); }},
      {"group_commit_max_batch", "TESSERA_GROUP_COMMIT_MAX_BATCH", "32",
       "refresh rotations (or access-token revocations) committed in one transaction at most", 1,
       1000, [](Config& c, int64_t v) { c.group_commit_max_batch = static_cast<int>(v); }},
      {"group_commit_max_delay_us", "TESSERA_GROUP_COMMIT_MAX_DELAY_US", "0",
       "microseconds a group commit waits for a fuller batch; 0: never (a lone call commits at "
       "once, and batches form from the calls that queue while a commit is in flight)",
       0, 100000, [](Config& c, int64_t v) { c.group_commit_max_delay = absl::Microseconds(v); }},
      {"group_commit_writers", "TESSERA_GROUP_COMMIT_WRITERS", "2",
       "group commits of one kind in flight at once, each on a connection of the pool", 1, 64,
       [](Config& c, int64_t v) { c.group_commit_writers = static_cast<int>(v); }},
      {"health_interval", "TESSERA_HEALTH_INTERVAL", "1", "seconds between database health probes",
       1, 3600, [](Config& c, int64_t v) { c.health_interval = absl::Seconds(v); }},
      {"shutdown_grace", "TESSERA_SHUTDOWN_GRACE", "10",
       "seconds in-flight RPCs get to finish after SIGTERM", 0, 3600,
       [](Config& c, int64_t v) { c.shutdown_grace = absl::Seconds(v); }},
      {"startup_timeout", "TESSERA_STARTUP_TIMEOUT", "60",
       "seconds `serve` waits for the database at start before giving up", 0, 3600,
       [](Config& c, int64_t v) { c.startup_timeout = absl::Seconds(v); }},
      {"log_level", "TESSERA_LOG_LEVEL", "info", "debug, info, warning or error"},
  };
  return *specs;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    absl::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

void AddSettings(CLI::App& command, SettingFlags& flags) {
  for (const SettingSpec& spec : SettingSpecs()) {
    std::string flag = spec.flag;
    std::string description = absl::StrCat(
        spec.help, " [", spec.env,
        *spec.default_value ? absl::StrCat(", default ", spec.default_value) : "", "]");
    command
        .add_option_function<std::string>(
            "--" + flag, [&flags, flag](const std::string& value) { flags[flag] = value; },
            description)
        ->take_last();  // given twice, the last one wins
  }
}

std::vector<std::string> TakeEmptySettings(std::vector<std::string> args, SettingFlags& flags,
                                           size_t first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (i >= first && absl::StartsWith(a, "--") && absl::EndsWith(a, "=") &&
        Find(a.substr(2, a.size() - 3)) != nullptr) {
      flags[std::string(a.substr(2, a.size() - 3))] = "";
      continue;
    }
    out.push_back(std::move(args[i]));
  }
  return out;
}

absl::StatusOr<Config> ParseConfig(const std::vector<std::string>& args,
                                   const std::map<std::string, std::string>& env, Needs needs) {
  CLI::App command("tessera", "tessera");
  SettingFlags flags;
  AddSettings(command, flags);
  std::vector<std::string> rest = TakeEmptySettings(args, flags);
  std::vector<std::string> reversed(rest.rbegin(), rest.rend());  // CLI11 takes them last first
  try {
    command.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", e.what()));
  }
  return BuildConfig(flags, env, needs);
}

Config DefaultConfig() {
  auto c = BuildConfig({}, {}, Needs::kNothing);
  // The table's defaults pass its own checks; a failure here is a broken table.
  if (!c.ok()) std::abort();
  return *std::move(c);
}

absl::StatusOr<Config> BuildConfig(const SettingFlags& flags,
                                   const std::map<std::string, std::string>& env, Needs needs) {
  Values v(flags, env);
  Config c;
  for (const SettingSpec& spec : SettingSpecs()) {
    if (spec.assign == nullptr) continue;
    auto n = Number(v, spec);
    if (!n.ok()) return n.status();
    spec.assign(c, *n);
  }

  c.database_url = v.Get(Spec("database_url"));
  if (c.database_url.empty() && needs != Needs::kNothing) {
    return Bad(Spec("database_url"), "required");
  }
  if (auto s = CheckListen(v, "grpc_listen"); !s.ok()) return s;
  if (auto s = CheckListen(v, "http_listen"); !s.ok()) return s;
  c.grpc_listen = v.Get(Spec("grpc_listen"));
  c.http_listen = v.Get(Spec("http_listen"));
  c.issuer = v.Get(Spec("issuer"));
  if (c.issuer.empty() || c.issuer.size() > 256) return Bad(Spec("issuer"), "1 to 256 characters");
  c.oauth_listen = v.Get(Spec("oauth_listen"));
  if (!c.oauth_listen.empty()) {
    if (auto s = CheckListen(v, "oauth_listen"); !s.ok()) return s;
  }
  std::string plaintext = v.Get(Spec("oauth_plaintext"));
  if (plaintext != "true" && plaintext != "false") {
    return Bad(Spec("oauth_plaintext"), "true or false");
  }
  c.oauth_plaintext = plaintext == "true";

  c.api_key_prefix = v.Get(Spec("api_key_prefix"));
  c.service_token_prefix = v.Get(Spec("service_token_prefix"));
  for (const char* name : {"api_key_prefix", "service_token_prefix"}) {
    if (!IsValidApiKeyPrefix(v.Get(Spec(name)))) {
      return Bad(Spec(name), "1 to 16 lowercase letters and digits, not \"rt\"");
    }
  }
  if (c.api_key_prefix == c.service_token_prefix) {
    return Bad(Spec("service_token_prefix"), "must differ from api_key_prefix");
  }
  if (c.login_lockout > c.login_failure_window) {
    return Bad(Spec("login_lockout"), "must not exceed login_failure_window");
  }

  c.tls_cert = v.Get(Spec("tls_cert"));
  c.tls_key = v.Get(Spec("tls_key"));
  c.tls_client_ca = v.Get(Spec("tls_client_ca"));
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return Bad(Spec(c.tls_cert.empty() ? "tls_cert" : "tls_key"),
               "tls_cert and tls_key go together");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    return Bad(Spec("tls_client_ca"), "needs tls_cert and tls_key (mutual TLS is TLS first)");
  }
  // Plaintext OAuth is asked for by name: its metadata names the endpoints by the issuer's URL.
  if (c.tls_cert.empty() && c.oauth_served() && !absl::StartsWith(c.issuer, "https://") &&
      !absl::StartsWith(c.issuer, "http://")) {
    return Bad(Spec("issuer"),
               "must be an http(s):// URL with oauth_plaintext: the OAuth metadata names it");
  }
  for (auto [flag, field] : {std::pair{"introspect_auth", &c.introspect_auth},
                             std::pair{"ext_authz_auth", &c.ext_authz_auth}}) {
    std::string auth = v.Get(Spec(flag));
    if (auth == "mtls") {
      if (c.tls_client_ca.empty()) return Bad(Spec(flag), "mtls needs tls_client_ca");
      *field = Config::RelayAuth::kMtls;
    } else if (auth == "scope") {
      *field = Config::RelayAuth::kScope;
    } else {
      return Bad(Spec(flag), "one of scope, mtls");
    }
  }
  c.ext_authz_header_prefix = v.Get(Spec("ext_authz_header_prefix"));
  if (!IsHeaderPrefix(c.ext_authz_header_prefix)) {
    return Bad(Spec("ext_authz_header_prefix"),
               "x-, then lowercase words joined by '-', then '-' (at most 32 characters), not "
               "x-envoy-, x-forwarded-, x-request-, x-b3- or x-api-");
  }
  std::string keep = v.Get(Spec("ext_authz_keep_credential"));
  if (keep != "true" && keep != "false") {
    return Bad(Spec("ext_authz_keep_credential"), "true or false");
  }
  c.ext_authz_keep_credential = keep == "true";

  auto alg = ParseSigningAlg(v.Get(Spec("signing_alg")));
  if (!alg.ok()) return Bad(Spec("signing_alg"), alg.status().message());
  c.signing_alg = *alg;

  if (needs == Needs::kDatabaseAndSecrets) {
    auto kek = HexSecret(v, "key_encryption_key", "key_encryption_key_file", 32, 32);
    if (!kek.ok()) return kek.status();
    c.key_encryption_key = *std::move(kek);
    auto pepper = HexSecret(v, "pepper", "pepper_file", 32, 1024);
    if (!pepper.ok()) return pepper.status();
    c.pepper = *std::move(pepper);
  }
  if (!ParseLogLevel(v.Get(Spec("log_level")), &c.log_level)) {
    return Bad(Spec("log_level"), "debug, info, warning or error");
  }
  return c;
}

}  // namespace tessera
