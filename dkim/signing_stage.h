// The DKIM signing stage of the message pipeline (message/stage.h): the last
// stage, so signatures cover the bytes that go out. Content scope: a message
// sent unchanged to many destinations is signed once. Eligibility is decided
// on the whole envelope (every recipient, not the group at hand), which keeps
// the result independent of how delivery splits the recipients.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "dkim/dkim_signer.h"
#include "dkim/signing_policy.h"
#include "message/stage.h"

namespace tlsrelay::dkim {

class SigningStage : public MessageStage {
 public:
  struct KeyedEntry {
    SigningEntry entry;
    std::shared_ptr<const Signer> signer;
  };
  // True when the message came from a source allowed to have our signature:
  // an authenticated client, a relay-permitted network, or the relay itself.
  using SourceCheck = std::function<bool(const Envelope&)>;

  SigningStage(std::vector<KeyedEntry> entries, SourceCheck may_sign);

  const char* name() const override { return "dkim-sign"; }
  Scope scope() const override { return Scope::Content; }
  bool blocking() const override { return blocking_.load(std::memory_order_relaxed); }
  StageResult process(const StageInput& in) override;

  // SIGHUP: new keys and rules for messages signed from now on.
  void update(std::vector<KeyedEntry> entries, SourceCheck may_sign);
  size_t keys() const;

  uint64_t signaturesMade() const { return signatures_.load(std::memory_order_relaxed); }
  uint64_t signingFailures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  struct Keys {
    std::vector<KeyedEntry> entries;
    std::vector<SigningEntry> rules;  // entries[i].entry, for eligibleEntries()
    SourceCheck may_sign;
  };
  std::shared_ptr<const Keys> current() const;

  mutable std::mutex mu_;
  std::shared_ptr<const Keys> keys_;
  // Ed25519 signs in tens of microseconds, RSA in a millisecond or more: only
  // RSA keys send the stage to the thread pool.
  std::atomic<bool> blocking_{false};
  std::atomic<uint64_t> signatures_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace tlsrelay::dkim
