// Metrics in the Prometheus text exposition format (version 0.0.4): families
// of samples with labels, and labelled counters that any thread may bump.
// The admin endpoint's /metrics renders what the daemon's parts report; the
// names follow postfix_exporter and KumoMTA where those have one.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tlsrelay {

struct MetricSample {
  std::vector<std::string> label_values;  // in the family's label_names order
  double value = 0;
};

struct MetricFamily {
  std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*
  std::string help;
  enum class Type { Counter, Gauge } type = Type::Counter;
  std::vector<std::string> label_names;
  std::vector<MetricSample> samples;
};

// "# HELP", "# TYPE" and one line per sample; label values escaped (\\, \", \n).
void appendPrometheusText(const MetricFamily& family, std::string& out);
std::string renderPrometheusText(const std::vector<MetricFamily>& families);

// Counters by label values, safe to bump from any thread (the observer thread,
// the thread pool, the loop). snapshot() copies them for a scrape.
class LabelledCounter {
 public:
  LabelledCounter(std::string name, std::string help, std::vector<std::string> label_names);
  void add(const std::vector<std::string>& label_values, uint64_t n = 1);
  uint64_t value(const std::vector<std::string>& label_values) const;
  MetricFamily snapshot() const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, uint64_t> values_;
};

}  // namespace tlsrelay
