// MTA-STS (RFC 8461) as pure functions: the `_mta-sts` TXT record, the policy
// file served at https://mta-sts.<domain>/.well-known/mta-sts.txt, and the
// rule that says whether an MX host name is covered by a policy. No I/O: the
// fetch lives in relay/mta_sts/mta_sts_fetcher, the cache in relay/mta_sts/mta_sts_cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

enum class StsMode { Enforce, Testing, None };

const char* toString(StsMode mode);  // "enforce", "testing", "none"

struct StsPolicy {
  StsMode mode = StsMode::None;
  std::vector<std::string> mx;  // lower case patterns: "mail.example.com", "*.example.net"
  uint32_t max_age = 0;         // seconds, 0..31557600
  std::string text;             // the policy body as fetched (for reports and the cache)
  bool operator==(const StsPolicy&) const = default;
};

// RFC 8461 §3.2 strict parse: "version: STSv1" first, then key: value lines
// (CRLF or LF; whitespace only after the colon and after the value; blank
// lines only at the very end), keys and values case-sensitive, mode and
// max_age required exactly once, mx required unless mode is none, unknown keys
// ignored, at most 64 KiB. Errors say which line and why.
Result<StsPolicy> parseStsPolicy(std::string_view body);

// RFC 8461 §3.1: of the TXT records at _mta-sts.<domain>, the ones starting
// with "v=STSv1" are considered; exactly one must be present and it must carry
// a valid id (1-32 alphanumerics). Returns that id, nullopt when there is no
// STSv1 record at all (no policy announced), or an error for a malformed one.
Result<std::optional<std::string>> parseStsTxtId(const std::vector<std::string>& txt_records);

// RFC 8461 §4.1: `mx_host` (lower case or not, trailing dot ignored) matches a
// pattern exactly, or a "*.suffix" pattern whose wildcard stands for exactly
// one leftmost label.
bool stsMxMatches(const StsPolicy& policy, std::string_view mx_host);

}  // namespace tlsrelay
