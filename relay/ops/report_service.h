// The daemon's TLS report sender: once a minute it looks in the store for
// daily reports that are due (reporting/report_schedule.h) and not yet sent,
// and sends them on a worker thread (reporting/report_dispatch.h) — mail
// through our own spool, https: by POST. `tlsrelay report send` asks it for
// a pass now, through the control socket. Loop thread only, except where
// said.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/metric_family.h"
#include "dnssec/resolver.h"
#include "relay/config/reporting_section.h"
#include "relay/queue/local_submission.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_ingest.h"
#include "reporting/report_store.h"

namespace tlsrelay {

struct ReportServiceSettings {
  bool automatic = false;  // [reporting] send: on schedule; false = only when asked
  ReportSender sender;
  ReportDispatchSettings dispatch;
  int64_t send_after = 3600;
  int64_t send_window = 4 * 3600;
  std::string https_ca_bundle;
  std::string malformed_directory;  // where unreadable reports we receive are kept
};

ReportServiceSettings reportServiceSettings(const ReportingConfig& config,
                                            const std::string& spool_directory);
// Who our reports say they come from ([reporting] organization_name,
// submitter, contact_info, from, node).
ReportSender reportSender(const ReportingConfig& config);

struct ReportSendLine {
  std::string day, policy_domain;
  DispatchOutcome outcome;
};

class ReportService {
 public:
  // How a report mail enters the spool: LocalSubmission::submit in the
  // daemon. Called on the loop thread.
  using Submit = std::function<void(LocalMessage, LocalSubmission::Done)>;
  using PassDone = std::function<void(std::vector<ReportSendLine>)>;

  ReportService(uv_loop_t* loop, ReportStore* store, dns::Resolver* resolver, Submit submit,
                std::function<int64_t()> clock);
  ~ReportService();
  ReportService(const ReportService&) = delete;
  ReportService& operator=(const ReportService&) = delete;

  void configure(ReportServiceSettings settings);  // from the next pass on
  void start(std::chrono::milliseconds first_tick = std::chrono::seconds(10));
  // A pass over `days` now, due or not (reports already sent stay sent).
  // False when a pass is already running or the service stopped.
  bool sendNow(std::vector<std::string> days, PassDone done);
  // No new passes; a report mail the running pass has not yet handed to the
  // spool is refused, so that report is recorded as failed and retried after
  // the restart (one already handed over is stored by the drain).
  void stop();
  bool busy() const { return pass_running_; }

  // A report mailed to us (the whole message), read and stored on the thread
  // pool; `done` on the loop thread. Works after stop(): a session that has
  // the message must still be answered.
  void ingest(std::shared_ptr<const std::string> message, std::function<void(IngestOutcome)> done);
  int64_t now() const { return clock_(); }
  // Reports sent (each pass's outcome per report) and received, for /metrics.
  std::vector<MetricFamily> metricFamilies() const;

 private:
  struct PendingMail;
  struct Pass;
  void tick();
  bool startPass(std::vector<std::string> days, bool due_only, PassDone done);
  // Worker thread: the whole pass, one report at a time.
  std::vector<ReportSendLine> runPass(const Pass& pass);
  Result<std::string> submitFromWorker(const ReportMailToSend& mail);
  void submitQueued();
  void refuseQueuedLocked();  // mutex_ held

  uv_loop_t* loop_;
  ReportStore* store_;
  dns::Resolver* resolver_;
  Submit submit_;
  std::function<int64_t()> clock_;
  ReportServiceSettings settings_;
  uv_timer_t timer_{};
  uv_async_t wake_{};
  bool started_ = false;
  bool pass_running_ = false;

  std::mutex mutex_;  // guards stopping_ and queued_ against the worker thread
  bool stopping_ = false;
  std::deque<std::shared_ptr<PendingMail>> queued_;

  LabelledCounter sent_{"tlsrelay_tls_reports_sent_total",
                        "Daily TLS reports by dispatch result (sent, partly sent, failed, nothing to send)",
                        {"result"}};
  LabelledCounter received_{"tlsrelay_tls_reports_received_total",
                            "TLS reports others sent us, by what became of them",
                            {"result"}};
};

// The control socket's "report-send [DAY]": a pass now over DAY (default:
// the days still reportable); the reply is "ok " and a JSON array with one
// object per report tried, or "error ...".
void sendReportsNow(ReportService& service, const std::string& day, std::function<void(std::string)> reply);

}  // namespace tlsrelay
