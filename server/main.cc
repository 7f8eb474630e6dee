// The tessera binary: `serve`, `migrate`, `bootstrap`, `version`.
#include <signal.h>

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

void PrintUsage() {
  std::fprintf(stderr,
               "usage: tessera <serve|migrate|bootstrap|version> [--flag=value ...]\n"
               "  bootstrap --org SLUG --admin USERNAME [--org_name NAME]\n\n"
               "settings (flag / environment variable / default):\n");
  for (const auto& s : SettingSpecs()) {
    std::fprintf(stderr, "  --%-24s %-32s %-16s %s\n", s.flag, s.env,
                 *s.default_value ? s.default_value : "-", s.help);
  }
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "tessera: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Serve(const std::vector<std::string>& args) {
  // Block the stop signals in every thread; this thread waits for them with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  SetLogStream(stdout);  // a server's log is its output; one-shot commands keep stdout for JSON

  auto config = ParseConfig(args, ProcessEnvironment(), Needs::kDatabaseAndSecrets);
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

int Migrate(const std::vector<std::string>& args) {
  auto config = ParseConfig(args, ProcessEnvironment(), Needs::kDatabase);
  if (!config.ok()) return Fail(config.status());
  auto applied = MigrateDatabase(config->database_url);
  if (!applied.ok()) return Fail(applied.status());
  std::cout << nlohmann::json{{"applied", *applied}}.dump() << std::endl;
  return 0;
}

int Bootstrap(const std::vector<std::string>& args) {
  std::map<std::string, std::string> extra;
  auto config = ParseConfig(args, ProcessEnvironment(), Needs::kDatabase, &extra);
  if (!config.ok()) return Fail(config.status());
  std::string org = extra["org"], admin = extra["admin"];
  std::string org_name = extra.count("org_name") ? extra["org_name"] : org;
  for (const auto& [k, v] : extra) {
    if (k != "org" && k != "admin" && k != "org_name") {
      return Fail(absl::InvalidArgumentError(absl::StrCat("bootstrap: unknown flag --", k)));
    }
  }
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
  if (argc < 2) {
    tessera::PrintUsage();
    return 2;
  }
  std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "serve") return tessera::Serve(args);
  if (cmd == "migrate") return tessera::Migrate(args);
  if (cmd == "bootstrap") return tessera::Bootstrap(args);
  if (cmd == "version" || cmd == "--version") {
    std::printf("tessera %s\n", tessera::kTesseraVersion);
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    tessera::PrintUsage();
    return 0;
  }
  std::fprintf(stderr, "tessera: unknown command \"%s\"\n", cmd.c_str());
  tessera::PrintUsage();
  return 2;
}
