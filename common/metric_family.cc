// See metric_family.h.
#include "common/metric_family.h"

#include <cmath>
#include <cstdio>

namespace tlsrelay {
namespace {

void appendEscaped(const std::string& value, std::string& out) {
  for (char c : value) {
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
}

void appendValue(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  // Integral values (all counters, most gauges) print without an exponent.
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.6g", v);
  out += buf;
}

}  // namespace

void appendPrometheusText(const MetricFamily& family, std::string& out) {
  out += "# HELP " + family.name + " ";
  for (char c : family.help) out += c == '\n' ? ' ' : c;
  out += "\n# TYPE " + family.name + (family.type == MetricFamily::Type::Counter ? " counter\n" : " gauge\n");
  for (const MetricSample& s : family.samples) {
    out += family.name;
    if (!family.label_names.empty()) {
      out += '{';
      for (size_t i = 0; i < family.label_names.size(); ++i) {
        if (i) out += ',';
        out += family.label_names[i];
        out += "=\"";
        appendEscaped(i < s.label_values.size() ? s.label_values[i] : std::string(), out);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    appendValue(s.value, out);
    out += '\n';
  }
}

std::string renderPrometheusText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) appendPrometheusText(f, out);
  return out;
}

LabelledCounter::LabelledCounter(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void LabelledCounter::add(const std::vector<std::string>& label_values, uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  values_[label_values] += n;
}

uint64_t LabelledCounter::value(const std::vector<std::string>& label_values) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = values_.find(label_values);
  return it == values_.end() ? 0 : it->second;
}

MetricFamily LabelledCounter::snapshot() const {
  MetricFamily f{name_, help_, MetricFamily::Type::Counter, label_names_, {}};
  std::lock_guard<std::mutex> lock(mutex_);
  f.samples.reserve(values_.size());
  for (const auto& [labels, v] : values_) f.samples.push_back({labels, static_cast<double>(v)});
  return f;
}

}  // namespace tlsrelay
