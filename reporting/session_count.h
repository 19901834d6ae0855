// The unit the TLS report store keeps: how many sessions (RFC 8460 counts
// sessions, not messages) ended one way, per UTC day and everything a report
// groups by. One row per distinct key, never one per message; writers add to
// the count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policy/tls_report.h"

namespace tlsrelay {

struct SessionCountKey {
  std::string day;  // UTC "YYYY-MM-DD"
  std::string policy_domain;
  TlsPolicyType policy_type = TlsPolicyType::NoPolicyFound;
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_host;  // STS mx patterns
  TlsResultType result_type = TlsResultType::Success;
  std::string sending_ip;             // our address on the session; "" when not connected
  std::string receiving_mx_hostname;  // "" when no next hop was known
  std::string receiving_ip;
  std::string failure_reason_code;  // free text; "" on success

  bool operator==(const SessionCountKey&) const = default;
};

struct SessionCount {
  SessionCountKey key;
  uint64_t sessions = 0;
};

}  // namespace tlsrelay
