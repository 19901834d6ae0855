#include "dkim/verification_stage.h"

#include "common/ascii.h"
#include "dkim/verification_results.h"
#include "message/header_section.h"

namespace tlsrelay::dkim {

std::string withAuthenticationResults(std::string_view message, std::string_view authserv_id,
                                      std::string_view field) {
  std::string out(field);
  out.reserve(field.size() + message.size());
  RawHeaderFields split = splitRawHeaderFields(message);
  size_t copied = 0;  // offset in `message` up to which bytes are in `out`
  for (std::string_view raw : split.fields) {
    size_t colon = raw.find(':');
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (!equalsIgnoreCase(name, "Authentication-Results")) continue;
    std::vector<HeaderField> parsed = parseHeaderSection(raw);
    if (parsed.empty() || !claimsAuthservId(parsed.front().value, authserv_id)) continue;
    size_t start = static_cast<size_t>(raw.data() - message.data());
    size_t end = start + raw.size();
    if (end < message.size() && message[end] == '\r') ++end;
    if (end < message.size() && message[end] == '\n') ++end;
    out.append(message.substr(copied, start - copied));
    copied = end;
  }
  out.append(message.substr(copied));
  return out;
}

VerificationStage::VerificationStage(std::shared_ptr<const Verifier> verifier, KeySource* keys,
                                     VerificationSettings settings)
    : verifier_(std::move(verifier)), keys_(keys) {
  update(std::move(settings));
}

void VerificationStage::update(VerificationSettings settings) {
  std::lock_guard lock(mu_);
  enabled_.store(settings.enabled, std::memory_order_relaxed);
  settings_ = std::move(settings);
}

bool VerificationStage::enabled() const {
  std::lock_guard lock(mu_);
  return settings_.enabled;
}

StageResult VerificationStage::process(const StageInput& in) {
  VerificationSettings settings;
  {
    std::lock_guard lock(mu_);
    settings = settings_;
  }
  const Envelope& env = *in.envelope;
  // Our own bounces and reports carry nothing to check; mail from our AUTH
  // users is ours unless asked (MDaemon's "authenticated sessions exempt").
  bool local = env.client_ip == "local" || env.flags.is_bounce;
  if (!settings.enabled || local || (!env.auth_user.empty() && !settings.verify_authenticated))
    return StageResult::unchanged(in);
  std::vector<SignatureVerdict> verdicts = verifier_->verify(*in.data, *keys_);
  std::string field = authenticationResultsField(settings.authserv_id, toAuthResults(verdicts));
  auto data =
      std::make_shared<const std::string>(withAuthenticationResults(*in.data, settings.authserv_id, field));
  return StageResult{{{in.recipients, std::move(data)}}, {}};
}

}  // namespace tlsrelay::dkim
