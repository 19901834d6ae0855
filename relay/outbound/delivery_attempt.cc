// The sans-I/O delivery run; see delivery_attempt.h.
#include "relay/outbound/delivery_attempt.h"

#include <algorithm>

#include "common/log.h"
#include "relay/smtp/smtp_client_session.h"

namespace tlsrelay {
namespace {

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

FailureCause causeOf(const AttemptVerdict& v) {
  return v.requiretls_refusal != RequireTlsRefusal::None ? FailureCause::RequireTls : FailureCause::Tls;
}

std::string hostKey(const JobTarget& t) {
  return t.ip + ":" + std::to_string(t.port);
}

std::string peerName(const JobTarget& t) {
  return t.mx_host + "[" + t.ip + "]:" + std::to_string(t.port);
}

OutboundMessage outboundFor(const JobMessage& m, const PreparedMessage::Body& body) {
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
  for (size_t i : body.recipients) {
    out.recipients.push_back(e.recipients[i].address);
    out.notify.push_back(e.recipients[i].notify);
    out.orcpt.push_back(e.recipients[i].orcpt);
  }
  out.data = body.data;
  return out;
}

}  // namespace

DeliveryAttempt::DeliveryAttempt(AttemptSettings settings, AttemptPlan plan, std::vector<JobMessage> messages,
                                 std::function<int64_t()> clock)
    : settings_(std::move(settings)),
      plan_(std::move(plan)),
      clock_(std::move(clock)),
      run_failure_(plan_.flags.requiretls) {
  for (auto& m : messages) {
    own_reports_only_ = own_reports_only_ && m.envelope && m.envelope->flags.tls_report;
    pending_.push_back(std::move(m));
  }
}

DeliveryAttempt::~DeliveryAttempt() = default;

std::optional<DeliveryAttempt::Action> DeliveryAttempt::next() {
  if (actions_.empty()) return std::nullopt;
  Action a = std::move(actions_.front());
  actions_.pop_front();
  return a;
}

void DeliveryAttempt::emit(Action action) {
  actions_.push_back(std::move(action));
}

void DeliveryAttempt::emitEvent(SessionEvent::Kind kind, std::string queue_id, std::string recipient,
                                EnhancedStatus status, std::string response, size_t accepted) {
  SessionEvent e;
  e.kind = kind;
  e.time = clock_();
  e.session = published_ ? published_ : std::make_shared<const SessionRecord>(record_);
  e.queue_id = std::move(queue_id);
  e.recipient = std::move(recipient);
  e.status = status;
  e.response = std::move(response);
  e.accepted = accepted;
  emit(Event{std::move(e)});
}

void DeliveryAttempt::start() {
  const NextHops& hops = plan_.hops;
  if (hops.terminal) {
    // Null MX, no such domain, DNS failure: no hop to try. Bogus DNS is a TLS
    // policy failure too (RFC 8460 dnssec-invalid): the domain's MX or
    // addresses cannot be trusted, so nothing was tried.
    record_ = SessionRecord{};
    record_.carries_own_reports = own_reports_only_;
    record_.destination = plan_.destination;
    record_.domain = plan_.domain;
    auto policy = std::make_shared<ReportPolicy>();
    policy->domain = plan_.domain;
    record_.policy = std::move(policy);
    record_.result = hops.terminal_result;
    if (record_.result) record_.failure_reason = hops.terminal->response;
    publishTlsRecord();
    failAll(*hops.terminal, published_);
    finish();
    return;
  }
  targets_ = hops.targets;
  // Hosts that failed recently go last: delivery reaches a working MX without
  // first waiting out a dead one's connect timeout (Exim's retry database).
  std::stable_partition(targets_.begin(), targets_.end(),
                        [this](const JobTarget& t) { return plan_.hosts_in_backoff.count(hostKey(t)) == 0; });
  decisions_.reserve(targets_.size());
  for (const auto& t : targets_)
    decisions_.push_back(decideTls(decisionInputFor(t, plan_.domain, hops.sts, plan_.flags, plan_.policy)));
  nextHop();
}

bool DeliveryAttempt::finalHop() const {
  if (clear_text_retry_pending_) return false;
  for (size_t i = next_target_; i < decisions_.size(); ++i)
    if (!decisions_[i].skip) return false;
  return true;
}

void DeliveryAttempt::nextHop(bool same_hop) {
  if (same_hop) {
    // The connection carried its limit of messages and more are waiting: the
    // same hop again. Recipients kept for the next hop wait until then.
    beginConnection(target_index_, clear_text_retry_);
    return;
  }
  // Recipients kept by a soft failure go on, with the messages not yet tried.
  while (!kept_.empty()) {
    pending_.push_front(std::move(kept_.back()));
    kept_.pop_back();
  }
  if (pending_.empty()) {
    finish();
    return;
  }
  if (clear_text_retry_pending_) {
    // Opportunistic TLS failed on this host: the same host once more in clear
    // (the session after a failed handshake is unusable).
    clear_text_retry_pending_ = false;
    beginConnection(target_index_, /*clear_text_retry=*/true);
    return;
  }
  while (next_target_ < targets_.size()) {
    const size_t i = next_target_++;
    if (decisions_[i].skip) {
      skipHop(targets_[i], decisions_[i]);
      if (state_ == State::Done || pending_.empty()) return;
      continue;
    }
    beginConnection(i, false);
    return;
  }
  // Every hop was tried; what failed last (or a TLS refusal, for REQUIRETLS) is the verdict.
  if (run_failure_.any()) {
    auto [outcome, record] = run_failure_.final();
    failAll(outcome, record);
  } else {
    failAll(transientFailure("no delivery attempt was made", status::kNoAnswer, FailureCause::Dns), nullptr);
  }
  finish();
}

void DeliveryAttempt::skipHop(const JobTarget& target, const TlsDecision& decision) {
  // The policy forbids this hop before any connection: account for it as a
  // failed hop (and as a failed session in the TLS reports) and go on.
  record_ = SessionRecord{};
  record_.carries_own_reports = own_reports_only_;
  record_.destination = plan_.destination;
  record_.domain = plan_.domain;
  record_.mx_host = target.mx_host;
  record_.ip = target.ip;
  record_.port = target.port;
  record_.policy = std::make_shared<const ReportPolicy>(decision.report);
  record_.policy_source = decision.policy_source;
  record_.result = decision.skip_result;
  record_.failure_reason = decision.skip_reason;
  record_.requiretls_refusal = decision.requiretls_refusal;
  published_.reset();
  publishTlsRecord();
  if (log::enabled(log::Level::Info))
    log::info("delivery", "next hop skipped by TLS policy",
              {{"domain", plan_.domain},
               {"mx", target.mx_host},
               {"ip", target.ip},
               {"reason", decision.skip_reason},
               {"policy", decision.policy_source}});
  FailureCause cause =
      decision.requiretls_refusal != RequireTlsRefusal::None ? FailureCause::RequireTls : FailureCause::Tls;
  RecipientOutcome failure = transientFailure(decision.skip_reason, decision.skip_status, cause);
  run_failure_.hopFailed(failure, published_);
  if (finalHop()) {
    auto [outcome, record] = run_failure_.final();
    failAll(outcome, record);
    finish();
    return;
  }
  for (const auto& m : pending_) {
    Outcome o{m, {}, published_, /*final=*/false};
    for (size_t i : m.recipients) o.results.push_back({i, failure});
    emit(std::move(o));
  }
}

void DeliveryAttempt::beginConnection(size_t index, bool clear_text_retry) {
  target_index_ = index;
  target_ = targets_[index];
  const JobTarget& target = target_;
  decision_ = decisions_[index];
  clear_text_retry_ = clear_text_retry;
  record_ = SessionRecord{};
  record_.carries_own_reports = own_reports_only_;
  record_.session_id = settings_.new_session_id ? settings_.new_session_id() : std::string();
  record_.destination = plan_.destination;
  record_.domain = plan_.domain;
  record_.mx_host = target.mx_host;
  record_.ip = target.ip;
  record_.port = target.port;
  record_.policy = std::make_shared<const ReportPolicy>(decision_.report);
  record_.policy_source = decision_.policy_source;
  published_.reset();
  handshake_seen_ = AttemptObservation{};
  ehlo_checked_ = tls_failed_ = false;
  failure_.reset();
  current_.reset();
  messages_on_connection_ = 0;

  ClientSessionConfig cc;
  cc.helo_name = settings_.helo_name;
  cc.starttls = clear_text_retry ? StartTlsMode::Never : decision_.starttls;
  cc.tls_already = target.implicit_tls;  // the handshake runs before the greeting (connected())
  cc.credentials = target.credentials;
  cc.log_id = record_.session_id;
  session_ = std::make_unique<SmtpClientSession>(cc);
  attempted_connection_ = true;
  state_ = State::Connecting;
  if (log::enabled(log::Level::Debug))
    log::debug("delivery", "trying next hop",
               {{"session", record_.session_id},
                {"domain", plan_.domain},
                {"mx", target.mx_host},
                {"ip", target.ip},
                {"starttls", toString(cc.starttls)},
                {"verify", toString(decision_.verify)},
                {"policy", decision_.policy_source}});
  emit(Connect{target.ip, target.port, target.mx_host, settings_.connect_timeout});
  emit(SetTimer{settings_.connect_timeout});
}

void DeliveryAttempt::connected(bool ok, const std::string& error, const std::string& local_ip) {
  if (state_ != State::Connecting) return;
  if (!ok) {
    failure_ = transientFailure("connect to " + peerName(target_) + " failed: " + error, status::kNoAnswer,
                                FailureCause::Connection);
    emit(Abort{});
    return;
  }
  record_.connected = true;
  record_.sending_ip = local_ip;
  state_ = State::Session;
  emitEvent(SessionEvent::Kind::Connected);
  if (target_.implicit_tls) emit(StartTls{decision_, target_.mx_host});  // RFC 8314: TLS first
  emit(SetTimer{session_->currentTimeout()});
}

void DeliveryAttempt::received(std::string_view plaintext) {
  if (!session_ || state_ == State::Connecting || state_ == State::Done) return;
  session_->feed(plaintext);
  pumpSession();
}

void DeliveryAttempt::tlsDone(const TlsOutcomeInput& tls) {
  if (!session_ || failure_) return;
  AttemptObservation seen;
  seen.stage = AttemptObservation::Stage::Handshake;
  seen.starttls_offered = true;
  if (!tls.ok) {
    seen.handshake_failed = true;
    seen.handshake_error = tls.error;
    AttemptVerdict v = classifyAttempt(decision_, seen);
    tls_failed_ = true;
    recordVerdict(v);
    failure_ = transientFailure("TLS handshake with " + target_.mx_host + " failed: " + tls.error, v.status,
                                causeOf(v));
    session_->tlsFailed();
    pumpSession();
    return;
  }
  record_.protocol = tls.protocol;
  record_.cipher = tls.cipher;
  seen.certificate = certificateCheck(decision_.verify, tls.verification);
  seen.certificate_error = tls.verification.error;
  handshake_seen_ = seen;
  AttemptVerdict v = classifyAttempt(decision_, seen);
  recordVerdict(v);
  if (!v.proceed) {
    // Policy demands an authenticated peer: never send to this one.
    failure_ = transientFailure(v.reason, v.status, causeOf(v));
    emit(Abort{});
    return;
  }
  if (seen.certificate == CertificateCheck::Verified) record_.verified_by = decision_.verify;
  // With implicit TLS the session was created over TLS and awaits the greeting.
  if (!target_.implicit_tls) session_->tlsEstablished();
  pumpSession();
}

void DeliveryAttempt::tlsUnavailable(const std::string& why) {
  if (!session_ || failure_) return;
  failure_ = transientFailure(why, status::kCryptoFailure, FailureCause::Local);
  emit(Abort{});
}

void DeliveryAttempt::timedOut() {
  switch (state_) {
    case State::Connecting:
      failure_ = transientFailure("connect to " + peerName(target_) + " timed out", status::kNoAnswer,
                                  FailureCause::Connection);
      emit(Abort{});
      return;
    case State::Waiting:
      // Nothing came for this destination in time: close politely.
      emit(StopWaiting{});
      state_ = State::Quitting;
      session_->quit();
      pumpSession();
      return;
    case State::Quitting:
      emit(Abort{});
      return;
    case State::Idle:
    case State::Done:
      return;
    default:
      break;
  }
  if (!session_) return;
  session_->timeout();
  pumpSession();
}

void DeliveryAttempt::supplyMessage(std::optional<JobMessage> message, bool waiting) {
  if (state_ != State::Asking && state_ != State::Waiting) return;
  const bool was_waiting = state_ == State::Waiting;
  if (message) {
    pending_.push_back(std::move(*message));
    state_ = State::Sending;  // not Asking any more; sendNextOrAsk picks it up
    sendNextOrAsk();
    pumpSession();
    return;
  }
  if (waiting && !was_waiting) {
    state_ = State::Waiting;
    emit(SetTimer{settings_.idle_time});
    return;
  }
  state_ = State::Quitting;
  session_->quit();
  pumpSession();
}

void DeliveryAttempt::prepared(PreparedMessage result) {
  if (state_ != State::Preparing || !current_) return;
  for (auto& r : result.refused) current_->results.push_back(std::move(r));
  for (auto& b : result.bodies)
    if (!b.recipients.empty()) current_->bodies.push_back(std::move(b));
  sendBody();
  pumpSession();
}

// Moves the session's output and events into actions until it has nothing more to say.
void DeliveryAttempt::pumpSession() {
  if (!session_) return;
  for (;;) {
    std::string out = session_->takeOutput();
    if (!out.empty()) emit(Send{std::move(out)});
    auto ev = session_->nextEvent();
    if (!ev) break;
    switch (ev->kind) {
      case SmtpClientSession::EventKind::StartTls:
        emit(StartTls{decision_, target_.mx_host});
        break;
      case SmtpClientSession::EventKind::Ready:
        if (!checkpointAfterEhlo()) return;
        if (state_ == State::Session) sendNextOrAsk();
        break;
      case SmtpClientSession::EventKind::MessageDone:
        messageDone(ev->result);
        break;
      case SmtpClientSession::EventKind::Failed: {
        RecipientOutcome f = transientFailure(ev->reason, status::kBadConnection, FailureCause::Connection);
        if (ev->reply) f = outcomeFromReply(*ev->reply);
        if (ev->starttls_missing) {
          AttemptObservation seen;
          seen.starttls_offered = false;
          AttemptVerdict v = classifyAttempt(decision_, seen);
          recordVerdict(v);
          f = transientFailure(v.reason.empty() ? "STARTTLS required by " + decision_.policy_source +
                                                      " but " + target_.mx_host + " does not offer it"
                                                : v.reason,
                               v.status, causeOf(v));
        }
        if (ev->auth_failed) f = authenticationFailure(ev->reason);
        if (ev->requiretls_refusal != RequireTlsRefusal::None) {
          record_.requiretls_refusal = ev->requiretls_refusal;
          f = transientFailure(ev->reason, status::kRequireTls, FailureCause::RequireTls);
          // Nothing of the message was sent: it waits for another hop.
          if (current_) current_->on_wire = false;
        }
        if (f.response.empty()) f.response = ev->reason;
        if (!failure_) failure_ = std::move(f);
        emit(Abort{});
        return;
      }
      case SmtpClientSession::EventKind::Closed:
        state_ = State::Quitting;
        emit(Close{});
        return;
    }
    if (state_ == State::Done) return;
  }
  switch (state_) {
    case State::Waiting:
    case State::Asking:
    case State::Preparing:
      break;  // the idle timer (Waiting) is armed where the wait starts
    default:
      emit(SetTimer{session_->currentTimeout()});
      break;
  }
}

// The first Ready: the EHLO exchange is over (over TLS if STARTTLS
// succeeded). Checks what the policy demands of it; false = hop abandoned.
bool DeliveryAttempt::checkpointAfterEhlo() {
  if (ehlo_checked_) return true;
  ehlo_checked_ = true;
  AttemptObservation seen;
  if (session_->tlsActive()) {
    seen = handshake_seen_;  // the TLS EHLO verdict builds on the handshake's
    seen.stage = AttemptObservation::Stage::TlsEhlo;
    seen.requiretls_offered = session_->capabilities().requiretls;
  } else {
    if (clear_text_retry_) {  // the handshake failure is already recorded
      publishTlsRecord();
      return true;
    }
    seen.stage = AttemptObservation::Stage::Ehlo;
    seen.starttls_offered = session_->capabilities().starttls;
  }
  AttemptVerdict v = classifyAttempt(decision_, seen);
  recordVerdict(v);
  if (v.proceed) {
    publishTlsRecord();
    return true;
  }
  failure_ = transientFailure(v.reason, v.status, causeOf(v));
  emit(Abort{});
  return false;
}

// Keeps the verdict's report fields; a later checkpoint's failure overrides an
// earlier success.
void DeliveryAttempt::recordVerdict(const AttemptVerdict& v) {
  if (v.result && (!record_.result || *record_.result == TlsResultType::Success)) record_.result = v.result;
  if (!v.reason.empty() && v.result != TlsResultType::Success) record_.failure_reason = v.reason;
  if (v.requiretls_refusal != RequireTlsRefusal::None) record_.requiretls_refusal = v.requiretls_refusal;
}

void DeliveryAttempt::publishTlsRecord() {
  if (published_) return;
  published_ = std::make_shared<const SessionRecord>(record_);
  emitEvent(SessionEvent::Kind::TlsOutcome);
}

std::shared_ptr<const SessionRecord> DeliveryAttempt::frozenRecord() {
  publishTlsRecord();
  return published_;
}

void DeliveryAttempt::sendNextOrAsk() {
  if (current_) return;
  const int limit = settings_.max_messages_per_connection;
  const bool at_limit = limit > 0 && messages_on_connection_ >= limit;
  if (pending_.empty() && !at_limit && kept_.empty()) {
    state_ = State::Asking;
    emit(NeedMessage{true});
    return;
  }
  if (pending_.empty() || at_limit) {
    // With recipients kept for the next server no new message is taken (see
    // above), so they move on once this connection's messages are through.
    state_ = State::Quitting;
    session_->quit();
    return;
  }
  current_ = InFlight{};
  current_->message = std::move(pending_.front());
  pending_.pop_front();
  ++messages_on_connection_;
  state_ = State::Preparing;
  emit(Prepare{current_->message, target_});
}

void DeliveryAttempt::sendBody() {
  if (!current_) return;
  if (current_->bodies.empty()) {
    finishInFlight();
    state_ = State::Session;
    sendNextOrAsk();
    return;
  }
  state_ = State::Sending;
  current_->on_wire = true;
  emitEvent(SessionEvent::Kind::TransactionBegin, current_->message.envelope->queue_id);
  session_->sendMessage(outboundFor(current_->message, current_->bodies.front()));
}

void DeliveryAttempt::messageDone(const SmtpClientSession::MessageResult& r) {
  if (!current_ || current_->bodies.empty()) return;
  PreparedMessage::Body body = std::move(current_->bodies.front());
  current_->bodies.pop_front();
  const bool final = finalHop();
  const Envelope& env = *current_->message.envelope;
  size_t accepted = 0;
  for (size_t k = 0; k < body.recipients.size(); ++k) {
    const size_t index = body.recipients[k];
    FailureScope scope = FailureScope::Message;
    RecipientOutcome o;
    if (r.mail_reply) {
      o = outcomeFromReply(*r.mail_reply);
    } else if (k < r.recipient_replies.size() && !r.recipient_replies[k].isPositive()) {
      scope = FailureScope::Recipient;
      o = outcomeFromReply(r.recipient_replies[k]);
    } else if (r.data_reply) {
      o = outcomeFromReply(*r.data_reply);
    } else if (r.data_command_reply) {
      o = outcomeFromReply(*r.data_command_reply);
    } else if (k < r.recipient_replies.size()) {
      o = transientFailure("no data reply after " + r.recipient_replies[k].text());
    } else {
      o = transientFailure("no reply for recipient");
    }
    if (k < r.recipient_replies.size() && !r.mail_reply) {
      const SmtpReply& rcpt = r.recipient_replies[k];
      emitEvent(SessionEvent::Kind::Recipient, env.queue_id, env.recipients[index].address,
                outcomeFromReply(rcpt).status, rcpt.text());
    }
    if (o.verdict == RecipientVerdict::Delivered) ++accepted;
    switch (dispose(scope, o, final)) {
      case Disposition::NextHop:
        current_->kept.push_back(index);
        current_->kept_results.push_back({index, std::move(o)});
        break;
      default:
        current_->results.push_back({index, std::move(o)});
        break;
    }
  }
  if (accepted > 0)
    emitEvent(SessionEvent::Kind::Commit, env.queue_id, {}, status::kDelivered,
              r.data_reply ? r.data_reply->text() : std::string(), accepted);
  else
    emitEvent(SessionEvent::Kind::Rollback, env.queue_id, {}, status::kTransient,
              r.mail_reply           ? r.mail_reply->text()
              : r.data_reply         ? r.data_reply->text()
              : r.data_command_reply ? r.data_command_reply->text()
                                     : std::string("no recipient accepted"));
  sendBody();
}

void DeliveryAttempt::finishInFlight() {
  if (!current_) return;
  auto record = frozenRecord();
  InFlight& f = *current_;
  if (!f.results.empty()) {
    JobMessage done = f.message;
    done.recipients.clear();
    for (const auto& r : f.results) done.recipients.push_back(r.index);
    emit(Outcome{std::move(done), std::move(f.results), record, true});
  }
  if (!f.kept.empty()) {
    JobMessage kept = f.message;
    kept.recipients = f.kept;
    emit(Outcome{kept, std::move(f.kept_results), record, false});
    kept_.push_back(std::move(kept));
  }
  current_.reset();
}

void DeliveryAttempt::closed() {
  if (state_ == State::Done || state_ == State::Idle) return;
  if (state_ == State::Waiting) emit(StopWaiting{});
  const bool quitting = state_ == State::Quitting;
  if (!failure_ && !quitting && state_ != State::Waiting)
    failure_ = transientFailure("connection to " + peerName(target_) + " closed while " +
                                    (session_ ? session_->stateName() : "connecting"),
                                status::kBadConnection, FailureCause::Connection);
  // Destination health counts connection-level failures only: a host that
  // accepted EHLO is up, whatever TLS policy then made of the session.
  const bool spoke_smtp = session_ && session_->helloAccepted();
  emit(HostHealth{hostKey(target_), spoke_smtp, failure_ ? failure_->response : std::string()});
  reached_session_ = reached_session_ || spoke_smtp;
  auto record = frozenRecord();

  if (current_) {
    if (current_->on_wire) {
      // The connection died with a message in flight: it was not accepted.
      RecipientOutcome lost = siteFailure(
          failure_ ? *failure_
                   : transientFailure("connection closed during the transaction", status::kBadConnection));
      const bool final = finalHop();
      for (const auto& body : current_->bodies)
        for (size_t index : body.recipients) {
          if (dispose(FailureScope::Message, lost, final) == Disposition::NextHop) {
            current_->kept.push_back(index);
            current_->kept_results.push_back({index, lost});
          } else {
            current_->results.push_back({index, lost});
          }
        }
      current_->bodies.clear();
      finishInFlight();
    } else {
      // Not a byte of it was sent: it waits for another hop like the rest.
      JobMessage m = std::move(current_->message);
      auto results = std::move(current_->results);
      current_.reset();
      if (!results.empty()) {  // recipients a pipeline stage already refused
        JobMessage done = m;
        done.recipients.clear();
        for (const auto& r : results) done.recipients.push_back(r.index);
        emit(Outcome{std::move(done), std::move(results), record, true});
        std::vector<size_t> rest;
        for (size_t i : m.recipients)
          if (std::find(done.recipients.begin(), done.recipients.end(), i) == done.recipients.end())
            rest.push_back(i);
        m.recipients = std::move(rest);
      }
      if (!m.recipients.empty()) pending_.push_front(std::move(m));
    }
  }
  emitEvent(SessionEvent::Kind::Closed, {}, {}, failure_ ? failure_->status : status::kDelivered,
            failure_ ? failure_->response : std::string("quit"));
  session_.reset();
  state_ = State::Idle;

  if (tls_failed_ && decision_.starttls == StartTlsMode::Opportunistic && !clear_text_retry_)
    clear_text_retry_pending_ = true;
  if (failure_ && !pending_.empty()) {
    RecipientOutcome failure = siteFailure(*failure_);
    run_failure_.hopFailed(failure, record);
    if (finalHop()) {
      auto [outcome, rec] = run_failure_.final();
      failAll(outcome, rec);
    } else {
      for (const auto& m : pending_) {
        Outcome o{m, {}, record, /*final=*/false};
        for (size_t i : m.recipients) o.results.push_back({i, failure});
        emit(std::move(o));
      }
    }
  }
  nextHop(/*same_hop=*/!failure_ && !pending_.empty());
}

void DeliveryAttempt::failAll(const RecipientOutcome& outcome, std::shared_ptr<const SessionRecord> session) {
  if (!session) {
    SessionRecord r;
    r.carries_own_reports = own_reports_only_;
    r.destination = plan_.destination;
    r.domain = plan_.domain;
    auto policy = std::make_shared<ReportPolicy>();
    policy->domain = plan_.domain;
    r.policy = std::move(policy);
    session = std::make_shared<const SessionRecord>(std::move(r));
  }
  auto all = std::move(pending_);
  for (auto& k : kept_) all.push_back(std::move(k));
  pending_.clear();
  kept_.clear();
  for (auto& m : all) {
    Outcome o{m, {}, session, true};
    for (size_t i : m.recipients) o.results.push_back({i, outcome});
    emit(std::move(o));
  }
}

void DeliveryAttempt::finish() {
  if (state_ == State::Done) return;
  state_ = State::Done;
  Finished f;
  f.unreachable = attempted_connection_ && !reached_session_;
  f.connected = reached_session_;
  if (run_failure_.any()) f.last_error = run_failure_.final().first.response;
  emit(f);
}

}  // namespace tlsrelay
