#include "gateway/metrics_registry.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cortex::gateway {
namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{}", v);
}

}  // namespace

std::string MetricsRegistry::LabelText(const Labels& unsorted, const std::string& extra) {
  if (unsorted.empty() && extra.empty()) return "";
  // Sorted by name, so one series has one key whatever order the caller listed its labels in.
  Labels labels = unsorted;
  std::sort(labels.begin(), labels.end());
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    out += k + "=\"" + Escape(v) + "\"";
    first = false;
  }
  if (!extra.empty()) {
    if (!first) out += ",";
    out += extra;
  }
  return out + "}";
}

void MetricsRegistry::DeclareCounter(const std::string& name, const std::string& help) {
  families_[name] = Family{Kind::kCounter, help, {}, {}};
}
void MetricsRegistry::DeclareGauge(const std::string& name, const std::string& help) {
  families_[name] = Family{Kind::kGauge, help, {}, {}};
}
void MetricsRegistry::DeclareHistogram(const std::string& name, const std::string& help,
                                       std::vector<double> buckets) {
  std::sort(buckets.begin(), buckets.end());
  families_[name] = Family{Kind::kHistogram, help, std::move(buckets), {}};
}

MetricsRegistry::Family& MetricsRegistry::Get(const std::string& name, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end() || it->second.kind != kind) std::abort();  // undeclared: a bug
  return it->second;
}

void MetricsRegistry::Add(const std::string& counter, const Labels& labels, double amount) {
  Get(counter, Kind::kCounter).series[LabelText(labels)].value += amount;
}

void MetricsRegistry::Set(const std::string& gauge, const Labels& labels, double value) {
  Get(gauge, Kind::kGauge).series[LabelText(labels)].value = value;
}

void MetricsRegistry::Observe(const std::string& histogram, const Labels& labels, double value) {
  Family& f = Get(histogram, Kind::kHistogram);
  ObserveInto(f, f.series[LabelText(labels)], value);
}

void MetricsRegistry::ObserveInto(const Family& f, Series& s, double value) {
  if (s.bucket_counts.empty()) s.bucket_counts.assign(f.buckets.size(), 0);
  // Buckets are sorted: every one from the first that holds the value counts it.
  for (size_t i = f.buckets.size(); i > 0 && value <= f.buckets[i - 1]; --i) {
    ++s.bucket_counts[i - 1];
  }
  s.sum += value;
  ++s.count;
}

void MetricsRegistry::HistogramRef::Observe(double value) {
  ObserveInto(*family_, *series_, value);
}

MetricsRegistry::CounterRef MetricsRegistry::Counter(const std::string& counter,
                                                     const Labels& labels) {
  CounterRef ref;
  ref.series_ = &Get(counter, Kind::kCounter).series[LabelText(labels)];
  return ref;
}

MetricsRegistry::HistogramRef MetricsRegistry::Histogram(const std::string& histogram,
                                                         const Labels& labels) {
  Family& f = Get(histogram, Kind::kHistogram);
  HistogramRef ref;
  ref.series_ = &f.series[LabelText(labels)];
  if (ref.series_->bucket_counts.empty()) ref.series_->bucket_counts.assign(f.buckets.size(), 0);
  ref.family_ = &f;
  return ref;
}

double MetricsRegistry::Value(const std::string& family, const Labels& labels) const {
  auto it = families_.find(family);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(LabelText(labels));
  return s == it->second.series.end() ? 0 : s->second.value;
}

MetricsRegistry::Totals MetricsRegistry::TotalsWhere(const std::string& family,
                                                     const std::string& label,
                                                     const std::string& value) const {
  Totals t;
  auto it = families_.find(family);
  if (it == families_.end()) return t;
  // A key is `{a="x",b="y"}`; the pair is whole when a brace or comma stands on each side.
  const std::string pair = label + "=\"" + Escape(value) + "\"";
  for (const auto& [key, series] : it->second.series) {
    const size_t at = key.find(pair);
    if (at == std::string::npos || at == 0) continue;
    const char before = key[at - 1], after = key[at + pair.size()];
    if ((before != '{' && before != ',') || (after != '}' && after != ',')) continue;
    t.value += series.value;
    t.count += series.count;
    t.sum += series.sum;
  }
  return t;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::kCounter ? "counter"
                       : f.kind == Kind::kGauge ? "gauge"
                                                : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, type);
    for (const auto& [labels, s] : f.series) {
      if (f.kind != Kind::kHistogram) {
        out += fmt::format("{}{} {}\n", name, labels, Number(s.value));
        continue;
      }
      // Reopen the label set to add `le`.
      const std::string inner = labels.empty() ? "" : labels.substr(1, labels.size() - 2);
      auto with_le = [&](const std::string& le) {
        return "{" + inner + (inner.empty() ? "" : ",") + "le=\"" + le + "\"}";
      };
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        out += fmt::format("{}_bucket{} {}\n", name, with_le(Number(f.buckets[i])),
                           s.bucket_counts[i]);
      }
      out += fmt::format("{}_bucket{} {}\n", name, with_le("+Inf"), s.count);
      out += fmt::format("{}_sum{} {}\n", name, labels, Number(s.sum));
      out += fmt::format("{}_count{} {}\n", name, labels, s.count);
    }
  }
  return out;
}

}  // namespace cortex::gateway
