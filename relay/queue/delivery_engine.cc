// Queue manager; see delivery_engine.h.
#include "relay/queue/delivery_engine.h"

#include <algorithm>
#include <ctime>
#include <random>
#include <unordered_map>

#include "common/ascii.h"
#include "common/log.h"
#include "common/session_id.h"
#include "message/address.h"
#include "message/dsn_builder.h"
#include "policy/domain_policy.h"
#include "relay/outbound/client_tls_cache.h"
#include "relay/outbound/message_pipeline.h"
#include "relay/queue/retry_schedule.h"
#include "relay/queue/spool.h"
#include "relay/queue/spool_committer.h"
#include "reporting/observer_queue.h"

namespace tlsrelay {
namespace {

std::string domainOf(const std::string& address) {
  return lowerAscii(addressDomain(address));
}

RetryPolicy retryPolicyOf(const DeliveryConfig& c) {
  RetryPolicy p;
  p.initial = c.retry.initial;
  p.multiplier = c.retry.multiplier;
  p.max_interval = c.retry.max_interval;
  p.max_lifetime = c.retry.max_lifetime;
  p.delay_notice = c.retry.delay_notice;
  return p;
}

double uniformRandom() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

int64_t unixNow() {
  return static_cast<int64_t>(::time(nullptr));
}

}  // namespace

DeliveryEngine::DeliveryEngine(uv_loop_t* loop, Spool* spool, SpoolCommitter* committer,
                               dns::Resolver* resolver, ObserverQueue* events,
                               std::vector<std::shared_ptr<MessageStage>> stages)
    : loop_(loop),
      spool_(spool),
      committer_(committer),
      resolver_(resolver),
      events_(events),
      pipeline_(std::make_unique<MessagePipeline>(loop, std::move(stages))),
      local_(
          committer,
          [this](std::shared_ptr<Envelope> e, std::shared_ptr<const std::string> d) { enqueue(e, d); },
          unixNow) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
}

DeliveryEngine::~DeliveryEngine() {
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

int64_t DeliveryEngine::now() const {
  return unixNow();
}

void DeliveryEngine::configure(std::shared_ptr<const DeliveryConfig> config,
                               std::shared_ptr<const PolicySet> policies) {
  bool first = !config_;
  config_ = std::move(config);
  policies_ = std::move(policies);
  // The CA bundle or client certificates may have changed.
  client_tls_ = std::make_unique<ClientTlsCache>(config_->ca_bundle);
  health_.configure(config_->backoff);
  if (first) {
    DestinationQueues::Limits limits;
    limits.max_connections_per_destination =
        static_cast<uint32_t>(std::max(1, config_->max_connections_per_destination));
    limits.max_messages_per_batch = static_cast<size_t>(std::max(1, config_->max_messages_per_connection));
    queues_ = DestinationQueues(limits);
  }
  pump();
}

std::string DeliveryEngine::destinationOf(const std::string& recipient, const MessageFlags& flags) const {
  // A domain its policy file routes (next_hop) is its own destination, not
  // one of the smarthost's.
  std::string domain = domainOf(recipient);
  const bool own_route = !policies_->match(domain).next_hop.empty();
  return destinationKey(domain, tlsClassOf(flags.requiretls, flags.tls_required_no),
                        own_route ? std::string() : config_->smarthost);
}

std::vector<DeliveryEngine::DestinationSummary> DeliveryEngine::queueSummary() const {
  std::unordered_map<std::string, DestinationSummary> by_key;
  std::vector<const DestinationSummary*> counted;  // a message counts once per destination
  for (const auto& [id, entry] : messages_) {
    const Envelope& env = *entry.envelope;
    counted.clear();
    for (const auto& r : env.recipients) {
      if (r.state != RecipientState::Pending) continue;
      DestinationSummary& d = by_key[destinationOf(r.address, env.flags)];
      ++d.recipients;
      if (std::find(counted.begin(), counted.end(), &d) != counted.end()) continue;
      counted.push_back(&d);
      ++d.messages;
      if (d.oldest_received == 0 || env.received_at < d.oldest_received) {
        d.oldest_received = env.received_at;
        d.oldest_queue_id = id;
      }
    }
  }
  std::vector<DestinationSummary> out;
  out.reserve(by_key.size());
  for (auto& [key, d] : by_key) {
    d.destination = key;
    d.connections = queues_.activeConnections(key);
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const DestinationSummary& a, const DestinationSummary& b) {
    return a.destination < b.destination;
  });
  return out;
}

DeliveryEngine::DestinationMessages DeliveryEngine::messagesFor(const std::string& destination,
                                                                size_t limit) const {
  std::vector<std::pair<int64_t, std::string>> found;
  for (const auto& [id, entry] : messages_) {
    const Envelope& env = *entry.envelope;
    for (const auto& r : env.recipients) {
      if (r.state == RecipientState::Pending && destinationOf(r.address, env.flags) == destination) {
        found.emplace_back(env.received_at, id);
        break;
      }
    }
  }
  const size_t n = std::min(limit, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), found.end());
  DestinationMessages out;
  out.total = found.size();
  out.oldest.reserve(n);
  for (size_t i = 0; i < n; ++i) out.oldest.push_back(std::move(found[i].second));
  return out;
}

std::shared_ptr<const Envelope> DeliveryEngine::findMessage(const std::string& id) const {
  auto it = messages_.find(id);
  return it == messages_.end() ? nullptr : it->second.envelope;
}

void DeliveryEngine::enqueue(std::shared_ptr<Envelope> envelope, std::shared_ptr<const std::string> data) {
  std::string id = envelope->queue_id;
  Entry& e = messages_[id];
  e.envelope = std::move(envelope);
  e.data = std::move(data);
  bool pending = std::any_of(e.envelope->recipients.begin(), e.envelope->recipients.end(),
                             [](const Recipient& r) { return r.state == RecipientState::Pending; });
  if (!pending) {
    // Recovered after a crash between the final state write and the unlink:
    // its DSN (if any) was already queued before the crash.
    finishMessage(id);
    return;
  }
  schedule(id, e);
  pump();
}

// Puts every pending recipient of a message into its destination queue.
void DeliveryEngine::schedule(const std::string& id, Entry& entry) {
  std::map<std::string, WorkItem> by_destination;
  for (size_t i = 0; i < entry.envelope->recipients.size(); ++i) {
    const Recipient& r = entry.envelope->recipients[i];
    if (r.state != RecipientState::Pending) continue;
    std::string dest = destinationOf(r.address, entry.envelope->flags);
    WorkItem& w = by_destination[dest];
    w.queue_id = id;
    w.destination = dest;
    w.ready_at = entry.envelope->next_attempt_at;
    w.recipients.push_back(static_cast<uint32_t>(i));
  }
  for (auto& [dest, item] : by_destination) queues_.add(std::move(item));
}

void DeliveryEngine::pump() {
  if (!config_ || draining_) return;
  serveIdleConnections();
  int64_t t = now();
  while (auto batch = queues_.takeReady(t)) startJob(batch->destination, std::move(batch->items));
  armTimer();
}

void DeliveryEngine::armTimer() {
  auto wake = queues_.nextWakeup();
  if (!wake) {
    uv_timer_stop(&timer_);
    return;
  }
  int64_t delay_ms = std::max<int64_t>(0, (*wake - now()) * 1000);
  // A short floor: ready-now work that found no free slot waits for release().
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<DeliveryEngine*>(t->data)->pump(); },
      static_cast<uint64_t>(std::max<int64_t>(delay_ms, 50)), 0);
}

void DeliveryEngine::startJob(const std::string& destination, std::vector<WorkItem> items) {
  std::vector<JobMessage> messages;
  std::string domain;
  for (auto& item : items) {
    auto it = messages_.find(item.queue_id);
    if (it == messages_.end()) continue;
    Entry& e = it->second;
    JobMessage m;
    m.envelope = e.envelope;
    m.data = e.data;
    for (uint32_t i : item.recipients) {
      if (i < e.envelope->recipients.size() && e.envelope->recipients[i].state == RecipientState::Pending)
        m.recipients.push_back(i);
    }
    if (m.recipients.empty()) continue;
    // The policy domain comes from a recipient, never from `destination`: that is
    // a queue key (maybe the smarthost, with the TLS class appended).
    if (domain.empty()) domain = domainOf(e.envelope->recipients[m.recipients.front()].address);
    e.in_flight += static_cast<int>(m.recipients.size());
    messages.push_back(std::move(m));
  }
  if (messages.empty()) {
    queues_.release(destination);
    return;
  }
  ++active_jobs_;
  JobContext ctx;
  ctx.loop = loop_;
  ctx.settings.helo_name = config_->helo_name;
  ctx.settings.max_messages_per_connection = config_->max_messages_per_connection;
  ctx.settings.connect_timeout = config_->connect_timeout;
  ctx.settings.new_session_id = newSessionId;
  ctx.smarthost = smarthostNextHop(*config_);
  ctx.policies = policies_;
  ctx.client_tls = [this](const TlsDecision& d) { return client_tls_->get(d); };
  ctx.resolver = resolver_;
  ctx.mta_sts = mta_sts_;
  ctx.pipeline = pipeline_.get();
  ctx.load_data = [spool = spool_](const std::string& id) { return spool->readData(id); };
  ctx.clock = unixNow;
  DeliveryJob::Callbacks cb;
  cb.outcome = [this](DeliveryAttempt::Outcome& o) { onOutcome(o); };
  cb.next_message = [this, destination]() { return takeMessage(destination); };
  cb.idle = [this, destination](std::function<void(std::optional<JobMessage>)> wake) {
    uint64_t token = ++next_idle_token_;
    idle_[destination].push_back(IdleConnection{token, std::move(wake)});
    return token;
  };
  cb.cancel_idle = [this, destination](uint64_t token) {
    auto it = idle_.find(destination);
    if (it == idle_.end()) return;
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [token](const IdleConnection& c) { return c.token == token; }),
               list.end());
    if (list.empty()) idle_.erase(it);
  };
  cb.host_health = [this](const DeliveryAttempt::HostHealth& h) {
    health_.hostResult(h.host, h.reachable, h.error, now());
  };
  cb.session_event = [this](const SessionEvent& e) {
    if (events_) events_->post(e);
  };
  cb.finished = [this, destination](const DeliveryAttempt::Finished& f) {
    --active_jobs_;
    runEnded(destination, f);
    queues_.release(destination);
    if (draining_ && active_jobs_ == 0 && drained_) {
      auto done = std::move(drained_);
      done();
      return;
    }
    pump();
  };
  DeliveryJob::start(std::move(ctx), destination, domain, health_.hostsInBackoff(now()), std::move(messages),
                     std::move(cb));
}

void DeliveryEngine::runEnded(const std::string& destination, const DeliveryAttempt::Finished& f) {
  const bool was_held = queues_.heldUntil(destination) != 0;
  int64_t until = health_.runEnded(destination, f.unreachable, f.connected, f.last_error, now());
  queues_.hold(destination, until);
  if (until != 0 && log::enabled(log::Level::Info))
    log::info("delivery", "destination in backoff after connection failures",
              {{"destination", destination},
               {"until", std::to_string(until)},
               {"seconds", std::to_string(until - now())},
               {"error", f.last_error}});
  else if (until == 0 && was_held)
    log::info("delivery", "destination reachable again", {{"destination", destination}});
}

std::vector<DestinationHealth::State> DeliveryEngine::health() const {
  return health_.list(now());
}

// Open idle connections get ready work for their destination before any new
// connection is made.
void DeliveryEngine::serveIdleConnections() {
  // Wake after the walk: a woken connection may go idle again at once.
  std::vector<std::pair<IdleConnection, JobMessage>> handed;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    while (!list.empty()) {
      auto message = takeMessage(it->first);
      if (!message) break;
      handed.emplace_back(std::move(list.front()), std::move(*message));
      list.erase(list.begin());
    }
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
  for (auto& [connection, message] : handed) connection.wake(std::move(message));
}

// Connection reuse: the next ready message for a destination whose connection is open.
// Messages without data in memory are left for a fresh run (their data needs a
// spool read on the thread pool).
std::optional<JobMessage> DeliveryEngine::takeMessage(const std::string& destination) {
  if (draining_) return std::nullopt;
  int64_t t = now();
  while (auto item = queues_.takeNextReady(destination, t)) {
    auto it = messages_.find(item->queue_id);
    if (it == messages_.end()) continue;
    Entry& e = it->second;
    if (!e.data) {
      queues_.add(std::move(*item));
      return std::nullopt;
    }
    JobMessage m;
    m.envelope = e.envelope;
    m.data = e.data;
    for (uint32_t i : item->recipients)
      if (i < e.envelope->recipients.size() && e.envelope->recipients[i].state == RecipientState::Pending)
        m.recipients.push_back(i);
    if (m.recipients.empty()) continue;
    e.in_flight += static_cast<int>(m.recipients.size());
    return m;
  }
  return std::nullopt;
}

void DeliveryEngine::observeAttempt(const Envelope& env, size_t index, AttemptResult result,
                                    const RecipientOutcome& outcome,
                                    const std::shared_ptr<const SessionRecord>& session) {
  if (!events_) return;
  RecipientAttempt a;
  a.time = now();
  a.queue_id = env.queue_id;
  a.sender = env.mail_from;
  a.recipient = env.recipients[index].address;
  a.result = result;
  a.status = outcome.status;
  a.response = outcome.response;
  a.session = session;
  events_->post(std::move(a));
}

void DeliveryEngine::onOutcome(DeliveryAttempt::Outcome& o) {
  if (o.final) {
    applyResults(o.message, o.results, o.session);
    return;
  }
  // A hop failed and the run goes on with another: accounted for, no state change.
  for (const auto& r : o.results)
    if (r.index < o.message.envelope->recipients.size())
      observeAttempt(*o.message.envelope, r.index, AttemptResult::Deferred, r.outcome, o.session);
}

void DeliveryEngine::applyResults(JobMessage& message, const std::vector<RecipientResult>& results,
                                  const std::shared_ptr<const SessionRecord>& session) {
  Envelope& env = *message.envelope;
  const std::string id = env.queue_id;
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  Entry& entry = it->second;
  if (!entry.data && message.data) entry.data = message.data;
  int64_t t = now();
  RetryPolicy retry = retryPolicyOf(*config_);
  std::vector<std::pair<size_t, EnhancedStatus>> failed;
  WorkItem retry_item;
  retry_item.queue_id = id;
  for (const auto& [index, given] : results) {
    if (index >= env.recipients.size()) continue;
    Recipient& r = env.recipients[index];
    --entry.in_flight;
    ++r.attempts;
    RecipientOutcome outcome = given;
    if (outcome.verdict == RecipientVerdict::Retry && expired(retry, env.received_at, t))
      outcome =
          expiryFailure(outcome, static_cast<int64_t>(retry.max_lifetime.count()), env.flags.requiretls);
    r.last_response = outcome.response;
    AttemptResult result = AttemptResult::Deferred;
    switch (outcome.verdict) {
      case RecipientVerdict::Delivered:
        r.state = RecipientState::Delivered;
        result = AttemptResult::Delivered;
        break;
      case RecipientVerdict::Fail:
        r.state = RecipientState::Failed;
        result = AttemptResult::Bounced;
        failed.emplace_back(index, outcome.status);
        break;
      case RecipientVerdict::Retry:
        retry_item.recipients.push_back(static_cast<uint32_t>(index));
        break;
    }
    observeAttempt(env, index, result, outcome, session);
    if (log::enabled(log::Level::Info))
      log::info("delivery", toString(result),
                {{"id", id},
                 {"session", session->session_id},
                 {"to", r.address},
                 {"mx", session->mx_host},
                 {"ip", session->ip},
                 {"status", outcome.status.toString()},
                 {"tls", session->protocol},
                 {"response", outcome.response}});
  }
  // A failed recipient's state is written only once its DSN is durable, so a
  // crash in between re-fails it (a second DSN) rather than losing the notice.
  if (!failed.empty()) sendNotice(env, failed, false, [this, id] { persistState(id); });
  if (!retry_item.recipients.empty()) {
    uint32_t attempts = 0;
    for (uint32_t i : retry_item.recipients) attempts = std::max(attempts, env.recipients[i].attempts);
    env.next_attempt_at = nextAttemptTime(retry, attempts, env.received_at, t, uniformRandom);
    if (delayNoticeDue(retry, env.received_at, t, env.delay_notified)) {
      env.delay_notified = true;
      std::vector<std::pair<size_t, EnhancedStatus>> delayed;
      for (uint32_t i : retry_item.recipients) delayed.emplace_back(i, status::kTransient);
      sendNotice(env, delayed, true);
    }
    retry_item.destination = destinationOf(env.recipients[retry_item.recipients.front()].address, env.flags);
    queues_.defer(std::move(retry_item), env.next_attempt_at);
    dropData(entry);  // reloaded from the spool on the next attempt
  }
  if (failed.empty()) persistState(id);
}

void DeliveryEngine::dropData(Entry& entry) {
  entry.data.reset();
  pipeline_->forget(entry.envelope->queue_id);
}

void DeliveryEngine::persistState(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  Entry& entry = it->second;
  const Envelope& env = *entry.envelope;
  bool all_final = std::none_of(env.recipients.begin(), env.recipients.end(),
                                [](const Recipient& r) { return r.state == RecipientState::Pending; });
  if (all_final && entry.in_flight == 0) {
    // Nothing is left to deliver and any DSN is spooled, so the file goes
    // without a final state write. A crash before the unlink re-delivers
    // (at-least-once, as Postfix does); it never loses mail.
    finishMessage(id);
    return;
  }
  // Persist the new recipient states (grouped with other fsyncs).
  auto snapshot = std::make_shared<const Envelope>(env);
  committer_->update(snapshot, [this, id](const Status& s) {
    if (!s.ok())
      log::error("spool", "cannot persist delivery state", {{"id", id}, {"error", s.error().message}});
    afterUpdate(id);
  });
}

void DeliveryEngine::afterUpdate(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  Entry& e = it->second;
  if (e.in_flight > 0) return;
  bool done = std::none_of(e.envelope->recipients.begin(), e.envelope->recipients.end(),
                           [](const Recipient& r) { return r.state == RecipientState::Pending; });
  if (done) finishMessage(id);
}

void DeliveryEngine::finishMessage(const std::string& id) {
  messages_.erase(id);
  pipeline_->forget(id);
  struct RemoveWork {
    uv_work_t work;
    Spool* spool;
    std::string id;
  };
  auto* w = new RemoveWork{{}, spool_, id};
  w->work.data = w;
  uv_queue_work(
      loop_, &w->work,
      [](uv_work_t* req) {
        auto* r = static_cast<RemoveWork*>(req->data);
        auto s = r->spool->remove(r->id);
        if (!s.ok())
          log::warn("spool", "cannot remove delivered message",
                    {{"id", r->id}, {"error", s.error().message}});
      },
      [](uv_work_t* req, int) { delete static_cast<RemoveWork*>(req->data); });
}

void DeliveryEngine::sendNotice(const Envelope& original,
                                const std::vector<std::pair<size_t, EnhancedStatus>>& recipients,
                                bool delay_notice, std::function<void()> after_stored) {
  if (!shouldBounce(original)) {
    log::info("delivery", "no bounce for a bounce or null sender", {{"id", original.queue_id}});
    if (after_stored) after_stored();
    return;
  }
  auto it = messages_.find(original.queue_id);
  // Callers load the data first (delivery runs carry it; operator bounces read
  // it on the thread pool); without it the DSN still goes, without the copy.
  std::shared_ptr<const std::string> data = it != messages_.end() ? it->second.data : nullptr;
  DsnInput in;
  in.reporting_mta = config_->helo_name;
  in.original_queue_id = original.queue_id;
  in.original_sender = original.mail_from;
  in.envid = original.envid;
  in.ret = original.ret;
  in.arrival_date = original.received_at;
  in.now = now();
  in.requiretls_original = original.flags.requiretls;
  for (const auto& [i, status] : recipients) {
    const Recipient& r = original.recipients[i];
    if (!recipientWantsNotice(r, delay_notice)) continue;  // RFC 3461 NOTIFY
    DsnRecipient d;
    d.address = r.address;
    d.orcpt = r.orcpt;
    d.action = delay_notice ? "delayed" : "failed";
    d.status = status.toString();
    d.diagnostic = r.last_response;
    in.recipients.push_back(std::move(d));
  }
  if (in.recipients.empty()) {
    if (after_stored) after_stored();
    return;
  }
  if (data) in.original_message = *data;
  in.boundary_seed = original.queue_id;
  DsnMessage built = buildDsn(in);

  LocalMessage notice;
  notice.mail_from = "";  // RFC 3464 §2 / RFC 5321 §4.5.5: null reverse-path
  notice.recipients = {original.mail_from};
  notice.data = std::move(built.data);
  notice.flags.is_bounce = true;
  // RFC 8689 §5: the notice about a REQUIRETLS message travels under REQUIRETLS too.
  notice.flags.requiretls = built.requiretls;
  notice.flags.body_8bit = built.body_8bit;
  notice.flags.smtputf8 = built.smtputf8;
  local_.submit(std::move(notice), [orig = original.queue_id, to = original.mail_from,
                                    after = std::move(after_stored)](const Result<std::string>& id) {
    if (after) after();
    if (id.ok())
      log::info("delivery", "DSN queued", {{"id", id.value()}, {"original", orig}, {"to", to}});
    else
      log::error("spool", "cannot store DSN", {{"id", orig}, {"error", id.error().message}});
  });
}

void DeliveryEngine::flush() {
  int64_t t = now();
  // The operator says try now: destination backoff ends too.
  for (const auto& s : health_.list(t))
    if (!s.host) queues_.hold(s.name, 0);
  health_.clear();
  for (auto& [id, e] : messages_) {
    e.envelope->next_attempt_at = 0;
    queues_.readyNow(id, t);
  }
  pump();
}

Status DeliveryEngine::deleteMessage(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return makeError("no such message: " + id);
  queues_.remove(id);
  if (it->second.in_flight > 0)
    return makeError("message " + id + " is being delivered right now; try again");
  finishMessage(id);
  log::info("queue", "message deleted by operator", {{"id", id}});
  return okStatus();
}

Status DeliveryEngine::bounceMessage(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return makeError("no such message: " + id);
  if (it->second.in_flight > 0)
    return makeError("message " + id + " is being delivered right now; try again");
  queues_.remove(id);
  if (it->second.data) {
    failPendingByOperator(id);
    return okStatus();
  }
  // The DSN returns the message, whose data is on disk only: read it on the
  // thread pool, holding the message back from delivery meanwhile.
  struct ReadWork {
    uv_work_t work;
    DeliveryEngine* engine;
    std::string id;
    Result<std::string> data = makeError("not read");
  };
  it->second.in_flight += 1;
  auto* w = new ReadWork{{}, this, id};
  w->work.data = w;
  uv_queue_work(
      loop_, &w->work,
      [](uv_work_t* req) {
        auto* r = static_cast<ReadWork*>(req->data);
        r->data = r->engine->spool_->readData(r->id);
      },
      [](uv_work_t* req, int) {
        std::unique_ptr<ReadWork> r(static_cast<ReadWork*>(req->data));
        auto entry = r->engine->messages_.find(r->id);
        if (entry == r->engine->messages_.end()) return;
        entry->second.in_flight -= 1;
        if (r->data.ok()) {
          entry->second.data = std::make_shared<const std::string>(std::move(r->data.value()));
        } else {
          log::warn("queue", "message data unreadable; the DSN carries no copy of it",
                    {{"id", r->id}, {"error", r->data.error().message}});
        }
        r->engine->failPendingByOperator(r->id);
      });
  return okStatus();
}

void DeliveryEngine::failPendingByOperator(const std::string& id) {
  auto it = messages_.find(id);
  if (it == messages_.end()) return;
  Envelope& env = *it->second.envelope;
  std::vector<std::pair<size_t, EnhancedStatus>> failed;
  for (size_t i = 0; i < env.recipients.size(); ++i) {
    if (env.recipients[i].state != RecipientState::Pending) continue;
    env.recipients[i].state = RecipientState::Failed;
    env.recipients[i].last_response = "bounced by the operator";
    failed.emplace_back(i, status::kPermanent);
  }
  sendNotice(env, failed, false, [this, id] { persistState(id); });
  log::info("queue", "message bounced by operator", {{"id", id}});
}

void DeliveryEngine::drain(std::function<void()> done) {
  draining_ = true;
  uv_timer_stop(&timer_);
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& [destination, list] : idle)
    for (auto& c : list) c.wake(std::nullopt);
  if (active_jobs_ == 0) {
    done();
    return;
  }
  drained_ = std::move(done);
}

}  // namespace tlsrelay
