#include "core/metrics.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string Escape(absl::string_view s, bool quotes) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} plus any extra pair (a histogram's le); empty when there are no labels.
std::string Labels(const std::vector<std::string>& names, const LabelValues& values,
                   absl::string_view extra_name = "", absl::string_view extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", names[i], "=\"", Escape(values[i], true), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", extra_name, "=\"", extra_value, "\"");
  }
  if (!out.empty()) out += "}";
  return out;
}

// The shortest text that reads back as exactly `v` ("0.0001", not "0.00010000000000000000479").
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Plain decimals where they stay short ("0.0001", "1700000000"), exponents beyond.
  double magnitude = std::fabs(v);
  auto format = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e16)
                    ? std::chars_format::fixed
                    : std::chars_format::general;
  auto result = std::to_chars(buf, buf + sizeof(buf), v, format);
  return std::string(buf, result.ptr);
}

void Header(std::string& out, const std::string& name, const std::string& help,
            absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", Escape(help, false), "\n# TYPE ", name, " ", type,
                  "\n");
}

void RenderHistogram(std::string& out, const std::string& name,
                     const std::vector<std::string>& label_names, const LabelValues& values,
                     const Histogram& h) {
  Histogram::Totals t = h.Read();
  for (size_t i = 0; i < t.cumulative.size(); ++i) {
    std::string le = i < Histogram::kBounds.size() ? Number(Histogram::kBounds[i]) : "+Inf";
    absl::StrAppend(&out, name, "_bucket", Labels(label_names, values, "le", le), " ",
                    t.cumulative[i], "\n");
  }
  absl::StrAppend(&out, name, "_sum", Labels(label_names, values), " ", Number(t.sum_seconds), "\n",
                  name, "_count", Labels(label_names, values), " ", t.count, "\n");
}

}  // namespace

MetricsRegistry::Entry& MetricsRegistry::Append(std::unique_ptr<Entry> entry) {
  MutexLock lock(&mu_);
  entries_.push_back(std::move(entry));
  return *entries_.back();
}

Family<Counter>& MetricsRegistry::AddCounter(std::string name, std::string help,
                                             std::vector<std::string> labels) {
  auto e = std::make_unique<Entry>();
  e->type = Entry::Type::kCounter;
  e->counter =
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels));
  return *Append(std::move(e)).counter;
}

Family<Gauge>& MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> labels) {
  auto e = std::make_unique<Entry>();
  e->type = Entry::Type::kGauge;
  e->gauge = std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels));
  return *Append(std::move(e)).gauge;
}

Family<Histogram>& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                 std::vector<std::string> labels) {
  auto e = std::make_unique<Entry>();
  e->type = Entry::Type::kHistogram;
  e->histogram =
      std::make_unique<Family<Histogram>>(std::move(name), std::move(help), std::move(labels));
  return *Append(std::move(e)).histogram;
}

void MetricsRegistry::AddGaugeReader(std::string name, std::string help,
                                     std::vector<std::string> labels, GaugeReader read) {
  auto e = std::make_unique<Entry>();
  e->type = Entry::Type::kGaugeReader;
  e->name = std::move(name);
  e->help = std::move(help);
  e->labels = std::move(labels);
  e->read = std::move(read);
  Append(std::move(e));
}

void MetricsRegistry::AddExternalHistogram(std::string name, std::string help,
                                           const Histogram& histogram) {
  auto e = std::make_unique<Entry>();
  e->type = Entry::Type::kExternalHistogram;
  e->name = std::move(name);
  e->help = std::move(help);
  e->external = &histogram;
  Append(std::move(e));
}

std::string MetricsRegistry::Render() const {
  std::string out;
  MutexLock lock(&mu_);
  for (const auto& e : entries_) {
    switch (e->type) {
      case Entry::Type::kCounter: {
        const auto& f = *e->counter;
        Header(out, f.name(), f.help(), "counter");
        f.ForEach([&](const LabelValues& v, const Counter& c) {
          absl::StrAppend(&out, f.name(), Labels(f.label_names(), v), " ", c.Value(), "\n");
        });
        break;
      }
      case Entry::Type::kGauge: {
        const auto& f = *e->gauge;
        Header(out, f.name(), f.help(), "gauge");
        f.ForEach([&](const LabelValues& v, const Gauge& g) {
          absl::StrAppend(&out, f.name(), Labels(f.label_names(), v), " ", Number(g.Value()), "\n");
        });
        break;
      }
      case Entry::Type::kHistogram: {
        const auto& f = *e->histogram;
        Header(out, f.name(), f.help(), "histogram");
        f.ForEach([&](const LabelValues& v, const Histogram& h) {
          RenderHistogram(out, f.name(), f.label_names(), v, h);
        });
        break;
      }
      case Entry::Type::kExternalHistogram:
        Header(out, e->name, e->help, "histogram");
        RenderHistogram(out, e->name, {}, {}, *e->external);
        break;
      case Entry::Type::kGaugeReader: {
        Header(out, e->name, e->help, "gauge");
        for (const auto& [values, value] : e->read()) {
          absl::StrAppend(&out, e->name, Labels(e->labels, values), " ", Number(value), "\n");
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace tessera
