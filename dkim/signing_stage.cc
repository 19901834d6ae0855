#include "dkim/signing_stage.h"

#include "common/ascii.h"
#include "common/log.h"
#include "message/header_section.h"
#include "message/mime.h"

namespace tlsrelay::dkim {
namespace {

std::vector<std::string> fromAddresses(std::string_view message) {
  std::vector<std::string> out;
  for (const HeaderField& f : parseHeaderSection(message)) {
    if (!equalsIgnoreCase(f.name, "From")) continue;
    for (std::string& a : parseMailboxList(f.value)) out.push_back(lowerAscii(a));
  }
  return out;
}

}  // namespace

SigningStage::SigningStage(std::vector<KeyedEntry> entries, SourceCheck may_sign) {
  update(std::move(entries), std::move(may_sign));
}

void SigningStage::update(std::vector<KeyedEntry> entries, SourceCheck may_sign) {
  auto keys = std::make_shared<Keys>();
  bool rsa = false;
  for (const KeyedEntry& e : entries) {
    rsa = rsa || e.signer->keyType() == KeyType::Rsa;
    keys->rules.push_back(e.entry);
  }
  keys->entries = std::move(entries);
  keys->may_sign = std::move(may_sign);
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
  blocking_.store(rsa, std::memory_order_relaxed);
}

std::shared_ptr<const SigningStage::Keys> SigningStage::current() const {
  std::lock_guard lock(mu_);
  return keys_;
}

size_t SigningStage::keys() const {
  return current()->entries.size();
}

StageResult SigningStage::process(const StageInput& in) {
  std::shared_ptr<const Keys> keys = current();
  if (keys->entries.empty() || (keys->may_sign && !keys->may_sign(*in.envelope)))
    return StageResult::unchanged(in);
  std::vector<std::string> recipients;
  recipients.reserve(in.envelope->recipients.size());
  for (const Recipient& r : in.envelope->recipients) recipients.push_back(lowerAscii(r.address));
  std::vector<size_t> chosen = eligibleEntries(keys->rules, fromAddresses(*in.data), recipients);
  if (chosen.empty()) return StageResult::unchanged(in);

  std::string fields;
  for (size_t i : chosen) {
    const Signer& signer = *keys->entries[i].signer;
    auto field = signer.sign(*in.data);
    if (!field.ok()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      // The domain asked for signed mail: unsigned mail would fail its DMARC
      // checks, so the message waits (as OpenDKIM's On-InternalError=tempfail).
      log::warn("dkim", "signing failed",
                {{"queue_id", in.envelope->queue_id},
                 {"domain", signer.domain()},
                 {"selector", signer.selector()},
                 {"error", field.error().message}});
      StageResult deferred;
      for (size_t r : in.recipients)
        deferred.refused.push_back(
            StageRefusal{r, status::kLocalError, "DKIM signing failed: " + field.error().message});
      return deferred;
    }
    fields += *field;
    signatures_.fetch_add(1, std::memory_order_relaxed);
  }
  auto signed_data = std::make_shared<std::string>(std::move(fields));
  signed_data->append(*in.data);
  return StageResult{{{in.recipients, std::move(signed_data)}}, {}};
}

}  // namespace tlsrelay::dkim
