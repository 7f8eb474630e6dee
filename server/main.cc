// The tessera binary: `serve`, `migrate`, `bootstrap`, `version`, as CLI11 subcommands, each
// taking every setting of the table (server/config.h).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/log.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "server/config.h"
#include "storage/migrator.h"

namespace tessera {
namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "tessera: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Serve(const SettingFlags& flags) {
  // Block the stop signals in every thread; this thread waits for them with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  SetLogStream(stdout);  // a server's log is its output; one-shot commands keep stdout for JSON

  auto config = BuildConfig(flags, ProcessEnvironment(), Needs::kDatabaseAndSecrets);
  if (!config.ok()) return Fail(config.status());
  RealClock clock;
  ServerApp app(*config, clock);
  if (auto s = app.Start(); !s.ok()) return Fail(s);
  int sig = 0;
  sigwait(&stop, &sig);
  Log(LogLevel::kInfo, "draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  app.Shutdown(config->shutdown_grace);
  return 0;
}

int Migrate(const SettingFlags& flags) {
  auto config = BuildConfig(flags, ProcessEnvironment(), Needs::kDatabase);
  if (!config.ok()) return Fail(config.status());
  auto applied = MigrateDatabase(config->database_url);
  if (!applied.ok()) return Fail(applied.status());
  std::cout << nlohmann::json{{"applied", *applied}}.dump() << std::endl;
  return 0;
}

struct BootstrapArgs {
  std::string org, admin, org_name;
};

int Bootstrap(const SettingFlags& flags, const BootstrapArgs& args) {
  auto config = BuildConfig(flags, ProcessEnvironment(), Needs::kDatabase);
  if (!config.ok()) return Fail(config.status());
  const std::string& org = args.org;
  const std::string& admin = args.admin;
  std::string org_name = args.org_name.empty() ? org : args.org_name;
  RealClock clock;
  auto result = RunBootstrap(*config, clock, org, org_name, admin);
  if (!result.ok()) return Fail(result.status());
  if (!result->created) {
    std::fprintf(stderr,
                 "tessera: organization \"%s\" already exists; its admin credentials were "
                 "printed when it was created and are not shown again\n",
                 result->org_slug.c_str());
    std::cout << nlohmann::json{{"org_id", result->org_id},
                                {"org_slug", result->org_slug},
                                {"already_exists", true}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::cout << nlohmann::json{{"org_id", result->org_id},
                              {"org_slug", result->org_slug},
                              {"account_id", result->account_id},
                              {"username", result->username},
                              {"password", result->password}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace
}  // namespace tessera

int main(int argc, char** argv) {
  using tessera::SettingFlags;
  CLI::App app("tessera: identity and token service", "tessera");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tessera ") + tessera::kTesseraVersion);
  app.footer("Every setting is also an environment variable (shown in brackets); a flag wins.");
  SettingFlags flags;
  int rc = 0;
  auto* serve = app.add_subcommand("serve", "the service (migrates at start, under a lock)");
  tessera::AddSettings(*serve, flags);
  serve->callback([&] { rc = tessera::Serve(flags); });
  auto* migrate =
      app.add_subcommand("migrate", "apply the embedded migrations, print {\"applied\": N}");
  tessera::AddSettings(*migrate, flags);
  migrate->callback([&] { rc = tessera::Migrate(flags); });
  tessera::BootstrapArgs boot;
  auto* bootstrap = app.add_subcommand(
      "bootstrap", "first run: create the platform organization and its admin, print the password");
  bootstrap->add_option("--org", boot.org, "slug of the organization")->required();
  bootstrap->add_option("--admin", boot.admin, "username of its admin")->required();
  bootstrap->add_option("--org_name", boot.org_name, "display name (default: the slug)");
  tessera::AddSettings(*bootstrap, flags);
  bootstrap->callback([&] { rc = tessera::Bootstrap(flags, boot); });
  app.add_subcommand("version", "print the version")->callback([] {
    std::printf("tessera %s\n", tessera::kTesseraVersion);
  });
  app.add_subcommand("help", "print this help")->callback([&] {
    std::cout << app.get_formatter()->make_help(&app, "tessera", CLI::AppFormatMode::Normal);
  });
  if (argc >= 2 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      std::fprintf(stderr, "tessera: unknown command \"%s\"\n%s", argv[1], app.help().c_str());
      return 2;
    }
  }
  // Empty settings first (see TakeEmptySettings); CLI11 wants the rest last first.
  std::vector<std::string> args =
      tessera::TakeEmptySettings({argv + 1, argv + argc}, flags, /*first=*/1);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as it always has.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return rc;
}
