// Next-hop walk and SMTP conversation for one destination; see delivery_job.h.
#include "relay/delivery_job.h"

#include <random>

#include "common/cidr.h"
#include "common/host_port.h"
#include "common/log.h"
#include "dnssec/mx_resolution.h"
#include "dnssec/resolver.h"
#include "policy/destination_tls.h"
#include "policy/domain_policy.h"
#include "relay/config.h"
#include "relay/connection.h"
#include "relay/smtp_client_session.h"
#include "relay/spool.h"
#include "relay/tls_context.h"
#include "relay/tls_engine.h"

namespace tlsrelay {
namespace {

// How long an idle connection waits for the next message to its destination
// (Postfix: smtp_connection_cache_time_limit, 2 s).
constexpr std::chrono::seconds kIdleConnectionTime{2};

uint32_t randomNumber() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return rng();
}

OutboundMessage toOutbound(const JobMessage& m) {
  OutboundMessage out;
  const Envelope& e = *m.envelope;
  out.mail_from = e.mail_from;
  out.body_8bit = e.flags.body_8bit;
  out.smtputf8 = e.flags.smtputf8;
  // RFC 8689: the client session refuses to send a REQUIRETLS message unless
  // TLS is up and the server offers REQUIRETLS, so it never leaves in clear.
  out.requiretls = e.flags.requiretls;
  out.envid = e.envid;
  out.ret = e.ret;
  for (size_t i : m.recipients) {
    out.recipients.push_back(e.recipients[i].address);
    out.notify.push_back(e.recipients[i].notify);
    out.orcpt.push_back(e.recipients[i].orcpt);
  }
  out.data = m.data;
  return out;
}

// RFC 8460 §4.3 result types for what this stage can observe.
std::string resultTypeForVerification(const PeerVerification& v) {
  if (v.error.find("hostname") != std::string::npos || v.error.find("host name") != std::string::npos)
    return "certificate-host-mismatch";
  if (v.error.find("expired") != std::string::npos) return "certificate-expired";
  return "certificate-not-trusted";
}

}  // namespace

// One TCP connection to one target, driving an SmtpClientSession.
class OutboundConnection : public Connection::Handler {
 public:
  OutboundConnection(DeliveryJob* job, JobTarget target, TlsDecision decision, bool allow_tls)
      : job_(job), target_(std::move(target)), decision_(std::move(decision)) {
    ClientSessionConfig cc;
    cc.helo_name = job_->ctx_.config->hostname;
    cc.starttls = allow_tls ? decision_.starttls : StartTlsMode::Never;
    session_ = std::make_unique<SmtpClientSession>(cc);
    info_.mx_host = target_.mx_host;
    info_.ip = target_.ip;
    info_.policy_source = decision_.policy_source;
    info_.verification = "none";
  }

  void start() {
    auto sa = toSockaddr(target_.ip, target_.port);
    conn_ = Connection::create(job_->ctx_.loop, this);
    if (!sa.ok() || conn_->connect(reinterpret_cast<const sockaddr*>(&sa.value())) != 0) {
      failure_ = transientFailure("cannot connect to " + target_.ip);
      conn_->abort();
      return;
    }
    conn_->setTimeout(std::chrono::seconds(30));  // RFC 5321 leaves connect timeouts to us
  }

  void onConnected(int status) override {
    if (status < 0) {
      failure_ = transientFailure("connect to " + target_.mx_host + "[" + target_.ip +
                                  "]:" + std::to_string(target_.port) + " failed: " + uv_strerror(status));
      conn_->abort();
      return;
    }
    conn_->startReading();
    conn_->setTimeout(session_->currentTimeout());
  }

  void onPlaintext(std::string_view bytes) override {
    session_->feed(bytes);
    process();
  }

  void onTlsDone(bool ok, const std::string& error) override {
    if (!ok) {
      tls_failed_ = true;
      failure_ = transientFailure("TLS handshake with " + target_.mx_host + " failed: " + error, "4.7.5");
      info_.result_type = "validation-failure";
      session_->tlsFailed();
      process();
      return;
    }
    TlsEngine* tls = conn_->tls();
    info_.tls_protocol = tls->protocol();
    info_.tls_cipher = tls->cipher();
    if (decision_.verify == VerifyMode::Pkix) {
      PeerVerification v = tls->verification();
      if (!v.verified) {
        // Policy demands an authenticated peer: never send to this one.
        info_.result_type = resultTypeForVerification(v);
        failure_ =
            transientFailure("certificate of " + target_.mx_host + " not verified: " + v.error, "4.7.5");
        conn_->abort();
        return;
      }
      info_.verification = "pkix";
    }
    session_->tlsEstablished();
    process();
  }

  void onTimeout() override {
    if (idle_token_ != 0) {
      // Nothing came for this destination in time: close politely.
      job_->callbacks_.cancel_idle(idle_token_);
      idle_token_ = 0;
      session_->quit();
      process();
      return;
    }
    session_->timeout();
    process();
    if (conn_ && !conn_->closing()) {
      failure_ = transientFailure("timeout " + std::string(session_->stateName()) + " at " + target_.mx_host);
      conn_->abort();
    }
  }

  void onClosed() override {
    conn_ = nullptr;
    if (idle_token_ != 0) job_->callbacks_.cancel_idle(idle_token_);
    if (current_) {
      // The connection died with a message in flight: it was not accepted.
      job_->pending_.insert(job_->pending_.begin(), std::move(*current_));
      current_.reset();
    }
    job_->last_failure_ = failure_;
    job_->last_info_ = info_;
    job_->retry_without_tls_ =
        tls_failed_ && decision_.starttls == StartTlsMode::Opportunistic && !job_->retry_without_tls_;
    DeliveryJob* job = job_;
    delete this;
    job->connectionDone();
  }

 private:
  void process() {
    if (!conn_) return;
    std::string out = session_->takeOutput();
    if (!out.empty()) conn_->write(out);
    while (auto ev = session_->nextEvent()) {
      switch (ev->kind) {
        case SmtpClientSession::EventKind::StartTls: {
          auto ctx = job_->ctx_.client_tls(decision_);
          if (!ctx) {
            failure_ = transientFailure("no TLS client context for " + decision_.policy_source, "4.7.5");
            conn_->abort();
            return;
          }
          std::string verify_host = decision_.verify == VerifyMode::Pkix ? target_.mx_host : "";
          conn_->startTls(TlsEngine::client(ctx, target_.mx_host, verify_host));
          break;
        }
        case SmtpClientSession::EventKind::Ready:
          sendNextOrQuit();
          break;
        case SmtpClientSession::EventKind::MessageDone:
          messageDone(ev->result);
          break;
        case SmtpClientSession::EventKind::Failed:
          failure_ = transientFailure(ev->reason, "4.4.2");
          if (ev->reply) failure_ = outcomeFromReply(*ev->reply);
          if (failure_.verdict == RecipientVerdict::Delivered) failure_.verdict = RecipientVerdict::Retry;
          if (ev->starttls_missing) {
            info_.result_type = "starttls-not-supported";
            failure_ = transientFailure("STARTTLS required by " + decision_.policy_source + " but " +
                                            target_.mx_host + " does not offer it",
                                        "4.7.4");
          }
          if (failure_.response.empty()) failure_.response = ev->reason;
          conn_->abort();
          return;
        case SmtpClientSession::EventKind::Closed:
          conn_->close();
          return;
      }
      if (!conn_ || conn_->closing()) return;
      out = session_->takeOutput();
      if (!out.empty()) conn_->write(out);
    }
    if (conn_ && !conn_->closing())
      conn_->setTimeout(idle_token_ != 0
                            ? std::chrono::duration_cast<std::chrono::seconds>(kIdleConnectionTime)
                            : session_->currentTimeout());
  }

  void sendNextOrQuit() {
    int limit = job_->ctx_.config->max_messages_per_connection;
    if (job_->pending_.empty() && (limit <= 0 || job_->messages_sent_ < limit)) {
      if (auto more = job_->callbacks_.next_message()) job_->pending_.push_back(std::move(*more));
    }
    bool at_limit = limit > 0 && job_->messages_sent_ >= limit;
    if (job_->pending_.empty() && !at_limit && job_->callbacks_.idle) {
      // Keep the connection for the next message to this destination.
      idle_token_ = job_->callbacks_.idle([this](std::optional<JobMessage> next) {
        idle_token_ = 0;
        if (!conn_ || conn_->closing()) return;
        if (next) {
          job_->pending_.push_back(std::move(*next));
          sendNextOrQuit();
        } else {
          session_->quit();
        }
        process();
      });
      return;
    }
    if (job_->pending_.empty() || at_limit) {
      session_->quit();
      return;
    }
    current_ = std::move(job_->pending_.front());
    job_->pending_.erase(job_->pending_.begin());
    ++job_->messages_sent_;
    session_->sendMessage(toOutbound(*current_));
  }

  void messageDone(const SmtpClientSession::MessageResult& r) {
    if (!current_) return;
    std::vector<std::pair<size_t, RecipientOutcome>> outcomes;
    for (size_t k = 0; k < current_->recipients.size(); ++k) {
      RecipientOutcome o;
      if (r.mail_reply) {
        o = outcomeFromReply(*r.mail_reply);
      } else if (k < r.recipient_replies.size() && !r.recipient_replies[k].isPositive()) {
        o = outcomeFromReply(r.recipient_replies[k]);
      } else if (r.data_reply) {
        o = outcomeFromReply(*r.data_reply);
      } else if (k < r.recipient_replies.size()) {
        o = transientFailure("no data reply after " + r.recipient_replies[k].text());
      } else {
        o = transientFailure("no reply for recipient");
      }
      outcomes.emplace_back(current_->recipients[k], std::move(o));
    }
    if (info_.result_type.empty()) info_.result_type = info_.tls_protocol.empty() ? "" : "success";
    job_->callbacks_.results(*current_, outcomes, info_);
    current_.reset();
  }

  DeliveryJob* job_;
  JobTarget target_;
  TlsDecision decision_;
  std::unique_ptr<SmtpClientSession> session_;
  Connection* conn_ = nullptr;
  std::optional<JobMessage> current_;
  RecipientOutcome failure_ = transientFailure("connection closed");
  AttemptInfo info_;
  bool tls_failed_ = false;
  uint64_t idle_token_ = 0;
};

DeliveryJob::DeliveryJob(JobContext context, std::string domain, std::vector<JobMessage> messages,
                         Callbacks callbacks)
    : ctx_(std::move(context)),
      domain_(std::move(domain)),
      pending_(std::move(messages)),
      callbacks_(std::move(callbacks)) {}

void DeliveryJob::start(JobContext context, std::string domain, std::vector<JobMessage> messages,
                        Callbacks callbacks) {
  auto* job =
      new DeliveryJob(std::move(context), std::move(domain), std::move(messages), std::move(callbacks));
  job->resolve();
}

namespace {
struct ResolveWork {
  uv_work_t work;
  DeliveryJob* job;
};
}  // namespace

void DeliveryJob::resolve() {
  auto* w = new ResolveWork{{}, this};
  w->work.data = w;
  uv_queue_work(
      ctx_.loop, &w->work,
      [](uv_work_t* req) {
        DeliveryJob* self = static_cast<ResolveWork*>(req->data)->job;
        // Blocking: DNS lookups and spool reads, on the thread pool.
        for (auto& m : self->pending_) {
          if (m.data) continue;
          auto data = self->ctx_.spool->readData(m.envelope->queue_id);
          if (data.ok()) m.data = std::make_shared<const std::string>(std::move(data.value()));
        }
        const RelayConfig& cfg = *self->ctx_.config;
        if (!cfg.smarthost.empty()) {
          auto hp = parseHostPort(cfg.smarthost, 25);
          if (!hp.ok()) {
            self->terminal_ = transientFailure("bad smarthost: " + hp.error().message, "4.3.5");
            return;
          }
          if (IpAddress::parse(hp->host)) {
            self->targets_.push_back(JobTarget{hp->host, hp->host, hp->port, dns::Security::Insecure});
            return;
          }
          auto addrs = self->ctx_.resolver->lookupAddresses(hp->host);
          for (const auto& ip : addrs.records)
            self->targets_.push_back(JobTarget{hp->host, ip, hp->port, addrs.security});
          if (self->targets_.empty())
            self->terminal_ = transientFailure(
                "smarthost " + hp->host + " has no address (" + dns::toString(addrs.outcome) + ")", "4.4.3");
          return;
        }
        auto mx = self->ctx_.resolver->lookupMx(self->domain_);
        dns::MxPlan plan = dns::planMx(self->domain_, mx, randomNumber);
        switch (plan.kind) {
          case dns::MxPlan::Kind::NullMx:
            // RFC 7505 §3: the domain accepts no mail; fail at once.
            self->terminal_ =
                permanentFailure("domain " + self->domain_ + " does not accept mail (null MX)", "5.1.10");
            return;
          case dns::MxPlan::Kind::NoSuchDomain:
            self->terminal_ = permanentFailure("domain " + self->domain_ + " does not exist", "5.1.2");
            return;
          case dns::MxPlan::Kind::TempFail:
            self->terminal_ =
                transientFailure("MX lookup for " + self->domain_ + " failed: " + plan.why, "4.4.3");
            return;
          case dns::MxPlan::Kind::Bogus:
            self->terminal_ =
                transientFailure("DNSSEC validation failed for " + self->domain_ + ": " + plan.why, "4.7.5");
            return;
          case dns::MxPlan::Kind::Hosts:
            break;
        }
        std::string last_why;
        for (const auto& host : plan.hosts) {
          auto addrs = self->ctx_.resolver->lookupAddresses(host.host);
          if (addrs.outcome != dns::Outcome::Found)
            last_why = host.host + ": " + dns::toString(addrs.outcome);
          if (addrs.security == dns::Security::Bogus) continue;  // never deliver on bogus data
          for (const auto& ip : addrs.records)
            self->targets_.push_back(JobTarget{host.host, ip, 25, host.mx_security});
        }
        if (self->targets_.empty())
          self->terminal_ = transientFailure("no usable address for any MX of " + self->domain_ +
                                                 (last_why.empty() ? "" : " (" + last_why + ")"),
                                             "4.4.3");
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<ResolveWork> w(static_cast<ResolveWork*>(req->data));
        w->job->onResolved();
      });
}

void DeliveryJob::onResolved() {
  // Messages whose data could not be read stay queued for a later run.
  std::vector<JobMessage> unreadable;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (!it->data) {
      unreadable.push_back(std::move(*it));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& m : unreadable) {
    std::vector<std::pair<size_t, RecipientOutcome>> outcomes;
    for (size_t i : m.recipients)
      outcomes.emplace_back(i, transientFailure("spool data unreadable", "4.3.0"));
    callbacks_.results(m, outcomes, AttemptInfo{});
  }
  if (terminal_) {
    AttemptInfo info;
    failAll(*terminal_, info);
    finish();
    return;
  }
  tryNextTarget();
}

TlsDecision DeliveryJob::decideTls(const JobTarget& target) const {
  auto ip = IpAddress::parse(target.ip).value_or(IpAddress{});
  return decideDestinationTls(ctx_.policies->match(domain_), ip);
}

void DeliveryJob::tryNextTarget() {
  if (pending_.empty()) {
    // Connection reuse hands us nothing more: done.
    finish();
    return;
  }
  if (next_target_ >= targets_.size() && !retry_without_tls_) {
    failAll(last_failure_, last_info_);
    finish();
    return;
  }
  bool allow_tls = true;
  if (retry_without_tls_) {
    // Opportunistic TLS failed on the previous target: same host once more in clear.
    allow_tls = false;
    retry_without_tls_ = false;
    --next_target_;
  }
  const JobTarget& target = targets_[next_target_++];
  TlsDecision decision = decideTls(target);
  if (log::enabled(log::Level::Debug))
    log::debug("delivery", "trying next hop",
               {{"domain", domain_},
                {"mx", target.mx_host},
                {"ip", target.ip},
                {"starttls", toString(decision.starttls)},
                {"policy", decision.policy_source}});
  auto* oc = new OutboundConnection(this, target, decision, allow_tls);
  oc->start();
}

void DeliveryJob::connectionDone() {
  bool another_hop = next_target_ < targets_.size() || retry_without_tls_;
  if (another_hop && callbacks_.hop_failed)
    for (const auto& m : pending_) callbacks_.hop_failed(m, last_failure_, last_info_);
  tryNextTarget();
}

void DeliveryJob::failAll(const RecipientOutcome& outcome, const AttemptInfo& info) {
  for (auto& m : pending_) {
    std::vector<std::pair<size_t, RecipientOutcome>> outcomes;
    for (size_t i : m.recipients) outcomes.emplace_back(i, outcome);
    callbacks_.results(m, outcomes, info);
  }
  pending_.clear();
}

void DeliveryJob::finish() {
  auto finished = std::move(callbacks_.finished);
  delete this;
  if (finished) finished();
}

}  // namespace tlsrelay
