// The queue manager: holds every queued message, schedules delivery runs per
// destination (concurrency limits, retry times), applies each recipient's
// outcome (delivered / retry / fail), persists state, and makes bounces and
// delay notices. One instance per daemon, on the loop thread.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "message/envelope.h"
#include "relay/outbound/delivery_job.h"
#include "relay/queue/destination_queues.h"
#include "reporting/delivery_attempt.h"

namespace tlsrelay {

class Spool;
class SpoolCommitter;
class PolicySet;
class MtaStsProvider;
class TlsContext;
struct RelayConfig;
namespace dns {
class Resolver;
}

class DeliveryEngine {
 public:
  DeliveryEngine(uv_loop_t* loop, Spool* spool, SpoolCommitter* committer, dns::Resolver* resolver,
                 std::vector<DeliveryObserver*> observers);
  ~DeliveryEngine();

  void configure(std::shared_ptr<const RelayConfig> config, std::shared_ptr<const PolicySet> policies);
  // MTA-STS lookups for delivery jobs (null = MTA-STS off). Must outlive the engine.
  void setMtaSts(MtaStsProvider* provider) { mta_sts_ = provider; }
  // A message that is durably spooled; `data` may be null (loaded when needed).
  void enqueue(std::shared_ptr<Envelope> envelope, std::shared_ptr<const std::string> data);

  void flush();                                 // every deferred message: try now
  Status deleteMessage(const std::string& id);  // drop without notice
  Status bounceMessage(const std::string& id);  // fail all pending recipients now (DSN to sender)
  void drain(std::function<void()> done);       // start nothing new; `done` when active runs end
  size_t queuedMessages() const { return messages_.size(); }
  size_t activeJobs() const { return active_jobs_; }

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
  void applyResults(JobMessage& message, const std::vector<std::pair<size_t, RecipientOutcome>>& outcomes,
                    const AttemptInfo& info);
  void observeAttempt(const Envelope& env, size_t index, AttemptResult result, const std::string& status,
                      const std::string& response, const AttemptInfo& info);
  void afterUpdate(const std::string& id);
  void sendBounce(const Envelope& original, const std::vector<std::pair<size_t, std::string>>& failed,
                  bool delay_notice, std::function<void()> after_stored = {});
  void persistState(const std::string& id);
  void failPendingByOperator(const std::string& id);
  void finishMessage(const std::string& id);
  // The queue key (domain or smarthost, split by TLS class); the job's policy
  // domain is always domainOf(recipient), never this key.
  std::string destinationOf(const std::string& recipient, const MessageFlags& flags) const;
  std::shared_ptr<TlsContext> clientTls(const TlsDecision& decision);
  int64_t now() const;

  uv_loop_t* loop_;
  Spool* spool_;
  SpoolCommitter* committer_;
  dns::Resolver* resolver_;
  MtaStsProvider* mta_sts_ = nullptr;
  std::vector<DeliveryObserver*> observers_;
  std::shared_ptr<const RelayConfig> config_;
  std::shared_ptr<const PolicySet> policies_;
  std::map<std::string, std::shared_ptr<TlsContext>> client_tls_cache_;
  std::map<std::string, Entry> messages_;
  DestinationQueues queues_;
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
