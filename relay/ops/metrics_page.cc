// See metrics_page.h.
#include "relay/ops/metrics_page.h"

#include "dkim/signing_stage.h"
#include "dnssec/caching_resolver.h"
#include "relay/inbound/inbound_server.h"
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/ops/report_service.h"
#include "relay/queue/delivery_engine.h"
#include "reporting/delivery_metrics.h"

namespace tlsrelay {
namespace {

using Type = MetricFamily::Type;

MetricFamily single(std::string name, std::string help, Type type, double value) {
  return MetricFamily{std::move(name), std::move(help), type, {}, {{{}, value}}};
}

void appendQueue(const DeliveryEngine& engine, int64_t now, std::vector<MetricFamily>& out) {
  auto summary = engine.queueSummary();
  MetricFamily messages{"tlsrelay_queue_messages",
                        "Queued messages with a pending recipient, per destination",
                        Type::Gauge,
                        {"destination"},
                        {}};
  MetricFamily recipients{
      "tlsrelay_queue_recipients", "Pending recipients per destination", Type::Gauge, {"destination"}, {}};
  MetricFamily oldest{"tlsrelay_queue_oldest_message_age_seconds",
                      "Age of the oldest queued message per destination",
                      Type::Gauge,
                      {"destination"},
                      {}};
  MetricFamily connections{"tlsrelay_destination_connections",
                           "Open delivery connections per destination",
                           Type::Gauge,
                           {"destination"},
                           {}};
  messages.samples.reserve(summary.size());
  recipients.samples.reserve(summary.size());
  oldest.samples.reserve(summary.size());
  for (const auto& d : summary) {
    messages.samples.push_back({{d.destination}, static_cast<double>(d.messages)});
    recipients.samples.push_back({{d.destination}, static_cast<double>(d.recipients)});
    oldest.samples.push_back(
        {{d.destination}, static_cast<double>(std::max<int64_t>(0, now - d.oldest_received))});
    if (d.connections > 0)
      connections.samples.push_back({{d.destination}, static_cast<double>(d.connections)});
  }
  out.push_back(single("tlsrelay_queue_size", "Messages in the queue", Type::Gauge,
                       static_cast<double>(engine.queuedMessages())));
  out.push_back(single("tlsrelay_delivery_runs",
                       "Delivery runs (one or more connections to a destination) active", Type::Gauge,
                       static_cast<double>(engine.activeJobs())));
  out.push_back(std::move(messages));
  out.push_back(std::move(recipients));
  out.push_back(std::move(oldest));
  out.push_back(std::move(connections));
}

}  // namespace

std::vector<MetricFamily> collectMetrics(const MetricsSources& s) {
  std::vector<MetricFamily> out;
  const int64_t now = s.now ? s.now() : 0;
  if (s.received) out.push_back(s.received->snapshot());
  if (s.inbound)
    out.push_back(single("tlsrelay_inbound_connections", "Open inbound SMTP connections", Type::Gauge,
                         static_cast<double>(s.inbound->activeConnections())));
  if (s.delivery)
    for (auto& f : s.delivery->families()) out.push_back(std::move(f));
  if (s.engine) appendQueue(*s.engine, now, out);
  if (s.dns) {
    auto st = s.dns->stats();
    out.push_back(
        MetricFamily{"tlsrelay_dns_cache_lookups_total",
                     "DNS lookups by whether the relay's cache answered them",
                     Type::Counter,
                     {"result"},
                     {{{"hit"}, static_cast<double>(st.hits)}, {{"miss"}, static_cast<double>(st.misses)}}});
  }
  if (s.mta_sts) {
    auto st = s.mta_sts->cacheStats();
    out.push_back(MetricFamily{
        "tlsrelay_mta_sts_lookups_total",
        "MTA-STS policy lookups answered from the policy cache, and policy fetches made",
        Type::Counter,
        {"result"},
        {{{"cache_hit"}, static_cast<double>(st.hits)}, {{"fetch"}, static_cast<double>(st.fetches)}}});
  }
  if (s.dkim) {
    out.push_back(single("tlsrelay_dkim_signatures_total", "DKIM signatures added to outbound messages",
                         Type::Counter, static_cast<double>(s.dkim->signaturesMade())));
    out.push_back(single("tlsrelay_dkim_signing_failures_total", "Messages a DKIM key failed to sign",
                         Type::Counter, static_cast<double>(s.dkim->signingFailures())));
  }
  if (s.reports)
    for (auto& f : s.reports->metricFamilies()) out.push_back(std::move(f));
  return out;
}

std::string renderMetrics(const MetricsSources& sources) {
  return renderPrometheusText(collectMetrics(sources));
}

}  // namespace tlsrelay
