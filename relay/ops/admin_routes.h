// What the admin HTTP endpoint serves, wired to the running daemon's parts:
//   GET  /healthz                 200 while the loop runs (liveness)
//   GET  /readyz                  200 when taking mail, 503 while draining
//   GET  /metrics                 Prometheus text (relay/ops/metrics_page.h)
//   GET  /api/status              what `tlsrelay status --json` prints
//   GET  /api/queue               queued messages per destination
//   GET  /api/queue/<queue-id>    one message: envelope and each recipient
//   GET  /api/destinations        destinations and hosts in connection backoff
//   GET  /api/tls-posture         sessions per destination by TLS posture
//   GET  / and the web view's pages (relay/ops/web_routes.h)
//   GET  /api/reports[?days=N]    the reports we send: per day and policy domain
//   GET  /api/reports/<day>/<domain>           that report's RFC 8460 JSON
//   GET  /api/reports/received                 reports others sent us
//   GET  /api/reports/received/report?organization=<org>&id=<id>   one of them, as received
//   POST <report_path>            a TLS report for us (RFC 8460 §5.4)
// Store queries and the ingest run on the thread pool; the rest on the loop.
// Shapes: docs/operations.md ("Admin endpoint").
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "relay/ops/daemon_status.h"
#include "relay/ops/metrics_page.h"
#include "reporting/tls_posture.h"

namespace tlsrelay {

class AdminHttpServer;
class DeliveryEngine;
class ReportService;
class ReportStore;
struct ReportSender;

struct AdminRouteSources {
  uv_loop_t* loop = nullptr;
  const DeliveryEngine* engine = nullptr;
  std::function<MetricsSources()> metrics;
  std::function<DaemonStatus()> status;
  std::function<bool()> draining;
  ReportStore* report_store = nullptr;  // null: reporting off (the report routes answer 404)
  ReportService* reports = nullptr;
  std::function<ReportSender()> report_sender;  // our identity in the reports, as configured now
  std::string report_path;                      // "" = no report receiver
  std::function<std::vector<DestinationPosture>()> tls_posture;  // sessions per destination by TLS posture
};

// Returns "is a store query or an ingest still running": the daemon waits
// for it before the loop ends, as those hold the store and the loop.
std::function<bool()> addAdminRoutes(AdminHttpServer& server, AdminRouteSources sources);

}  // namespace tlsrelay
