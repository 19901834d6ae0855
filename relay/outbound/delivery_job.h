// The libuv adapter around one DeliveryAttempt: resolves the next hops on the
// thread pool (MX, addresses, TLSA, MTA-STS, and the data of recovered
// messages), then owns the sockets, TLS engines and timers the attempt asks
// for and feeds it what they report. It decides nothing: every rule is in the
// sans-I/O attempt (delivery_attempt.h) and failure_scope.h; what to do with
// the outcomes is the queue manager's (relay/queue/delivery_engine.h).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/domain_policy.h"
#include "relay/outbound/delivery_attempt.h"

namespace tlsrelay {

class TlsContext;
class MtaStsProvider;
class MessagePipeline;
namespace dns {
class Resolver;
}

// Returns the TLS client context for a decision (cached by the caller); null
// when it cannot be built.
using ClientTlsProvider = std::function<std::shared_ptr<TlsContext>(const TlsDecision&)>;

struct JobContext {
  uv_loop_t* loop = nullptr;
  AttemptSettings settings;
  ConfiguredNextHop smarthost;  // smarthostNextHop(DeliveryConfig); empty = MX delivery
  std::shared_ptr<const PolicySet> policies;
  ClientTlsProvider client_tls;
  dns::Resolver* resolver = nullptr;  // thread-safe; called on the thread pool
  MtaStsProvider* mta_sts = nullptr;  // thread-safe, blocking; null = MTA-STS off
  MessagePipeline* pipeline = nullptr;
  // Reads a recovered message's data (BLOCKING: called on the thread pool).
  std::function<Result<std::string>(const std::string& queue_id)> load_data;
  std::function<int64_t()> clock;
};

class DeliveryJob {
 public:
  struct Callbacks {
    std::function<void(DeliveryAttempt::Outcome&)> outcome;
    // Connection reuse: the next message for this destination, if one is ready.
    std::function<std::optional<JobMessage>()> next_message;
    // The connection is idle and may be kept open: `wake` receives the next
    // message for this destination, or nullopt meaning "quit now". Returns a
    // token for cancel_idle.
    std::function<uint64_t(std::function<void(std::optional<JobMessage>)> wake)> idle;
    std::function<void(uint64_t token)> cancel_idle;
    std::function<void(const DeliveryAttempt::HostHealth&)> host_health;
    std::function<void(const SessionEvent&)> session_event;
    // The job is over; it deletes itself right after this returns.
    std::function<void(const DeliveryAttempt::Finished&)> finished;
  };

  // `domain` is the recipient (policy) domain; `destination` the queue key.
  static void start(JobContext context, std::string destination, std::string domain,
                    std::set<std::string> hosts_in_backoff, std::vector<JobMessage> messages,
                    Callbacks callbacks);

 private:
  class Link;
  DeliveryJob(JobContext context, std::string destination, std::string domain,
              std::set<std::string> hosts_in_backoff, std::vector<JobMessage> messages, Callbacks callbacks);
  ~DeliveryJob();
  void resolve();
  void onResolved(NextHops hops);
  void drive();

  JobContext ctx_;
  std::string destination_, domain_;
  std::set<std::string> hosts_in_backoff_;
  std::vector<JobMessage> messages_;
  Callbacks callbacks_;
  std::unique_ptr<DeliveryAttempt> attempt_;
  std::unique_ptr<Link> link_;  // the current connection, if any
  uint64_t idle_token_ = 0;
  bool driving_ = false;
  std::shared_ptr<bool> alive_;  // for pipeline completions that outlive the job
};

}  // namespace tlsrelay
