// The libuv adapter of a delivery run; see delivery_job.h.
#include "relay/outbound/delivery_job.h"

#include <random>

#include "common/cidr.h"
#include "common/host_port.h"
#include "common/log.h"
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/net/connection.h"
#include "relay/outbound/message_pipeline.h"
#include "relay/tls/tls_context.h"
#include "relay/tls/tls_engine.h"

namespace tlsrelay {
namespace {

uint32_t randomNumber() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return rng();
}

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

// One TCP connection: hands the Connection's callbacks to the attempt.
class DeliveryJob::Link : public Connection::Handler {
 public:
  explicit Link(DeliveryJob* job) : job_(job) {}
  Connection* conn = nullptr;

  void onConnected(int status) override {
    if (status >= 0) conn->startReading();
    job_->attempt_->connected(status >= 0, status < 0 ? uv_strerror(status) : "",
                              status >= 0 ? conn->localAddress() : "");
    job_->drive();
  }
  void onPlaintext(std::string_view bytes) override {
    job_->attempt_->received(bytes);
    job_->drive();
  }
  void onTlsDone(bool ok, const std::string& error) override {
    TlsOutcomeInput in;
    in.ok = ok;
    in.error = error;
    if (ok) {
      TlsEngine* tls = conn->tls();
      in.protocol = tls->protocol();
      in.cipher = tls->cipher();
      in.verification = tls->verification();
    }
    job_->attempt_->tlsDone(in);
    job_->drive();
  }
  void onTimeout() override {
    job_->attempt_->timedOut();
    job_->drive();
  }
  void onClosed() override {
    conn = nullptr;
    DeliveryJob* job = job_;
    std::unique_ptr<Link> self = std::move(job->link_);  // deleted when this returns
    job->attempt_->closed();
    job->drive();
  }

 private:
  DeliveryJob* job_;
};

DeliveryJob::DeliveryJob(JobContext context, std::string destination, std::string domain,
                         std::set<std::string> hosts_in_backoff, std::vector<JobMessage> messages,
                         Callbacks callbacks)
    : ctx_(std::move(context)),
      destination_(std::move(destination)),
      domain_(std::move(domain)),
      hosts_in_backoff_(std::move(hosts_in_backoff)),
      messages_(std::move(messages)),
      callbacks_(std::move(callbacks)),
      alive_(std::make_shared<bool>(true)) {}

DeliveryJob::~DeliveryJob() {
  *alive_ = false;
}

void DeliveryJob::start(JobContext context, std::string destination, std::string domain,
                        std::set<std::string> hosts_in_backoff, std::vector<JobMessage> messages,
                        Callbacks callbacks) {
  auto* job = new DeliveryJob(std::move(context), std::move(destination), std::move(domain),
                              std::move(hosts_in_backoff), std::move(messages), std::move(callbacks));
  job->resolve();
}

void DeliveryJob::resolve() {
  struct ResolveWork {
    uv_work_t work;
    DeliveryJob* job;
    NextHops hops;
    ConfiguredNextHop next_hop;
  };
  // The policy file may route the domain elsewhere (its next_hop).
  ConfiguredNextHop next_hop = nextHopFor(ctx_.policies->match(domain_), ctx_.smarthost);
  auto* w = new ResolveWork{{}, this, {}, std::move(next_hop)};
  w->work.data = w;
  uv_queue_work(
      ctx_.loop, &w->work,
      [](uv_work_t* req) {
        auto* work = static_cast<ResolveWork*>(req->data);
        DeliveryJob* self = work->job;
        // Blocking: spool reads and DNS lookups, on the thread pool.
        for (auto& m : self->messages_) {
          if (m.data) continue;
          auto data = self->ctx_.load_data(m.envelope->queue_id);
          if (data.ok()) m.data = std::make_shared<const std::string>(std::move(data.value()));
        }
        work->hops = resolveNextHops(work->next_hop, *self->ctx_.resolver, self->ctx_.mta_sts, self->domain_,
                                     randomNumber);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<ResolveWork> work(static_cast<ResolveWork*>(req->data));
        work->job->onResolved(std::move(work->hops));
      });
}

void DeliveryJob::onResolved(NextHops hops) {
  // Messages whose data could not be read stay queued for a later run.
  std::vector<JobMessage> readable;
  for (auto& m : messages_) {
    if (m.data) {
      readable.push_back(std::move(m));
      continue;
    }
    DeliveryAttempt::Outcome o;
    o.message = m;
    for (size_t i : m.recipients)
      o.results.push_back(
          {i, transientFailure("spool data unreadable", status::kLocalError, FailureCause::Local)});
    auto record = std::make_shared<SessionRecord>();
    record->destination = destination_;
    record->domain = domain_;
    record->policy = std::make_shared<const ReportPolicy>();
    o.session = std::move(record);
    callbacks_.outcome(o);
  }
  messages_.clear();

  AttemptPlan plan;
  plan.destination = destination_;
  plan.domain = domain_;
  plan.hops = std::move(hops);
  if (!readable.empty()) {
    const MessageFlags& f = readable.front().envelope->flags;
    plan.flags = MessageTlsFlags{f.requiretls, f.tls_required_no};
  }
  plan.policy = ctx_.policies->match(domain_);
  plan.hosts_in_backoff = std::move(hosts_in_backoff_);
  attempt_ =
      std::make_unique<DeliveryAttempt>(ctx_.settings, std::move(plan), std::move(readable), ctx_.clock);
  attempt_->start();
  drive();
}

// Carries out the attempt's actions in order until it has none left.
void DeliveryJob::drive() {
  if (driving_) return;  // an action's callback re-entered; the outer loop continues
  driving_ = true;
  bool done = false;
  DeliveryAttempt::Finished finished;
  while (auto action = attempt_->next()) {
    std::visit(
        Overloaded{
            [&](DeliveryAttempt::Connect& c) {
              link_ = std::make_unique<Link>(this);
              link_->conn = Connection::create(ctx_.loop, link_.get());
              auto sa = toSockaddr(c.ip, c.port);
              if (!sa.ok() || link_->conn->connect(reinterpret_cast<const sockaddr*>(&sa.value())) != 0) {
                attempt_->connected(false, sa.ok() ? "cannot start the connection" : sa.error().message);
              }
            },
            [&](DeliveryAttempt::Send& s) {
              if (link_ && link_->conn) link_->conn->write(s.bytes);
            },
            [&](DeliveryAttempt::StartTls& t) {
              if (!link_ || !link_->conn) return;
              auto ctx = ctx_.client_tls(t.decision);
              if (!ctx) {
                attempt_->tlsUnavailable("no TLS client context for " + t.decision.policy_source);
                return;
              }
              const TlsDecision& d = t.decision;
              bool pkix = d.verify == VerifyMode::Pkix || d.verify == VerifyMode::Sts;
              auto engine = TlsEngine::client(ctx, t.mx_host, pkix ? t.mx_host : "");
              if (d.verify == VerifyMode::Dane) {
                auto st = engine->enableDane(d.tlsa_base, d.tlsa, d.dane_names);
                if (!st.ok()) {
                  // decideTls passes only usable records, so this is a local fault.
                  attempt_->tlsUnavailable("cannot set up DANE for " + t.mx_host + ": " + st.error().message);
                  return;
                }
              }
              link_->conn->startTls(std::move(engine));
            },
            [&](DeliveryAttempt::SetTimer& t) {
              if (link_ && link_->conn && !link_->conn->closing()) link_->conn->setTimeout(t.after);
            },
            [&](DeliveryAttempt::Close&) {
              if (link_ && link_->conn) link_->conn->close();
            },
            [&](DeliveryAttempt::Abort&) {
              if (link_ && link_->conn) link_->conn->abort();
            },
            [&](DeliveryAttempt::NeedMessage& n) {
              if (auto m = callbacks_.next_message ? callbacks_.next_message() : std::nullopt) {
                attempt_->supplyMessage(std::move(m));
              } else if (n.may_wait && callbacks_.idle) {
                // Keep the connection for the next message to this destination.
                attempt_->supplyMessage(std::nullopt, /*waiting=*/true);
                idle_token_ = callbacks_.idle([this, alive = alive_](std::optional<JobMessage> next) {
                  if (!*alive) return;
                  idle_token_ = 0;
                  attempt_->supplyMessage(std::move(next));
                  drive();
                });
              } else {
                attempt_->supplyMessage(std::nullopt);
              }
            },
            [&](DeliveryAttempt::StopWaiting&) {
              if (idle_token_ != 0) callbacks_.cancel_idle(idle_token_);
              idle_token_ = 0;
            },
            [&](DeliveryAttempt::Prepare& p) {
              auto ready = ctx_.pipeline->run(p.message, p.hop, [this, alive = alive_](PreparedMessage m) {
                if (!*alive) return;
                attempt_->prepared(std::move(m));
                drive();
              });
              if (ready) attempt_->prepared(std::move(*ready));
            },
            [&](DeliveryAttempt::Outcome& o) { callbacks_.outcome(o); },
            [&](DeliveryAttempt::HostHealth& h) {
              if (callbacks_.host_health) callbacks_.host_health(h);
            },
            [&](DeliveryAttempt::Event& e) {
              if (callbacks_.session_event) callbacks_.session_event(e.event);
            },
            [&](DeliveryAttempt::Finished& f) {
              done = true;
              finished = f;
            },
        },
        *action);
  }
  driving_ = false;
  if (!done) return;
  if (idle_token_ != 0) callbacks_.cancel_idle(idle_token_);
  auto callback = std::move(callbacks_.finished);
  delete this;
  if (callback) callback(finished);
}

}  // namespace tlsrelay
