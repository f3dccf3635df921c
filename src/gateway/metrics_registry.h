// MetricsRegistry: counters, gauges and histograms with labels, in Prometheus text format.
//
// Families are declared once with their help text (and buckets for histograms); samples are
// keyed by their label values. Render() writes the text exposition format 0.0.4 that
// `promtool check metrics` accepts: HELP and TYPE lines, label values escaped, histograms as
// cumulative `_bucket{le=...}` lines ending in +Inf, then `_sum` and `_count`.
//
// Not thread-safe: the gateway uses it from its one event loop.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cortex::gateway {

using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
  struct Series;
  struct Family;

 public:
  // One series, found once: the hot path updates it without building its label text. The
  // series exists (and renders, at 0) from the moment its handle is made. Valid for the
  // registry's lifetime (series are never removed).
  class CounterRef {
   public:
    void Add(double amount = 1) { series_->value += amount; }

   private:
    friend class MetricsRegistry;
    Series* series_ = nullptr;
  };
  class HistogramRef {
   public:
    void Observe(double value);

   private:
    friend class MetricsRegistry;
    Series* series_ = nullptr;
    const Family* family_ = nullptr;
  };
  CounterRef Counter(const std::string& counter, const Labels& labels);
  HistogramRef Histogram(const std::string& histogram, const Labels& labels);

  void DeclareCounter(const std::string& name, const std::string& help);
  void DeclareGauge(const std::string& name, const std::string& help);
  void DeclareHistogram(const std::string& name, const std::string& help,
                        std::vector<double> buckets);

  // Each finds the series by its labels. REQUIRES: the family was declared with the matching
  // kind.
  void Add(const std::string& counter, const Labels& labels, double amount = 1);
  void Set(const std::string& gauge, const Labels& labels, double value);
  void Observe(const std::string& histogram, const Labels& labels, double value);

  double Value(const std::string& family, const Labels& labels) const;  // counters and gauges
  // Over every series of `family` whose labels include `label`="value" (all its codes, say):
  // the summed value of a counter or gauge, and for a histogram the summed count and sum.
  struct Totals {
    double value = 0;
    uint64_t count = 0;
    double sum = 0;
  };
  Totals TotalsWhere(const std::string& family, const std::string& label,
                     const std::string& value) const;
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  static void ObserveInto(const Family& f, Series& s, double value);
  struct Series {
    double value = 0;
    std::vector<uint64_t> bucket_counts;
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, Series> series;  // key: rendered label set
  };
  static std::string LabelText(const Labels& labels, const std::string& extra = {});
  Family& Get(const std::string& name, Kind kind);

  std::map<std::string, Family> families_;
};

}  // namespace cortex::gateway
