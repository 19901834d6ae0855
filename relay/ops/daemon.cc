// `tlsrelay serve`; see daemon.h.
#include "relay/ops/daemon.h"

#include <unistd.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>

#include "common/log.h"
#include "dkim/resolver_key_source.h"
#include "dkim/signing_stage.h"
#include "dkim/verification_stage.h"
#include "dnssec/caching_resolver.h"
#include "dnssec/resolver.h"
#include "dnssec/swappable_resolver.h"
#include "policy/domain_policy.h"
#include "relay/admin/admin_http_server.h"
#include "relay/inbound/inbound_server.h"
#include "relay/inbound/users_file.h"
#include "relay/mta_sts/mta_sts_cli.h"
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/mta_sts/mta_sts_refresher.h"
#include "relay/mta_sts/swappable_mta_sts.h"
#include "relay/ops/admin_routes.h"
#include "relay/ops/control_socket.h"
#include "relay/ops/dkim_setup.h"
#include "relay/ops/metrics_page.h"
#include "relay/ops/report_service.h"
#include "relay/ops/resolver_setup.h"
#include "relay/ops/runtime_config.h"
#include "relay/queue/delivery_engine.h"
#include "relay/queue/spool.h"
#include "relay/queue/spool_committer.h"
#include "relay/tls/tls_context.h"
#include "reporting/accounting_log.h"
#include "reporting/delivery_metrics.h"
#include "reporting/observer_queue.h"
#include "reporting/open_report_store.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_store.h"
#include "reporting/tls_posture.h"
#include "reporting/tls_result_log.h"
#include "reporting/tls_session_counter.h"

namespace tlsrelay {
namespace {

struct Daemon {
  std::string config_path;
  uv_loop_t* loop = nullptr;
  RuntimeConfig runtime;
  std::unique_ptr<Spool> spool;
  std::unique_ptr<SpoolCommitter> committer;
  std::unique_ptr<dns::SwappableResolver> resolver;  // SIGHUP may put a new [dns] behind it
  std::unique_ptr<AccountingLog> accounting;
  std::unique_ptr<TlsResultLog> tls_results;
  std::unique_ptr<ReportStore> report_store;
  std::unique_ptr<TlsSessionCounter> session_counter;
  std::unique_ptr<SwappableMtaStsProvider> mta_sts;  // never null; SIGHUP may swap what is behind it
  std::unique_ptr<MtaStsRefresher> sts_refresher;
  // Refreshers a reload stopped while their pass was still running.
  std::vector<std::unique_ptr<MtaStsRefresher>> retired_refreshers;
  DeliveryMetrics delivery_metrics;
  TlsPostureTally tls_posture;  // the web view's destination page
  LabelledCounter received{"tlsrelay_messages_received_total",
                           "Messages accepted into the spool (answered 250), TLS reports for us excluded",
                           {}};
  std::unique_ptr<ObserverQueue> events;  // after the observers: stopped before they go
  std::unique_ptr<dkim::ResolverKeySource> dkim_keys;
  std::shared_ptr<dkim::VerificationStage> dkim_verify;
  std::shared_ptr<dkim::SigningStage> dkim_sign;
  std::unique_ptr<DeliveryEngine> engine;
  std::unique_ptr<InboundServer> inbound;
  std::unique_ptr<ControlSocket> control;
  std::unique_ptr<ReportService> reports;  // null when [reporting] is off
  std::unique_ptr<AdminHttpServer> admin;  // null when [admin] is off
  std::function<bool()> admin_busy = [] { return false; };
  uv_signal_t sighup{}, sigterm{}, sigint{};
  uv_timer_t drain_timer{};
  bool stopping = false;
  int64_t started_at = static_cast<int64_t>(::time(nullptr));

  // The control socket's "status" answer.
  DaemonStatus status() const {
    DaemonStatus s;
    s.state = stopping ? DaemonStatus::State::Draining : DaemonStatus::State::Running;
    s.pid = ::getpid();
    s.started_at = started_at;
    s.now = static_cast<int64_t>(::time(nullptr));
    s.hostname = runtime.relay->hostname;
    s.config_file = runtime.relay->source_file;
    s.queued_messages = engine->queuedMessages();
    if (!stopping) {  // a draining daemon accepts no connections
      for (const auto& address : inbound->boundAddresses()) {
        std::string tls = "starttls";
        for (const auto& l : runtime.relay->inbound.listeners)
          if (l.address == address && l.tls == ListenerConfig::Tls::Implicit) tls = "implicit";
        s.listeners.push_back({address, tls});
      }
    }
    return s;
  }

  std::shared_ptr<const DeliveryConfig> deliveryConfig() const {
    return std::shared_ptr<const DeliveryConfig>(runtime.relay, &runtime.relay->delivery);
  }

  std::shared_ptr<const InboundSettings> inboundSettings() const {
    auto s = std::make_shared<InboundSettings>();
    s->config = std::shared_ptr<const InboundConfig>(runtime.relay, &runtime.relay->inbound);
    s->server_tls = runtime.server_tls;
    s->users = runtime.users;
    return s;
  }

  MetricsSources metricsSources() const {
    MetricsSources s;
    s.delivery = &delivery_metrics;
    s.engine = engine.get();
    s.inbound = inbound.get();
    s.received = &received;
    s.dns = dynamic_cast<const dns::CachingResolver*>(resolver->current().get());
    s.mta_sts = mta_sts->enabled() ? mta_sts.get() : nullptr;
    s.dkim = dkim_sign.get();
    s.reports = reports.get();
    s.now = [] { return static_cast<int64_t>(::time(nullptr)); };
    return s;
  }

  dkim::VerificationSettings verificationSettings() const {
    const DkimConfig& c = runtime.relay->dkim;
    return {c.authentication_results, c.verify_authenticated, c.authserv_id};
  }

  void reload() {
    auto fresh = loadRuntimeConfig(config_path);
    if (!fresh.ok()) {
      log::error("config", "reload failed; keeping the running configuration",
                 {{"error", fresh.error().message}});
      return;
    }
    const RelayConfig& before = *runtime.relay;
    const RelayConfig& after = *fresh->relay;
    const auto unix_now = [] { return static_cast<int64_t>(::time(nullptr)); };
    if (before.dns != after.dns) {
      auto next = makeConfiguredResolver(after.dns, unix_now);
      if (!next.ok()) {
        log::error("config", "reload failed; keeping the running configuration",
                   {{"error", next.error().message}});
        return;
      }
      // Lookups in flight finish on the old resolver; new ones use the new.
      resolver->replace(std::shared_ptr<dns::Resolver>(std::move(next.value())));
      log::info("config", "[dns] reloaded: new lookups use the new resolvers");
    }
    if (before.mta_sts != after.mta_sts) {
      mta_sts->replace(makeConfiguredMtaSts(after.mta_sts, resolver.get(), unix_now));
      restartStsRefresher(after.mta_sts);
      log::info("config",
                after.mta_sts.enabled ? "[mta_sts] reloaded" : "[mta_sts] reloaded: MTA-STS is off");
    }
    if (before.admin != after.admin || fresh->admin_bearer_token != runtime.admin_bearer_token)
      log::warn("config", "[admin] changes take effect at the next restart");
    runtime = std::move(fresh.value());
    log::Level level;
    if (log::parseLevel(runtime.relay->log_level, level)) log::setLevel(level);
    inbound->reload(inboundSettings());
    engine->configure(deliveryConfig(), runtime.policies);
    dkim_sign->update(runtime.dkim_signers, signingSourceCheck(runtime.relay));
    dkim_verify->update(verificationSettings());
    if (reports)
      reports->configure(reportServiceSettings(runtime.relay->reporting, runtime.relay->spool_directory));
    log::info("config", "configuration reloaded", {{"file", runtime.relay->source_file}});
  }

  // The background refresh with the current [mta_sts]; a pass still running
  // keeps its old refresher alive until the process ends.
  void restartStsRefresher(const MtaStsConfig& c) {
    if (sts_refresher) {
      sts_refresher->stop();
      if (sts_refresher->busy()) retired_refreshers.push_back(std::move(sts_refresher));
      sts_refresher.reset();
    }
    if (!c.enabled) return;
    sts_refresher = std::make_unique<MtaStsRefresher>(loop, mta_sts.get(), c.cache_directory,
                                                      MtaStsRefresher::intervalFor(c.refresh_before));
    sts_refresher->start();
  }

  bool stsRefreshing() const {
    if (sts_refresher && sts_refresher->busy()) return true;
    for (const auto& r : retired_refreshers)
      if (r->busy()) return true;
    return false;
  }

  void shutdown() {
    if (stopping) return;
    stopping = true;
    log::info("daemon", "draining: no new connections; finishing active sessions and deliveries");
    inbound->stopAccepting();
    control->setDraining();  // still answers "status"; closed when the loop ends
    if (sts_refresher) sts_refresher->stop();
    if (reports)
      reports->stop();  // before the drain: a report mail it still waits for is refused, retried later
    // The admin endpoint stays up while draining: /readyz says 503, /metrics
    // shows the queue emptying. The drain timer below stops it last.
    uv_timer_init(loop, &drain_timer);
    drain_timer.data = this;
    engine->drain([this] {
      // Active inbound sessions get a moment to finish their transaction.
      uv_timer_start(
          &drain_timer,
          [](uv_timer_t* t) {
            auto* d = static_cast<Daemon*>(t->data);
            bool refreshing = d->stsRefreshing();
            bool reporting = d->reports && d->reports->busy();
            if ((d->inbound->activeConnections() > 0 || refreshing || reporting) && d->drain_ticks++ < 100)
              return;
            if (d->admin) {
              d->admin->stop();  // lets its requests finish, then closes every handle
              if ((!d->admin->closed() || d->admin_busy()) && d->drain_ticks++ < 200) return;
            }
            uv_timer_stop(t);
            uv_stop(d->loop);
          },
          0, 100);
    });
  }
  int drain_ticks = 0;
};

// The admin endpoint ([admin]); false when it cannot listen (the relay then
// does not start: an operator who configured probes expects them).
bool startAdmin(Daemon& d) {
  const AdminConfig& a = d.runtime.relay->admin;
  AdminHttpConfig h;
  h.listen = a.listen;
  h.tls_certificate_file = a.certificate;
  h.tls_key_file = a.key;
  h.bearer_token = d.runtime.admin_bearer_token;
  if (d.reports && !a.report_path.empty()) h.public_paths.push_back(a.report_path);
  d.admin = std::make_unique<AdminHttpServer>(d.loop, std::move(h));
  AdminRouteSources s;
  s.loop = d.loop;
  s.engine = d.engine.get();
  s.metrics = [&d] { return d.metricsSources(); };
  s.status = [&d] { return d.status(); };
  s.draining = [&d] { return d.stopping; };
  s.report_store = d.report_store.get();
  s.reports = d.reports.get();
  s.report_sender = [&d] { return reportSender(d.runtime.relay->reporting); };
  s.report_path = a.report_path;
  s.tls_posture = [&d] { return d.tls_posture.snapshot(); };
  d.admin_busy = addAdminRoutes(*d.admin, std::move(s));
  auto started = d.admin->start();
  if (!started.ok()) {
    log::error("admin", started.error().message);
    return false;
  }
  if (d.runtime.admin_bearer_token.empty() && adminListensBeyondLoopback(a))
    log::warn("admin", "the admin endpoint listens beyond loopback without a bearer_token_file",
              {{"listen", a.listen}});
  return true;
}

}  // namespace

int runServe(const std::string& config_path) {
  // The thread pool carries fsync batches, DNS lookups and password hashing.
  setenv("UV_THREADPOOL_SIZE", "16", 0);
  Daemon d;
  d.config_path = config_path;
  auto rc = loadRuntimeConfig(config_path);
  if (!rc.ok()) {
    log::error("config", rc.error().message);
    return 2;
  }
  d.runtime = std::move(rc.value());
  const RelayConfig& cfg = *d.runtime.relay;
  log::Level level;
  if (log::parseLevel(cfg.log_level, level)) log::setLevel(level);

  SpoolOptions so;
  so.directory = cfg.spool_directory;
  auto spool = Spool::open(so);
  if (!spool.ok()) {
    log::error("spool", "cannot open spool",
               {{"dir", cfg.spool_directory}, {"error", spool.error().message}});
    return 2;
  }
  d.spool = std::move(spool.value());
  auto recovery = d.spool->recover();

  auto unix_now = [] { return static_cast<int64_t>(::time(nullptr)); };
  auto resolver = makeConfiguredResolver(cfg.dns, unix_now);
  if (!resolver.ok()) {
    log::error("dns", resolver.error().message);
    return 2;
  }
  d.resolver =
      std::make_unique<dns::SwappableResolver>(std::shared_ptr<dns::Resolver>(std::move(resolver.value())));
  d.mta_sts = std::make_unique<SwappableMtaStsProvider>(
      makeConfiguredMtaSts(cfg.mta_sts, d.resolver.get(), unix_now));

  d.received.add({}, 0);  // present from the first scrape
  std::vector<DeliveryObserver*> observers{&d.delivery_metrics, &d.tls_posture};
  {
    // Every attempt's TLS outcome, for the daily TLS reports (RFC 8460).
    std::string dir = cfg.spool_directory + "/tls-results";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    d.tls_results = std::make_unique<TlsResultLog>(dir, unix_now);
    observers.push_back(d.tls_results.get());
  }
  if (cfg.reporting.enabled) {
    // The TLS report store; a relay that cannot keep its counts says so and
    // does not start, rather than sending reports that miss sessions.
    auto store = openReportStore(cfg.reporting.store);
    if (!store.ok()) {
      log::error("reporting", "cannot open the TLS report store", {{"error", store.error().message}});
      return 2;
    }
    d.report_store = std::move(*store);
    d.session_counter = std::make_unique<TlsSessionCounter>(d.report_store.get());
    observers.push_back(d.session_counter.get());
  }
  if (!cfg.accounting_directory.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg.accounting_directory, ec);
    d.accounting = std::make_unique<AccountingLog>(cfg.accounting_directory, unix_now);
    observers.push_back(d.accounting.get());
  }

  d.loop = uv_default_loop();
  d.committer = std::make_unique<SpoolCommitter>(d.loop, d.spool.get());
  d.events = std::make_unique<ObserverQueue>(observers);
  // Pipeline order: check inbound signatures on the bytes as received; sign
  // last, so the signature covers what goes out (message/stage.h).
  auto verifier = dkim::Verifier::create();
  if (!verifier.ok()) {
    log::error("dkim", verifier.error().message);
    return 2;
  }
  d.dkim_keys = std::make_unique<dkim::ResolverKeySource>(*d.resolver);
  d.dkim_verify =
      std::make_shared<dkim::VerificationStage>(std::shared_ptr<const dkim::Verifier>(std::move(*verifier)),
                                                d.dkim_keys.get(), d.verificationSettings());
  d.dkim_sign =
      std::make_shared<dkim::SigningStage>(d.runtime.dkim_signers, signingSourceCheck(d.runtime.relay));
  d.engine = std::make_unique<DeliveryEngine>(
      d.loop, d.spool.get(), d.committer.get(), d.resolver.get(), d.events.get(),
      std::vector<std::shared_ptr<MessageStage>>{d.dkim_verify, d.dkim_sign});
  d.engine->configure(d.deliveryConfig(), d.runtime.policies);
  d.engine->setMtaSts(d.mta_sts.get());
  d.restartStsRefresher(cfg.mta_sts);
  d.inbound = std::make_unique<InboundServer>(
      d.loop, d.committer.get(),
      [&d](std::shared_ptr<Envelope> env, std::shared_ptr<const std::string> data) {
        d.received.add({});
        d.engine->enqueue(env, data);
      });
  auto listening = d.inbound->listen(d.inboundSettings());
  if (!listening.ok()) {
    log::error("smtpd", listening.error().message);
    return 2;
  }
  d.control =
      std::make_unique<ControlSocket>(d.loop, controlSocketPath(d.spool->directory()), d.engine.get());
  auto control_ok = d.control->listen();
  if (!control_ok.ok())
    log::warn("control", "control socket unavailable", {{"error", control_ok.error().message}});
  d.control->setStatusSource([&d] { return d.status(); });

  if (d.report_store) {
    d.reports = std::make_unique<ReportService>(
        d.loop, d.report_store.get(), d.resolver.get(),
        [&d](LocalMessage m, LocalSubmission::Done done) {
          d.engine->localSubmission().submit(std::move(m), std::move(done));
        },
        unix_now);
    d.reports->configure(reportServiceSettings(cfg.reporting, cfg.spool_directory));
    d.inbound->setReportIngest([&d](std::shared_ptr<const std::string> message, auto done) {
      d.reports->ingest(std::move(message),
                        [done = std::move(done)](IngestOutcome o) { done(o.kept(), o.error); });
    });
    d.control->addCommand("report-send", [&d](const std::string& arg, ControlSocket::Reply reply) {
      sendReportsNow(*d.reports, arg, std::move(reply));
    });
  }

  d.control->addCommand("metrics", [&d](const std::string&, ControlSocket::Reply reply) {
    reply("ok\n" + renderMetrics(d.metricsSources()));
  });
  if (cfg.admin.enabled && !startAdmin(d)) return 2;
  if (d.reports) d.reports->start();  // after the last way start-up can fail

  for (auto& env : recovery.messages) d.engine->enqueue(std::make_shared<Envelope>(std::move(env)), nullptr);

  uv_signal_init(d.loop, &d.sighup);
  uv_signal_init(d.loop, &d.sigterm);
  uv_signal_init(d.loop, &d.sigint);
  d.sighup.data = d.sigterm.data = d.sigint.data = &d;
  uv_signal_start(
      &d.sighup, [](uv_signal_t* s, int) { static_cast<Daemon*>(s->data)->reload(); }, SIGHUP);
  uv_signal_start(
      &d.sigterm, [](uv_signal_t* s, int) { static_cast<Daemon*>(s->data)->shutdown(); }, SIGTERM);
  uv_signal_start(
      &d.sigint, [](uv_signal_t* s, int) { static_cast<Daemon*>(s->data)->shutdown(); }, SIGINT);
  ::signal(SIGPIPE, SIG_IGN);

  log::info("daemon", "tlsrelay started", {{"config", cfg.source_file}, {"hostname", cfg.hostname}});
  uv_run(d.loop, UV_RUN_DEFAULT);
  d.control->close();
  if (d.reports && d.reports->busy()) {
    // A report pass outlived the drain (a slow HTTPS rua): its thread still
    // uses the store and the resolver. Its report stays claimed until the
    // lease ends, then the next start sends it.
    (void)d.reports.release();
    (void)d.report_store.release();
    (void)d.resolver.release();
  }
  if (d.stsRefreshing()) {
    // A refresh pass outlived the drain: its thread still uses these objects,
    // and the process is about to exit anyway.
    (void)d.sts_refresher.release();
    for (auto& r : d.retired_refreshers) (void)r.release();
    (void)d.mta_sts.release();
    (void)d.resolver.release();
  }
  d.events->stop();  // every accounting row and TLS result reaches its file before exit
  log::info("daemon", "tlsrelay stopped");
  return 0;
}

}  // namespace tlsrelay
