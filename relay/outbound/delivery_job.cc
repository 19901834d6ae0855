// Next-hop walk and SMTP conversation for one destination; see delivery_job.h.
#include "relay/outbound/delivery_job.h"

#include <random>

#include "common/cidr.h"
#include "common/host_port.h"
#include "common/log.h"
#include "dnssec/resolver.h"
#include "policy/domain_policy.h"
#include "policy/tls_policy.h"
#include "relay/config/config.h"
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/net/connection.h"
#include "relay/smtp/smtp_client_session.h"
#include "relay/tls/tls_context.h"
#include "relay/tls/tls_engine.h"

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

AttemptTls attemptTlsFrom(const TlsDecision& d) {
  AttemptTls t;
  t.policy_source = d.policy_source;
  t.policy_type = d.report.policy_type;
  t.policy_domain = d.report.policy_domain;
  t.policy_strings = d.report.policy_strings;
  t.mx_patterns = d.report.mx_host;
  return t;
}

CertificateCheck certificateCheck(VerifyMode mode, const PeerVerification& v) {
  if (mode == VerifyMode::None) return CertificateCheck::NotChecked;
  if (mode == VerifyMode::Dane)
    return v.verified && v.dane ? CertificateCheck::Verified : CertificateCheck::DaneMismatch;
  if (v.verified) return CertificateCheck::Verified;
  switch (v.failure) {
    case PeerVerification::Failure::HostMismatch:
      return CertificateCheck::HostMismatch;
    case PeerVerification::Failure::Expired:
      return CertificateCheck::Expired;
    default:
      return CertificateCheck::NotTrusted;
  }
}

}  // namespace

// One TCP connection to one target, driving an SmtpClientSession.
class OutboundConnection : public Connection::Handler {
 public:
  OutboundConnection(DeliveryJob* job, JobTarget target, TlsDecision decision, bool allow_tls)
      : job_(job),
        target_(std::move(target)),
        decision_(std::move(decision)),
        tls_retry_in_clear_(!allow_tls) {
    ClientSessionConfig cc;
    cc.helo_name = job_->ctx_.config->hostname;
    cc.starttls = allow_tls ? decision_.starttls : StartTlsMode::Never;
    session_ = std::make_unique<SmtpClientSession>(cc);
    info_.mx_host = target_.mx_host;
    info_.ip = target_.ip;
    info_.tls = attemptTlsFrom(decision_);
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
    AttemptObservation seen;
    seen.stage = AttemptObservation::Stage::Handshake;
    seen.starttls_offered = true;
    if (!ok) {
      seen.handshake_failed = true;
      seen.handshake_error = error;
      AttemptVerdict v = classifyAttempt(decision_, seen);
      tls_failed_ = true;
      record(v);
      failure_ = transientFailure("TLS handshake with " + target_.mx_host + " failed: " + error,
                                  v.status.empty() ? "4.7.5" : v.status);
      session_->tlsFailed();
      process();
      return;
    }
    TlsEngine* tls = conn_->tls();
    info_.tls.protocol = tls->protocol();
    info_.tls.cipher = tls->cipher();
    PeerVerification peer = tls->verification();
    seen.certificate = certificateCheck(decision_.verify, peer);
    seen.certificate_error = peer.error;
    handshake_seen_ = seen;
    AttemptVerdict v = classifyAttempt(decision_, seen);
    record(v);
    if (!v.proceed) {
      // Policy demands an authenticated peer: never send to this one.
      failure_ = transientFailure(v.reason, v.status);
      conn_->abort();
      return;
    }
    if (seen.certificate == CertificateCheck::Verified) info_.tls.verification = toString(decision_.verify);
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
          bool pkix = decision_.verify == VerifyMode::Pkix || decision_.verify == VerifyMode::Sts;
          auto engine = TlsEngine::client(ctx, target_.mx_host, pkix ? target_.mx_host : "");
          if (decision_.verify == VerifyMode::Dane) {
            auto st = engine->enableDane(decision_.tlsa_base, decision_.tlsa, decision_.dane_names);
            if (!st.ok()) {
              // decideTls passes only usable records, so this is a local fault.
              failure_ = transientFailure(
                  "cannot set up DANE for " + target_.mx_host + ": " + st.error().message, "4.7.5");
              conn_->abort();
              return;
            }
          }
          conn_->startTls(std::move(engine));
          break;
        }
        case SmtpClientSession::EventKind::Ready:
          if (!checkedAfterEhlo()) return;
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
            AttemptObservation seen;
            seen.starttls_offered = false;
            AttemptVerdict v = classifyAttempt(decision_, seen);
            record(v);
            failure_ =
                transientFailure(v.reason.empty() ? "STARTTLS required by " + decision_.policy_source +
                                                        " but " + target_.mx_host + " does not offer it"
                                                  : v.reason,
                                 v.status.empty() ? "4.7.4" : v.status);
          }
          if (!ev->requiretls_reason.empty()) {
            info_.tls.requiretls_reason = ev->requiretls_reason;
            failure_ = transientFailure(ev->reason, "4.7.10");
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
    int limit = job_->ctx_.config->delivery.max_messages_per_connection;
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
    if (info_.tls.result_type.empty() && !info_.tls.protocol.empty()) info_.tls.result_type = "success";
    job_->callbacks_.results(*current_, outcomes, info_);
    current_.reset();
  }

  // Keeps the verdict's report fields; a later checkpoint's failure overrides
  // an earlier success.
  void record(const AttemptVerdict& v) {
    if (!v.result_type.empty() && (info_.tls.result_type.empty() || info_.tls.result_type == "success"))
      info_.tls.result_type = v.result_type;
    if (!v.reason.empty() && v.result_type != "success") info_.tls.failure_reason = v.reason;
    if (!v.requiretls_reason.empty()) info_.tls.requiretls_reason = v.requiretls_reason;
  }

  // The first Ready: the EHLO exchange is over (over TLS if STARTTLS
  // succeeded). Checks what the policy demands of it; false = hop abandoned.
  bool checkedAfterEhlo() {
    if (ehlo_checked_) return true;
    ehlo_checked_ = true;
    AttemptObservation seen;
    if (session_->tlsActive()) {
      seen = handshake_seen_;  // the TLS EHLO verdict builds on the handshake's
      seen.stage = AttemptObservation::Stage::TlsEhlo;
      seen.requiretls_offered = session_->capabilities().requiretls;
    } else {
      if (tls_retry_in_clear_) return true;  // the handshake failure is already recorded
      seen.stage = AttemptObservation::Stage::Ehlo;
      seen.starttls_offered = session_->capabilities().starttls;
    }
    AttemptVerdict v = classifyAttempt(decision_, seen);
    record(v);
    if (v.proceed) return true;
    failure_ = transientFailure(v.reason, v.status.empty() ? "4.7.5" : v.status);
    conn_->abort();
    return false;
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
  bool tls_retry_in_clear_ = false;  // this connection is the clear-text retry after a TLS failure
  bool ehlo_checked_ = false;
  AttemptObservation handshake_seen_;
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
          auto data = self->ctx_.load_data(m.envelope->queue_id);
          if (data.ok()) m.data = std::make_shared<const std::string>(std::move(data.value()));
        }
        if (!self->pending_.empty()) {
          const MessageFlags& f = self->pending_.front().envelope->flags;
          self->flags_ = MessageTlsFlags{f.requiretls, f.tls_required_no};
        }
        NextHops hops = resolveNextHops(*self->ctx_.config, *self->ctx_.resolver, self->ctx_.mta_sts,
                                        self->domain_, randomNumber);
        self->targets_ = std::move(hops.targets);
        self->sts_ = std::move(hops.sts);
        self->terminal_ = std::move(hops.terminal);
        self->terminal_result_type_ = std::move(hops.terminal_result_type);
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
    // Bogus DNS is a TLS-policy failure too (RFC 8460 dnssec-invalid): the
    // domain's MX or addresses cannot be trusted, so nothing was tried.
    info.tls.result_type = terminal_result_type_;
    if (!terminal_result_type_.empty()) info.tls.failure_reason = terminal_->response;
    failAll(*terminal_, info);
    finish();
    return;
  }
  tryNextTarget();
}

TlsDecision DeliveryJob::decideTls(const JobTarget& target) const {
  return tlsrelay::decideTls(decisionInputFor(target, domain_, sts_, flags_, ctx_.policies->match(domain_)));
}

void DeliveryJob::skipTarget(const JobTarget& target, const TlsDecision& decision) {
  // The policy forbids this hop before any connection: account for it as a
  // failed hop and go on with the next one.
  AttemptInfo info;
  info.mx_host = target.mx_host;
  info.ip = target.ip;
  info.tls = attemptTlsFrom(decision);
  info.tls.result_type = decision.skip_result_type;
  info.tls.failure_reason = decision.skip_reason;
  info.tls.requiretls_reason = decision.requiretls_reason;
  last_failure_ =
      transientFailure(decision.skip_reason, decision.skip_status.empty() ? "4.7.5" : decision.skip_status);
  last_info_ = std::move(info);
  if (log::enabled(log::Level::Info))
    log::info("delivery", "next hop skipped by TLS policy",
              {{"domain", domain_},
               {"mx", target.mx_host},
               {"ip", target.ip},
               {"reason", decision.skip_reason},
               {"policy", decision.policy_source}});
  connectionDone();
}

void DeliveryJob::tryNextTarget() {
  if (pending_.empty()) {
    // Connection reuse hands us nothing more: done.
    finish();
    return;
  }
  if (next_target_ >= targets_.size() && !retry_without_tls_) {
    // A REQUIRETLS message's outcome is the TLS reason it was refused, even if
    // a later hop merely failed to answer: that is what its sender must learn
    // (5.7.10 at expiry, RFC 8689).
    if (requiretls_failure_)
      failAll(requiretls_failure_->first, requiretls_failure_->second);
    else
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
  if (decision.skip) {
    skipTarget(target, decision);
    return;
  }
  if (log::enabled(log::Level::Debug))
    log::debug("delivery", "trying next hop",
               {{"domain", domain_},
                {"mx", target.mx_host},
                {"ip", target.ip},
                {"starttls", toString(decision.starttls)},
                {"verify", toString(decision.verify)},
                {"policy", decision.policy_source}});
  auto* oc = new OutboundConnection(this, target, decision, allow_tls);
  oc->start();
}

void DeliveryJob::connectionDone() {
  if (flags_.requiretls && last_failure_.status.rfind("4.7.", 0) == 0)
    requiretls_failure_ = std::make_pair(last_failure_, last_info_);
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
