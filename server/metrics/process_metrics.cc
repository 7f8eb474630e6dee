#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "server/metrics/read_at_scrape.h"

namespace tessera {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields of /proc/<pid>/stat after the command name, which is in parentheses and may hold
// spaces or parentheses itself: fields()[0] is field 3 of proc(5), the state.
std::vector<std::string> StatFields(const std::string& stat) {
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  return absl::StrSplit(absl::string_view(stat).substr(close + 1), ' ', absl::SkipWhitespace());
}

// Field n of proc(5) (1-based, as the manual numbers them), from StatFields().
std::optional<double> StatField(const std::vector<std::string>& fields, size_t n) {
  double v;
  if (n < 3 || n - 3 >= fields.size() || !absl::SimpleAtod(fields[n - 3], &v)) return std::nullopt;
  return v;
}

// "btime <seconds>" of /proc/stat: when the machine booted, in Unix time.
std::optional<double> BootTime(const std::string& proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      double v;
      if (absl::SimpleAtod(line, &v)) return v;
    }
  }
  return std::nullopt;
}

// The soft limit on the line "Max open files  <soft>  <hard>  files" of /proc/<pid>/limits.
std::optional<double> MaxOpenFiles(const std::string& limits) {
  for (absl::string_view line : absl::StrSplit(limits, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max open files")) continue;
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    double v;
    // "unlimited" has no number to report (and Linux caps open files anyway): left out.
    if (!words.empty() && absl::SimpleAtod(words[0], &v)) return v;
  }
  return std::nullopt;
}

std::optional<double> OpenFds(const std::string& fd_dir) {
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return std::nullopt;
  double n = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

void Add(std::vector<prometheus::MetricFamily>& out, const char* name, const char* help,
         prometheus::MetricType type, std::optional<double> value) {
  if (!value.has_value()) return;
  out.push_back({name, help, type, {MetricSample(type, {}, *value)}});
}

}  // namespace

ProcessMetrics::ProcessMetrics(std::string proc_root, std::string pid)
    : proc_root_(std::move(proc_root)),
      pid_dir_(proc_root_ + "/" + pid),
      ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_bytes_(sysconf(_SC_PAGESIZE)) {}

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  std::vector<std::string> stat = StatFields(ReadFile(pid_dir_ + "/stat").value_or(""));
  std::optional<double> utime = StatField(stat, 14), stime = StatField(stat, 15);
  std::optional<double> cpu;
  if (utime && stime) cpu = (*utime + *stime) / static_cast<double>(ticks_per_second_);
  Add(out, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      MetricType::Counter, cpu);
  std::optional<double> rss = StatField(stat, 24);
  if (rss) *rss *= static_cast<double>(page_bytes_);
  Add(out, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
      rss);
  Add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
      StatField(stat, 23));
  Add(out, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
      OpenFds(pid_dir_ + "/fd"));
  Add(out, "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
      MaxOpenFiles(ReadFile(pid_dir_ + "/limits").value_or("")));
  std::optional<double> boot = BootTime(ReadFile(proc_root_ + "/stat").value_or(""));
  std::optional<double> started = StatField(stat, 22);
  std::optional<double> start_time;
  if (boot && started) start_time = *boot + *started / static_cast<double>(ticks_per_second_);
  Add(out, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::Gauge, start_time);
  return out;
}

}  // namespace tessera
