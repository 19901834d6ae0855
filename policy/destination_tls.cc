// Per-destination TLS decision from a domain policy; see destination_tls.h.
#include "policy/destination_tls.h"

namespace tlsrelay {
namespace {

const Cidr* firstContaining(const std::vector<Cidr>& list, const IpAddress& address) {
  for (const auto& cidr : list)
    if (cidr.contains(address)) return &cidr;
  return nullptr;
}

}  // namespace

TlsDecision decideFromDomainPolicy(const DomainPolicy& policy) {
  TlsDecision d;
  if (policy.require_starttls || policy.verify != VerifyMode::None)
    d.starttls = StartTlsMode::Required;
  else if (policy.use_starttls)
    d.starttls = StartTlsMode::Opportunistic;
  else
    d.starttls = StartTlsMode::Never;
  // verify = "dane" authenticates by the hop's TLSA records, which only
  // decideTls knows: a decision says Dane only when it carries them.
  d.verify = policy.verify == VerifyMode::Dane ? VerifyMode::None : policy.verify;
  d.ciphers = policy.ciphers;
  d.min_tls_version = policy.min_tls_version.empty() ? "TLSv1.2" : policy.min_tls_version;
  d.client_certificate = policy.client_certificate;
  d.client_key = policy.client_key.empty() ? policy.client_certificate : policy.client_key;
  d.policy_source = policy.source.empty() ? "default" : policy.source;
  return d;
}

TlsDecision decideDestinationTls(const DomainPolicy& policy, const IpAddress& destination_ip) {
  TlsDecision d = decideFromDomainPolicy(policy);
  if (d.starttls == StartTlsMode::Required) return d;  // already as strict as the IP rule could make it
  const Cidr* required = firstContaining(policy.require_tls_out, destination_ip);
  if (!required || anyContains(policy.require_tls_except, destination_ip)) return d;
  d.starttls = StartTlsMode::Required;
  d.policy_source = "require_tls_out " + required->toString();
  return d;
}

}  // namespace tlsrelay
