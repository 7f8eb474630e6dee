#include "bench/http_load.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/encoding.h"

namespace tessera::bench {
namespace {

// The peer's script shape (wrk/introspect.lua there): round-robin bodies, judged answers, one
// BENCH_JSON line from done().
constexpr char kScript[] = R"lua(
threads = {}
bad = 0
function setup(thread) table.insert(threads, thread) end
local bodies, i, hdrs, must
function init(args)
  bodies = {}
  for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
  i = 0
  must = os.getenv("BENCH_MUST")
  hdrs = {["Content-Type"] = "application/x-www-form-urlencoded",
          ["Authorization"] = os.getenv("BENCH_AUTHORIZATION")}
end
function request()
  i = i % #bodies + 1
  return wrk.format("POST", os.getenv("BENCH_PATH"), hdrs, bodies[i])
end
function response(status, headers, body)
  if status ~= 200 or not body:find(must, 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"seconds":%.3f,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,'
    .. '"errors":%d}\n', summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout + b))
end
)lua";

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "tessera_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = absl::StrCat(dir, "/", name);
  std::ofstream(path) << text;
  return path;
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }  // no ' inside

LoadResult Wrk(const HttpTarget& target, int connections, absl::Duration duration,
               const std::string& dir) {
  std::string bodies;
  for (const std::string& b : target.bodies) absl::StrAppend(&bodies, b, "\n");
  std::string script = WriteFile(dir, "http.lua", kScript);
  std::string command =
      absl::StrCat("BENCH_BODIES=", Quoted(WriteFile(dir, "bodies.txt", bodies)),
                   " BENCH_PATH=", Quoted(target.path), " BENCH_MUST=", Quoted(target.must_contain),
                   " BENCH_AUTHORIZATION=", Quoted(target.authorization), " wrk -t1 -c",
                   connections, " -d", std::max<int64_t>(1, absl::ToInt64Seconds(duration)),
                   "s -s ", Quoted(script), " http://127.0.0.1:", target.port, " 2>&1");
  FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) Fail("cannot run wrk");
  std::string text;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, out)) text.append(buf, n);
  if (pclose(out) != 0) Fail("wrk failed: " + text);
  size_t at = text.find("BENCH_JSON ");
  if (at == std::string::npos) Fail("wrk printed no BENCH_JSON line: " + text);
  auto j = nlohmann::json::parse(text.substr(at + 11, text.find('\n', at) - at - 11));
  LoadResult r;
  r.calls = j["requests"];
  r.errors = j["errors"];
  r.seconds = j["seconds"];
  r.rate = r.seconds > 0 ? static_cast<double>(r.calls) / r.seconds : 0;
  r.p50_us = j["p50_us"];
  r.p90_us = j["p90_us"];
  r.p99_us = j["p99_us"];
  return r;
}

}  // namespace

LoadResult RunWrk(const HttpTarget& target, int connections, const LoadOptions& options) {
  char dir_template[] = "/tmp/tessera-bench-http-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  if (dir == nullptr) Fail("cannot make a temporary directory");
  if (options.warmup > absl::ZeroDuration()) Wrk(target, connections, options.warmup, dir);
  LoadResult r = Wrk(target, connections, options.duration, dir);
  std::system(absl::StrCat("rm -rf ", Quoted(dir)).c_str());
  return r;
}

}  // namespace tessera::bench
