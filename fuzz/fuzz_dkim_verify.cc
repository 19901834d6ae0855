// libFuzzer target: arbitrary bytes as a signed message and as the key record
// that answers its lookups. The input is split at the first NUL: before it the
// key record(s) (several, split at '\n'), after it the message. Exercises
// libopendkim's DKIM-Signature and key-record parsing through our verifier,
// the raw header split, and the Authentication-Results writer. Must never
// crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canonicalization.h"
#include "dkim/dkim_signer.h"
#include "dkim/dkim_verifier.h"
#include "dkim/verification_results.h"
#include "message/authentication_results.h"
#include "message/header_section.h"
#include "relay/tls/key_generation.h"

namespace {

class FuzzKeys : public tlsrelay::dkim::KeySource {
 public:
  std::vector<std::string> records;
  Lookup lookup(const std::string& name) override {
    if (records.empty()) return {};
    // Vary the outcome by the name so every path is reached.
    if (name.size() % 7 == 0) return {Lookup::Status::TempFail, {}, tlsrelay::dkim::KeyDnssec::Unknown};
    return {Lookup::Status::Found, records,
            name.size() % 5 == 0 ? tlsrelay::dkim::KeyDnssec::Bogus : tlsrelay::dkim::KeyDnssec::Insecure};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto verifier = tlsrelay::dkim::Verifier::create();
  static const auto signer = [] {
    auto key = tlsrelay::generateKey(tlsrelay::KeyAlgorithm::Ed25519, 0);
    return tlsrelay::dkim::Signer::create({"fuzz.test", "f", key->private_key_pem}, {});
  }();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view keys_text = nul == std::string_view::npos ? std::string_view() : input.substr(0, nul);
  std::string_view message = nul == std::string_view::npos ? input : input.substr(nul + 1);
  FuzzKeys keys;
  size_t start = 0;
  for (size_t i = 0; i <= keys_text.size(); ++i) {
    if (i == keys_text.size() || keys_text[i] == '\n') {
      if (i > start) keys.records.emplace_back(keys_text.substr(start, i - start));
      start = i + 1;
    }
  }
  tlsrelay::RawHeaderFields split = tlsrelay::splitRawHeaderFields(message);
  (void)tlsrelay::dkim::canonicalBody(split.body, tlsrelay::dkim::Canonicalization::Simple);
  if (!split.fields.empty())
    (void)tlsrelay::dkim::canonicalHeader(split.fields.front(), tlsrelay::dkim::Canonicalization::Relaxed);
  auto field = (*signer)->sign(message);
  if (!field.ok()) __builtin_trap();  // signing never fails on content
  auto verdicts = (*verifier)->verify(message, keys);
  (void)tlsrelay::authenticationResultsField("fuzz.test", tlsrelay::dkim::toAuthResults(verdicts));
  return 0;
}
