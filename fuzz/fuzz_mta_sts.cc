// libFuzzer target: arbitrary bytes as an MTA-STS policy body (from any HTTPS
// server a domain names), as _mta-sts TXT records, and as a cache file. When a
// policy parses, its MX matcher runs too. Must never crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/mta_sts_policy.h"
#include "relay/mta_sts/mta_sts_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = tlsrelay::parseStsPolicy(text);
  if (policy.ok()) {
    for (const auto& pattern : policy->mx) (void)tlsrelay::stsMxMatches(*policy, "a." + pattern);
    (void)tlsrelay::stsMxMatches(*policy, text.substr(0, 64));
  }
  // The same bytes split at NULs as several TXT records.
  std::vector<std::string> records;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\0') {
      records.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  (void)tlsrelay::parseStsTxtId(records);
  (void)tlsrelay::parseStsCacheEntry(std::string(text));
  return 0;
}
