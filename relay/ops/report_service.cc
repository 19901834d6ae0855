#include "relay/ops/report_service.h"

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/log.h"
#include "common/time_format.h"
#include "reporting/report_schedule.h"

namespace tlsrelay {

// A report mail handed from the worker to the loop, and its answer back.
struct ReportService::PendingMail {
  ReportMailToSend mail;
  std::promise<Result<std::string>> queued;
};

struct ReportService::Pass {
  uv_work_t req{};
  ReportService* service = nullptr;
  ReportServiceSettings settings;
  std::vector<std::string> days;
  bool due_only = true;
  int64_t now = 0;
  std::vector<ReportSendLine> lines;
  PassDone done;
};

ReportSender reportSender(const ReportingConfig& c) {
  return {c.organization_name, c.submitter, c.contact_info, c.from, c.node};
}

ReportServiceSettings reportServiceSettings(const ReportingConfig& c, const std::string& spool_directory) {
  ReportServiceSettings s;
  s.automatic = c.send;
  s.sender = reportSender(c);
  s.dispatch.lease_seconds = c.claim_timeout.count();
  s.send_after = c.send_after.count();
  s.send_window = c.send_window.count();
  s.https_ca_bundle = c.https_ca_bundle;
  s.malformed_directory = malformedReportDirectory(spool_directory);
  return s;
}

ReportService::ReportService(uv_loop_t* loop, ReportStore* store, dns::Resolver* resolver, Submit submit,
                             std::function<int64_t()> clock)
    : loop_(loop), store_(store), resolver_(resolver), submit_(std::move(submit)), clock_(std::move(clock)) {}

ReportService::~ReportService() {
  std::lock_guard lock(mutex_);
  refuseQueuedLocked();
}

void ReportService::refuseQueuedLocked() {
  // Anything still waiting gets an answer, so no worker blocks for ever.
  stopping_ = true;
  for (auto& p : queued_) p->queued.set_value(makeError("the relay is stopping"));
  queued_.clear();
}

void ReportService::configure(ReportServiceSettings settings) {
  settings_ = std::move(settings);
}

void ReportService::start(std::chrono::milliseconds first_tick) {
  if (started_) return;
  started_ = true;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_async_init(loop_, &wake_, [](uv_async_t* a) { static_cast<ReportService*>(a->data)->submitQueued(); });
  wake_.data = this;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<ReportService*>(t->data)->tick(); },
      static_cast<uint64_t>(first_tick.count()), 60'000);
}

void ReportService::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    refuseQueuedLocked();
  }
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
}

void ReportService::tick() {
  if (!settings_.automatic || pass_running_) return;
  startPass(reportableDays(clock_()), true, nullptr);
}

bool ReportService::sendNow(std::vector<std::string> days, PassDone done) {
  if (days.empty()) days = reportableDays(clock_());
  return startPass(std::move(days), false, std::move(done));
}

bool ReportService::startPass(std::vector<std::string> days, bool due_only, PassDone done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !started_) return false;
  }
  if (pass_running_) return false;
  auto* pass = new Pass;
  pass->req.data = pass;
  pass->service = this;
  pass->settings = settings_;
  pass->days = std::move(days);
  pass->due_only = due_only;
  pass->now = clock_();
  pass->done = std::move(done);
  pass_running_ = true;
  uv_queue_work(
      loop_, &pass->req,
      [](uv_work_t* req) {
        auto* p = static_cast<Pass*>(req->data);
        p->lines = p->service->runPass(*p);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Pass> p(static_cast<Pass*>(req->data));
        p->service->pass_running_ = false;
        if (p->done) p->done(std::move(p->lines));
      });
  return true;
}

std::vector<ReportSendLine> ReportService::runPass(const Pass& pass) {
  std::vector<ReportSendLine> lines;
  if (pass.days.empty()) return lines;
  auto [first, last] = std::minmax_element(pass.days.begin(), pass.days.end());
  // One read finds what is left to do; most ticks end here.
  auto rows = store_->summaries(*first, *last);
  if (!rows.ok()) {
    log::warn("reporting", "cannot read the TLS report store", {{"error", rows.error().message}});
    return lines;
  }
  ReportDispatchDeps deps;
  deps.store = store_;
  deps.lookup_txt = [this](const std::string& name) { return resolver_->lookupTxt(name); };
  deps.submit_mail = [this](const ReportMailToSend& mail) { return submitFromWorker(mail); };
  HttpsPostOptions https;
  https.ca_file = pass.settings.https_ca_bundle;
  deps.post_https = [https](const std::string& url, std::string_view gz) {
    return postTlsReport(url, gz, https);
  };
  deps.clock = clock_;
  for (const DaySummary& row : *rows) {
    if (std::find(pass.days.begin(), pass.days.end(), row.day) == pass.days.end()) continue;
    if (row.report) {
      const ReportState& st = *row.report;
      bool open = (st.state == ReportSendState::Failed && st.next_attempt_at <= pass.now) ||
                  (st.state == ReportSendState::Claimed && st.claimed_until <= pass.now);
      if (!open) continue;  // sent, no rua, another node busy with it, or not yet time to retry
    }
    if (pass.due_only && pass.now < reportDueAt(row.day, row.policy_domain, pass.settings.send_after,
                                                pass.settings.send_window))
      continue;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    ReportSendLine line{
        row.day, row.policy_domain,
        dispatchReport(deps, pass.settings.sender, pass.settings.dispatch, row.day, row.policy_domain)};
    const DispatchOutcome& o = line.outcome;
    if (o.result != DispatchResult::NotOurs) sent_.add({toString(o.result)});
    std::string reached;
    for (const std::string& r : o.reached) reached += (reached.empty() ? "" : " ") + r;
    if (o.result == DispatchResult::Failed)
      log::warn("reporting", "TLS report not sent",
                {{"day", row.day}, {"domain", row.policy_domain}, {"detail", o.detail}});
    else if (o.result != DispatchResult::NotOurs)
      log::info("reporting", "TLS report",
                {{"day", row.day},
                 {"domain", row.policy_domain},
                 {"result", toString(o.result)},
                 {"report_id", o.report_id},
                 {"to", reached},
                 {"detail", o.detail}});
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<MetricFamily> ReportService::metricFamilies() const {
  return {sent_.snapshot(), received_.snapshot()};
}

void ReportService::ingest(std::shared_ptr<const std::string> message,
                           std::function<void(IngestOutcome)> done) {
  struct Work {
    uv_work_t req{};
    ReportStore* store;
    std::shared_ptr<const std::string> message;
    std::string malformed_directory;
    int64_t now;
    IngestOutcome outcome;
    std::function<void(IngestOutcome)> done;
    LabelledCounter* received;
  };
  auto* w = new Work{{},       store_, std::move(message), settings_.malformed_directory,
                     clock_(), {},     std::move(done),    &received_};
  w->req.data = w;
  uv_queue_work(
      loop_, &w->req,
      [](uv_work_t* req) {
        auto* w = static_cast<Work*>(req->data);
        w->outcome = ingestReport(*w->store, *w->message, w->malformed_directory, w->now);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<Work> w(static_cast<Work*>(req->data));
        const IngestOutcome& o = w->outcome;
        w->received->add({toString(o.kind)});
        if (o.kind == IngestOutcome::Kind::Malformed)
          log::warn("reporting", "received a TLS report we cannot read",
                    {{"error", o.error}, {"kept_as", o.kept_as}});
        else if (o.kind == IngestOutcome::Kind::StoreError)
          log::error("reporting", "cannot store a received TLS report", {{"error", o.error}});
        else
          log::info("reporting", "TLS report ingested",
                    {{"result", toString(o.kind)},
                     {"organization", o.organization_name},
                     {"report_id", o.report_id},
                     {"deviations", std::to_string(o.deviations.size())}});
        w->done(std::move(w->outcome));
      });
}

Result<std::string> ReportService::submitFromWorker(const ReportMailToSend& mail) {
  auto pending = std::make_shared<PendingMail>();
  pending->mail = mail;
  auto answer = pending->queued.get_future();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return makeError("the relay is stopping");
    queued_.push_back(pending);
    uv_async_send(&wake_);  // under the lock: stop() closes the handle only after stopping_
  }
  return answer.get();
}

void ReportService::submitQueued() {
  std::deque<std::shared_ptr<PendingMail>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queued_);
  }
  for (auto& p : batch) {
    LocalMessage m;
    m.mail_from = std::move(p->mail.from);
    m.recipients = std::move(p->mail.to);
    m.data = std::move(p->mail.data);
    m.flags.tls_report = true;       // its sessions are not counted in later reports
    m.flags.tls_required_no = true;  // the report mail says TLS-Required: No (RFC 8460 §5.3)
    submit_(std::move(m), [p](const Result<std::string>& queued) { p->queued.set_value(queued); });
  }
}

void sendReportsNow(ReportService& service, const std::string& day, std::function<void(std::string)> reply) {
  std::vector<std::string> days;
  if (!day.empty()) {
    auto start = parseUtcDay(day);
    if (!start) {
      reply("error not a day (YYYY-MM-DD): " + printableAscii(day, 40));
      return;
    }
    // A report covers a whole UTC day; sent early it would miss the rest,
    // and a sent report is never sent again.
    if (*start + 86400 > service.now()) {
      reply("error " + day + " is not over yet (UTC); its report can be sent from " + utcDay(*start + 86400));
      return;
    }
    days.push_back(day);
  }
  auto respond = std::make_shared<std::function<void(std::string)>>(std::move(reply));
  bool started = service.sendNow(std::move(days), [respond](std::vector<ReportSendLine> lines) {
    nlohmann::json out = nlohmann::json::array();
    for (const ReportSendLine& l : lines)
      out.push_back({{"day", l.day},
                     {"policy-domain", l.policy_domain},
                     {"result", toString(l.outcome.result)},
                     {"report-id", l.outcome.report_id},
                     {"reached", l.outcome.reached},
                     {"detail", l.outcome.detail}});
    (*respond)("ok " + out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
  if (!started)
    (*respond)("error a report pass is already running, or the relay is stopping; try again shortly");
}

}  // namespace tlsrelay
