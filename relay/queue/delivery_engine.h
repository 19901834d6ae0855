// The queue manager: holds every queued message, schedules delivery runs per
// destination (concurrency limits, retry times, destination backoff), applies
// each recipient's final outcome (delivered / retry / fail), persists state,
// and makes bounces and delay notices — submitted through the same local
// submission path as any message the relay generates. Delivery events go to
// the observers through an ObserverQueue, off the loop thread. One instance
// per daemon, on the loop thread.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"
#include "message/stage.h"
#include "relay/outbound/delivery_job.h"
#include "relay/queue/destination_health.h"
#include "relay/queue/destination_queues.h"
#include "relay/queue/local_submission.h"
#include "reporting/delivery_events.h"

namespace tlsrelay {

class Spool;
class SpoolCommitter;
class PolicySet;
class MtaStsProvider;
class ClientTlsCache;
class MessagePipeline;
class ObserverQueue;
namespace dns {
class Resolver;
}

class DeliveryEngine {
 public:
  // `events` may be null (no observers). Stages run in order just before
  // transmission (message/stage.h).
  DeliveryEngine(uv_loop_t* loop, Spool* spool, SpoolCommitter* committer, dns::Resolver* resolver,
                 ObserverQueue* events, std::vector<std::shared_ptr<MessageStage>> stages = {});
  ~DeliveryEngine();

  void configure(std::shared_ptr<const DeliveryConfig> config, std::shared_ptr<const PolicySet> policies);
  // MTA-STS lookups for delivery jobs (null = MTA-STS off). Must outlive the engine.
  void setMtaSts(MtaStsProvider* provider) { mta_sts_ = provider; }
  // A message that is durably spooled; `data` may be null (loaded when needed).
  void enqueue(std::shared_ptr<Envelope> envelope, std::shared_ptr<const std::string> data);
  // Messages the relay makes itself (DSNs now; TLS reports, key replies later).
  LocalSubmission& localSubmission() { return local_; }

  void flush();                                 // every deferred message and destination: try now
  Status deleteMessage(const std::string& id);  // drop without notice
  Status bounceMessage(const std::string& id);  // fail all pending recipients now (DSN to sender)
  void drain(std::function<void()> done);       // start nothing new; `done` when active runs end
  size_t queuedMessages() const { return messages_.size(); }
  size_t activeJobs() const { return active_jobs_; }
  // What is queued per destination (queue key), for /metrics and the web view.
  struct DestinationSummary {
    std::string destination;
    size_t messages = 0;          // messages with a pending recipient there
    size_t recipients = 0;        // pending recipients there
    int64_t oldest_received = 0;  // unix seconds of the oldest such message
    std::string oldest_queue_id;  // that message
    uint32_t connections = 0;     // open delivery connections
  };
  std::vector<DestinationSummary> queueSummary() const;
  // Messages with a recipient pending for `destination`: how many, and the
  // queue ids of the oldest `limit` of them, oldest first (the web view's list
  // of one destination).
  struct DestinationMessages {
    size_t total = 0;
    std::vector<std::string> oldest;
  };
  DestinationMessages messagesFor(const std::string& destination, size_t limit) const;
  // One queued message (null when it is not in the queue).
  std::shared_ptr<const Envelope> findMessage(const std::string& id) const;
  // Destinations and hosts with connection failures on record (queue list).
  std::vector<DestinationHealth::State> health() const;
  const MessagePipeline& pipeline() const { return *pipeline_; }

 private:
  struct Entry {
    std::shared_ptr<Envelope> envelope;
    std::shared_ptr<const std::string> data;
    int in_flight = 0;  // recipients currently in a delivery run
  };
  void schedule(const std::string& id, Entry& entry);
  void pump();
  void armTimer();
  std::optional<JobMessage> takeMessage(const std::string& destination);
  void startJob(const std::string& destination, std::vector<WorkItem> items);
  void onOutcome(DeliveryAttempt::Outcome& outcome);
  void applyResults(JobMessage& message, const std::vector<RecipientResult>& results,
                    const std::shared_ptr<const SessionRecord>& session);
  void observeAttempt(const Envelope& env, size_t index, AttemptResult result,
                      const RecipientOutcome& outcome, const std::shared_ptr<const SessionRecord>& session);
  void runEnded(const std::string& destination, const DeliveryAttempt::Finished& finished);
  void afterUpdate(const std::string& id);
  void sendNotice(const Envelope& original, const std::vector<std::pair<size_t, EnhancedStatus>>& recipients,
                  bool delay_notice, std::function<void()> after_stored = {});
  void persistState(const std::string& id);
  void failPendingByOperator(const std::string& id);
  void dropData(Entry& entry);
  void finishMessage(const std::string& id);
  // The queue key (domain or smarthost, split by TLS class); the job's policy
  // domain is always the recipient's domain, never this key.
  std::string destinationOf(const std::string& recipient, const MessageFlags& flags) const;
  int64_t now() const;

  uv_loop_t* loop_;
  Spool* spool_;
  SpoolCommitter* committer_;
  dns::Resolver* resolver_;
  ObserverQueue* events_;
  MtaStsProvider* mta_sts_ = nullptr;
  std::shared_ptr<const DeliveryConfig> config_;
  std::shared_ptr<const PolicySet> policies_;
  std::unique_ptr<ClientTlsCache> client_tls_;
  std::unique_ptr<MessagePipeline> pipeline_;
  LocalSubmission local_;
  std::map<std::string, Entry> messages_;
  DestinationQueues queues_;
  DestinationHealth health_;
  struct IdleConnection {
    uint64_t token;
    std::function<void(std::optional<JobMessage>)> wake;
  };
  void serveIdleConnections();
  std::map<std::string, std::vector<IdleConnection>> idle_;  // by destination, oldest first
  uint64_t next_idle_token_ = 0;
  uv_timer_t timer_{};
  size_t active_jobs_ = 0;
  bool draining_ = false;
  std::function<void()> drained_;
};

}  // namespace tlsrelay
