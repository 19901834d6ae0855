// Where a destination's mail can go and what TLS each next hop is known to
// support before connecting: the MX set (or the smarthost) with DNSSEC status,
// each address, the TLSA records of each secure MX host, and the domain's
// MTA-STS state. One BLOCKING function shared by delivery (on the thread pool)
// and `tlsrelay policy explain` (which also prints the raw answers).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dnssec/dns_answer.h"
#include "policy/tls_policy.h"
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/outbound/failure_scope.h"

namespace tlsrelay {

struct RelayConfig;
namespace dns {
class Resolver;
}

struct JobTarget {
  std::string mx_host;
  std::string ip;
  uint16_t port = 25;
  dns::Security mx_security = dns::Security::Insecure;
  dns::Security address_security = dns::Security::Insecure;
  bool smarthost = false;
  bool ip_literal = false;
  TlsaInput tlsa;  // _<port>._tcp.<mx_host>, looked up only when MX and address are secure
};

struct NextHops {
  std::vector<JobTarget> targets;            // in the order to try
  StsInput sts;                              // the recipient domain's MTA-STS state (MX delivery only)
  std::optional<RecipientOutcome> terminal;  // null MX, no such domain, DNS failure: no hop to try
  std::string terminal_result_type;          // "dnssec-invalid" when bogus DNS data left no hop

  // The answers behind the plan, for `policy explain`.
  dns::MxAnswer mx;
  struct HostAnswers {
    std::string host;
    dns::AddressAnswer addresses;
    std::optional<dns::TlsaAnswer> tlsa;  // absent when not looked up
  };
  std::vector<HostAnswers> hosts;
  StsTrace sts_trace;
};

// `random` shuffles MX hosts of equal preference. `mta_sts` may be null (off).
NextHops resolveNextHops(const RelayConfig& config, dns::Resolver& resolver, MtaStsProvider* mta_sts,
                         const std::string& domain, const std::function<uint32_t()>& random);

// The decision inputs for one hop of a destination.
DecisionInput decisionInputFor(const JobTarget& target, const std::string& domain, const StsInput& sts,
                               const MessageTlsFlags& flags, const DomainPolicy& policy);

}  // namespace tlsrelay
