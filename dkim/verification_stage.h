// The inbound DKIM check as a message stage: verifies every signature once
// per message (Content scope, on the thread pool: key lookups block) and
// prepends an Authentication-Results field (RFC 8601) for the next reader,
// after removing any that claims our authserv-id (§5: those are forgeries).
// Runs first, before any stage changes the bytes.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "dkim/dkim_verifier.h"
#include "message/stage.h"

namespace tlsrelay::dkim {

struct VerificationSettings {
  bool enabled = false;
  bool verify_authenticated = false;  // also mail from AUTH clients
  std::string authserv_id;
};

class VerificationStage : public MessageStage {
 public:
  // `keys` must outlive the stage and be thread-safe.
  VerificationStage(std::shared_ptr<const Verifier> verifier, KeySource* keys, VerificationSettings settings);

  const char* name() const override { return "dkim-verify"; }
  Scope scope() const override { return Scope::Content; }
  // Only while enabled: a disabled stage costs the loop thread next to nothing.
  bool blocking() const override { return enabled_.load(std::memory_order_relaxed); }
  StageResult process(const StageInput& in) override;

  void update(VerificationSettings settings);  // SIGHUP
  bool enabled() const;

 private:
  std::shared_ptr<const Verifier> verifier_;
  KeySource* keys_;
  mutable std::mutex mu_;
  VerificationSettings settings_;
  std::atomic<bool> enabled_{false};
};

// `message` with every Authentication-Results field that claims
// `authserv_id` removed and `field` put first.
std::string withAuthenticationResults(std::string_view message, std::string_view authserv_id,
                                      std::string_view field);

}  // namespace tlsrelay::dkim
