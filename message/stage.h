// The seam between resolution and transmission: a message stage sees one
// message (its envelope, the recipients being delivered now, the bytes to
// send, and — for stages that need it — the next hop it is about to go to)
// and may pass it on unchanged, transform it, split the recipients into groups
// that get different bodies, or refuse some recipients. DKIM signing and the
// OpenPGP gateway are stages; the order of stages is the order they run in
// (encryption before signing: a signature covers the final bytes).
// This header is the whole contract; relay/outbound/message_pipeline.h runs
// stages (on the thread pool when they block) and caches their results.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/enhanced_status.h"
#include "message/envelope.h"

namespace tlsrelay {

// The next hop, for stages whose result depends on it.
struct StageHop {
  std::string mx_host;
  std::string ip;
  uint16_t port = 25;
};

struct StageInput {
  const Envelope* envelope = nullptr;  // never null
  std::vector<size_t> recipients;      // indexes into envelope->recipients
  std::shared_ptr<const std::string> data;
  const StageHop* hop = nullptr;  // set for Scope::Hop stages only
};

struct StageGroup {
  std::vector<size_t> recipients;
  std::shared_ptr<const std::string> data;
};

struct StageRefusal {
  size_t recipient = 0;
  // 5.x.x bounces the recipient (e.g. 5.7.1 "must be encrypted, no key"),
  // 4.x.x defers it.
  EnhancedStatus status = status::kLocalError;
  std::string reason;
};

// Every input recipient ends up in exactly one group or one refusal.
struct StageResult {
  std::vector<StageGroup> groups;
  std::vector<StageRefusal> refused;

  static StageResult unchanged(const StageInput& in) { return StageResult{{{in.recipients, in.data}}, {}}; }
};

class MessageStage {
 public:
  // What a stage's result depends on, which decides how long it may be reused.
  enum class Scope {
    Content,     // only the bytes (DKIM signing): once per message, whatever the destination;
                 // kept only when the result is one group with every recipient and no refusal
    Recipients,  // the bytes and the recipients (encryption to recipient keys)
    Hop,         // also the next hop (encryption by receiving IP): never reused
  };

  virtual ~MessageStage() = default;
  virtual const char* name() const = 0;
  virtual Scope scope() const { return Scope::Content; }
  // True: process() may block (private-key operations, key lookups) and runs
  // on the thread pool, so it must be thread-safe. False: it runs on the loop
  // thread and must be quick.
  virtual bool blocking() const { return false; }
  virtual StageResult process(const StageInput& in) = 0;
};

}  // namespace tlsrelay
