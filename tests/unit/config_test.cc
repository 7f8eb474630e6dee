// Configuration: precedence (flag > env > default) and errors that name the setting.
#include "server/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/tls_files.h"

namespace tessera {
namespace {

const std::string kKek(64, 'a');
const std::string kPepper(64, 'b');

std::map<std::string, std::string> Env() {
  return {{"TESSERA_DATABASE_URL", "postgresql://x/y"},
          {"TESSERA_KEY_ENCRYPTION_KEY", kKek},
          {"TESSERA_PEPPER", kPepper}};
}

TEST(ConfigTest, DefaultsFromTheTable) {
  auto c = ParseConfig({}, Env(), Needs::kDatabaseAndSecrets);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_listen, "127.0.0.1:50051");
  EXPECT_EQ(c->http_listen, "127.0.0.1:9464");
  EXPECT_EQ(c->access_token_ttl, absl::Seconds(900));
  EXPECT_EQ(c->signing_alg, SigningAlg::kES256);
  EXPECT_EQ(c->argon2.memory_kib, 19456u);
  EXPECT_EQ(c->key_encryption_key.size(), 32u);
  EXPECT_EQ(c->api_key_prefix, "tsr");
  EXPECT_EQ(c->service_token_prefix, "tss");
  EXPECT_EQ(c->signing_key_publish_delay, absl::Minutes(5));
}

TEST(ConfigTest, FlagBeatsEnvironment) {
  auto env = Env();
  env["TESSERA_SIGNING_ALG"] = "RS256";
  auto c = ParseConfig({"--signing_alg=EdDSA", "--access_token_ttl", "60"}, env,
                       Needs::kDatabaseAndSecrets);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->signing_alg, SigningAlg::kEdDSA);
  EXPECT_EQ(c->access_token_ttl, absl::Seconds(60));
  c = ParseConfig({}, env, Needs::kDatabaseAndSecrets);
  EXPECT_EQ(c->signing_alg, SigningAlg::kRS256);
}

void ExpectErrorNaming(const std::vector<std::string>& args, std::map<std::string, std::string> env,
                       const std::string& setting) {
  auto c = ParseConfig(args, env, Needs::kDatabaseAndSecrets);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(setting), std::string::npos) << c.status();
}

TEST(ConfigTest, BadOrMissingSettingsNameTheSetting) {
  auto env = Env();
  env.erase("TESSERA_DATABASE_URL");
  ExpectErrorNaming({}, env, "database_url");
  env = Env();
  env.erase("TESSERA_PEPPER");
  ExpectErrorNaming({}, env, "pepper");
  ExpectErrorNaming({"--key_encryption_key=abcd"}, Env(), "key_encryption_key");
  ExpectErrorNaming({"--key_encryption_key=" + std::string(64, 'z')}, Env(), "key_encryption_key");
  ExpectErrorNaming({"--api_key_prefix=rt"}, Env(), "api_key_prefix");  // refresh tokens' own
  ExpectErrorNaming({"--service_token_prefix=Has_Caps"}, Env(), "service_token_prefix");
  ExpectErrorNaming({"--service_token_prefix=tsr"}, Env(), "service_token_prefix");
  ExpectErrorNaming({"--signing_key_publish_delay=-1"}, Env(), "signing_key_publish_delay");
  ExpectErrorNaming({"--signing_alg=HS256"}, Env(), "signing_alg");
  ExpectErrorNaming({"--signing_alg=none"}, Env(), "signing_alg");
  ExpectErrorNaming({"--grpc_listen=nowhere"}, Env(), "grpc_listen");
  ExpectErrorNaming({"--access_token_ttl=soon"}, Env(), "access_token_ttl");
  ExpectErrorNaming({"--access_token_ttl=0"}, Env(), "access_token_ttl");
  ExpectErrorNaming({"--log_level=loud"}, Env(), "log_level");
  ExpectErrorNaming({"--no_such_flag=1"}, Env(), "no_such_flag");
  ExpectErrorNaming({"--pepper_file=/nonexistent/pepper"}, Env(), "pepper_file");
  ExpectErrorNaming({"--tls_cert=/x.crt"}, Env(), "tls_key");
  ExpectErrorNaming({"--tls_client_ca=/ca.crt"}, Env(), "tls_client_ca");
  ExpectErrorNaming({"--introspect_auth=mtls"}, Env(), "introspect_auth");
  ExpectErrorNaming({"--introspect_auth=none"}, Env(), "introspect_auth");
  ExpectErrorNaming({"--ext_authz_auth=mtls"}, Env(), "ext_authz_auth");
  ExpectErrorNaming({"--ext_authz_auth=none"}, Env(), "ext_authz_auth");
  ExpectErrorNaming({"--ext_authz_keep_credential=yes"}, Env(), "ext_authz_keep_credential");
  // Not an extension header namespace of its own: x-, words, a closing '-'; nothing that covers
  // the credential's, the proxy's or tracing's headers.
  for (const char* prefix :
       {"", "x", "x-", "X-Tessera-", ":x-", "x tessera-", "-x-", "auth", "xtessera", "x-tessera",
        "x--tessera-", "x-api-", "x-envoy-", "x-forwarded-", "x-request-", "content-"}) {
    ExpectErrorNaming({absl::StrCat("--ext_authz_header_prefix=", prefix)}, Env(),
                      "ext_authz_header_prefix");
  }
  ExpectErrorNaming({"--login_lockout=901"}, Env(), "login_lockout");
  ExpectErrorNaming({"--login_max_failures=0"}, Env(), "login_max_failures");
}

TEST(TlsFilesTest, MissingFilesNameTheSetting) {
  absl::Status s = CheckTlsFiles("/nonexistent/tls.crt", "/nonexistent/tls.key", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--tls_cert"), absl::string_view::npos) << s;
  // Any readable file that is not PEM is refused too.
  s = CheckTlsFiles(std::string(TESSERA_SOURCE_DIR) + "/README.md", "/nonexistent/tls.key", "");
  EXPECT_NE(s.message().find("no PEM certificate"), absl::string_view::npos) << s;
}

// `--name=` is an empty value that overrides the environment (CLI11 alone would take the next
// argument as the value); a setting given twice takes the last.
TEST(ConfigTest, EmptyFlagsOverrideTheEnvironmentAndTheLastFlagWins) {
  auto env = Env();
  env["TESSERA_TLS_CLIENT_CA"] = "/ca.crt";  // alone, refused: mutual TLS needs tls_cert
  auto c = ParseConfig({"--tls_client_ca=", "--issuer=a", "--issuer", "b"}, env,
                       Needs::kDatabaseAndSecrets);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls_client_ca, "");
  EXPECT_EQ(c->issuer, "b");
}

TEST(ConfigTest, MigrateNeedsNoSecrets) {
  auto c = ParseConfig({}, {{"TESSERA_DATABASE_URL", "postgresql://x/y"}}, Needs::kDatabase);
  EXPECT_TRUE(c.ok()) << c.status();
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// The README's settings table is written by hand; it and the program's table must agree row for
// row (flag, variable, default, meaning), so the docs cannot drift from the code.
TEST(ConfigTest, TheReadmeTableIsTheProgramsTable) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in.good());
  std::vector<std::string> readme_rows;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (absl::StartsWith(line, "| flag | environment variable | default | meaning |")) {
      in_table = true;
    } else if (in_table && absl::StartsWith(line, "| `--")) {
      readme_rows.push_back(line);
    } else if (in_table && !absl::StartsWith(line, "|---")) {
      in_table = false;
    }
  }
  std::vector<std::string> program_rows;
  for (const SettingSpec& spec : SettingSpecs()) {
    std::string def = *spec.default_value ? absl::StrCat("`", spec.default_value, "`") : "(none)";
    program_rows.push_back(
        absl::StrCat("| `--", spec.flag, "` | `", spec.env, "` | ", def, " | ", spec.help, " |"));
  }
  ASSERT_EQ(readme_rows.size(), program_rows.size()) << "README.md's table has another row count";
  for (size_t i = 0; i < program_rows.size(); ++i) {
    EXPECT_EQ(readme_rows[i], program_rows[i]) << "row " << i + 1 << " of README.md's table";
  }
}

// Every number is checked against the table's bounds, from a flag and from the environment.
TEST(ConfigTest, NumbersOutOfTheirRangeAreRefusedFromAnySource) {
  for (const SettingSpec& spec : SettingSpecs()) {
    if (spec.assign == nullptr) continue;
    ExpectErrorNaming({absl::StrCat("--", spec.flag, "=", spec.max + 1)}, Env(), spec.flag);
    auto env = Env();
    env[spec.env] = std::to_string(spec.min - 1);
    ExpectErrorNaming({}, env, spec.flag);
    env[spec.env] = std::to_string(spec.min);
    // A lockout may not outlast the window; keep it short when the window is at its least.
    if (std::string(spec.flag) != "login_lockout") env["TESSERA_LOGIN_LOCKOUT"] = "1";
    EXPECT_TRUE(ParseConfig({}, env, Needs::kDatabaseAndSecrets).ok()) << spec.flag;
  }
}

TEST(ConfigTest, DefaultConfigIsTheTablesDefaults) {
  Config c = DefaultConfig();
  EXPECT_EQ(c.db_pool_size, 8);
  EXPECT_EQ(c.password_queue, 64);
  EXPECT_EQ(c.login_max_failures, 5);
  EXPECT_EQ(c.refresh_grace, absl::Seconds(10));
  EXPECT_EQ(c.api_key_prefix, "tsr");
  EXPECT_GE(c.password_threads, 1);  // 0 in the table: one per core
  EXPECT_EQ(c.introspect_auth, Config::RelayAuth::kScope);
  EXPECT_EQ(c.ext_authz_auth, Config::RelayAuth::kScope);
  EXPECT_EQ(c.ext_authz_header_prefix, "x-tessera-");
  EXPECT_FALSE(c.ext_authz_keep_credential);
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// The OAuth port: with TLS only for an https issuer (a deployment without one keeps running
// without the port), without TLS only when asked for by name.
TEST(ConfigTest, TheOAuthPortIsServedOverTlsForAnHttpsIssuerOrInPlaintextWhenAsked) {
  Config c = DefaultConfig();
  EXPECT_FALSE(c.oauth_served());  // no TLS, no oauth_plaintext
  c.oauth_plaintext = true;
  EXPECT_TRUE(c.oauth_served());
  c.oauth_plaintext = false;
  c.tls_cert = "tls.crt";
  EXPECT_FALSE(c.oauth_served());  // the default issuer "tessera" names no URL
  c.issuer = "https://id.example.com";
  EXPECT_TRUE(c.oauth_served());
  c.oauth_listen = "";
  EXPECT_FALSE(c.oauth_served());
  auto plain = ParseConfig({"--oauth_plaintext=true", "--issuer=tessera"}, {}, Needs::kNothing);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("--issuer"), absl::string_view::npos);
}

}  // namespace
}  // namespace tessera
