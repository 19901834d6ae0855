// /metrics: what the running daemon's parts report, in the Prometheus text
// format. Rendered on the loop thread (the queue and the inbound server live
// there); the counters kept on other threads are read under their own locks.
// Every name is documented in docs/operations.md ("Metrics").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/metric_family.h"

namespace tlsrelay {

class DeliveryMetrics;
class DeliveryEngine;
class InboundServer;
class MtaStsProvider;
class ReportService;
namespace dns {
class CachingResolver;
}
namespace dkim {
class SigningStage;
}

struct MetricsSources {
  const DeliveryMetrics* delivery = nullptr;
  const DeliveryEngine* engine = nullptr;
  const InboundServer* inbound = nullptr;
  const LabelledCounter* received = nullptr;  // messages accepted into the spool, by listener kind
  const dns::CachingResolver* dns = nullptr;  // null: no cache in front of the resolver
  const MtaStsProvider* mta_sts = nullptr;    // null: MTA-STS off
  const dkim::SigningStage* dkim = nullptr;
  const ReportService* reports = nullptr;  // null: reporting off
  std::function<int64_t()> now;            // unix seconds
};

std::vector<MetricFamily> collectMetrics(const MetricsSources& sources);
std::string renderMetrics(const MetricsSources& sources);

}  // namespace tlsrelay
