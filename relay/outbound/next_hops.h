// Where a destination's mail can go and what TLS each next hop is known to
// support before connecting: the MX set (or the smarthost) with DNSSEC status,
// each address, the TLSA records of each secure MX host, and the domain's
// MTA-STS state. One BLOCKING function shared by delivery (on the thread pool)
// and `tlsrelay policy explain` (which also prints the raw answers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnssec/dns_answer.h"
#include "policy/domain_policy.h"
#include "policy/tls_policy.h"
#include "policy/tls_report.h"
#include "relay/config/config.h"  // DeliveryConfig
#include "relay/mta_sts/mta_sts_provider.h"
#include "relay/outbound/failure_scope.h"
#include "relay/smtp/smtp_credentials.h"

namespace tlsrelay {

namespace dns {
class Resolver;
}

// A next hop the operator configured instead of the MX records: [delivery]
// smarthost for all mail, or a policy file's next_hop for its domains.
struct ConfiguredNextHop {
  std::string host_port;                               // "host:port" / "[ip]:port"; empty = MX delivery
  bool implicit_tls = false;                           // TLS from the first byte (port 465)
  bool tls_required = false;                           // TLS is mandatory whatever the policy files say
  bool verify_certificate = false;                     // ...and the certificate is PKIX-checked
  std::shared_ptr<const SmtpCredentials> credentials;  // AUTH after TLS; null = none
  bool empty() const { return host_port.empty(); }
};

// [delivery] smarthost: implicit TLS on port 465 (smarthost_tls = "auto"), TLS
// mandatory and PKIX-verified (smarthost_verify) when credentials are sent.
ConfiguredNextHop smarthostNextHop(const DeliveryConfig& delivery);
// Where mail for a domain goes: its policy file's next_hop, else `smarthost`
// (which may be empty: MX delivery). A policy next hop gets TLS as its policy
// file says; implicit TLS or next_hop_tls = "starttls" make it mandatory.
ConfiguredNextHop nextHopFor(const DomainPolicy& policy, const ConfiguredNextHop& smarthost);

struct JobTarget {
  std::string mx_host;
  std::string ip;
  uint16_t port = 25;
  dns::Security mx_security = dns::Security::Insecure;
  dns::Security address_security = dns::Security::Insecure;
  bool smarthost = false;
  bool ip_literal = false;
  // From ConfiguredNextHop (configured next hops only).
  bool implicit_tls = false;
  bool tls_required = false;
  bool verify_certificate = false;
  std::shared_ptr<const SmtpCredentials> credentials;
  TlsaInput tlsa;  // _<port>._tcp.<mx_host>, looked up only when MX and address are secure
};

struct NextHops {
  std::vector<JobTarget> targets;                // in the order to try
  StsInput sts;                                  // the recipient domain's MTA-STS state (MX delivery only)
  std::optional<RecipientOutcome> terminal;      // null MX, no such domain, DNS failure: no hop to try
  std::optional<TlsResultType> terminal_result;  // dnssec-invalid when bogus DNS data left no hop

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

// `next_hop` empty = MX delivery. A domain
// that is an address literal ("[192.0.2.9]", "[IPv6:2001:db8::1]") is its own
// next hop on port 25 (RFC 5321 §4.1.3); nothing is looked up for it.
// `random` shuffles MX hosts of equal preference. `mta_sts` may be null (off).
NextHops resolveNextHops(const ConfiguredNextHop& next_hop, dns::Resolver& resolver, MtaStsProvider* mta_sts,
                         const std::string& domain, const std::function<uint32_t()>& random);

// The IP address of an address-literal domain ("[192.0.2.9]" -> "192.0.2.9",
// "[IPv6:2001:db8::1]" -> "2001:db8::1"); nullopt when `domain` is not one or
// the literal is malformed. RFC 5321 §4.1.3.
std::optional<std::string> addressLiteralIp(std::string_view domain);
bool isAddressLiteral(std::string_view domain);  // starts with '[' (well formed or not)

// The decision inputs for one hop of a destination.
DecisionInput decisionInputFor(const JobTarget& target, const std::string& domain, const StsInput& sts,
                               const MessageTlsFlags& flags, const DomainPolicy& policy);

}  // namespace tlsrelay
