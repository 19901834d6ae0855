// Next-hop resolution with TLS facts; see next_hops.h.
#include "relay/outbound/next_hops.h"

#include <map>

#include "common/cidr.h"
#include "common/host_port.h"
#include "dnssec/mx_resolution.h"
#include "dnssec/resolver.h"

namespace tlsrelay {
namespace {

// RFC 7672 §2.2: DANE applies only when the host name came from a secure MX
// answer (or is a configured smarthost name) and its address records are
// secure. One lookup per host, shared by its addresses.
void lookUpTlsa(dns::Resolver& resolver, NextHops& hops) {
  std::map<std::string, TlsaInput> by_host;
  for (auto& t : hops.targets) {
    bool secure_name = t.smarthost ? !t.ip_literal : t.mx_security == dns::Security::Secure;
    if (!secure_name || t.address_security != dns::Security::Secure) continue;
    auto it = by_host.find(t.mx_host);
    if (it == by_host.end()) {
      auto answer = resolver.lookupTlsa("_" + std::to_string(t.port) + "._tcp." + t.mx_host);
      for (auto& h : hops.hosts)
        if (h.host == t.mx_host) h.tlsa = answer;
      it = by_host.emplace(t.mx_host, tlsaFromAnswer(answer)).first;
    }
    t.tlsa = it->second;
  }
}

JobTarget configuredTarget(const ConfiguredNextHop& next_hop, std::string host, std::string ip,
                           uint16_t port) {
  JobTarget t{std::move(host), std::move(ip), port};
  t.smarthost = true;
  t.implicit_tls = next_hop.implicit_tls;
  t.tls_required = next_hop.tls_required || next_hop.implicit_tls || next_hop.credentials != nullptr;
  t.verify_certificate = next_hop.verify_certificate;
  t.credentials = next_hop.credentials;
  return t;
}

bool implicitTls(NextHopTls mode, const std::string& host_port) {
  if (mode != NextHopTls::Auto) return mode == NextHopTls::Implicit;
  auto hp = parseHostPort(host_port, 25);
  return hp.ok() && hp->port == 465;  // RFC 8314 §7.3: submissions
}

void resolveSmarthost(const ConfiguredNextHop& next_hop, dns::Resolver& resolver, NextHops& hops) {
  auto hp = parseHostPort(next_hop.host_port, 25);
  if (!hp.ok()) {
    hops.terminal =
        transientFailure("bad smarthost: " + hp.error().message, status::kSystemConfig, FailureCause::Local);
    return;
  }
  if (IpAddress::parse(hp->host)) {
    JobTarget t = configuredTarget(next_hop, hp->host, hp->host, hp->port);
    t.ip_literal = true;
    hops.targets.push_back(std::move(t));
    return;
  }
  auto addrs = resolver.lookupAddresses(hp->host);
  hops.hosts.push_back({hp->host, addrs, std::nullopt});
  if (addrs.security != dns::Security::Bogus)
    for (const auto& ip : addrs.records) {
      JobTarget t = configuredTarget(next_hop, hp->host, ip, hp->port);
      t.mx_security = t.address_security = addrs.security;
      hops.targets.push_back(std::move(t));
    }
  if (hops.targets.empty()) {
    hops.terminal = transientFailure(
        "smarthost " + hp->host + " has no usable address (" + dns::toString(addrs.outcome) + ")",
        status::kRoutingFailure, FailureCause::Dns);
    return;
  }
  lookUpTlsa(resolver, hops);
}

}  // namespace

ConfiguredNextHop smarthostNextHop(const DeliveryConfig& delivery) {
  ConfiguredNextHop hop;
  hop.host_port = delivery.smarthost;
  if (hop.empty()) return hop;
  hop.implicit_tls = implicitTls(delivery.smarthost_tls, hop.host_port);
  hop.credentials = delivery.smarthost_credentials;
  // The file, not the loaded secret, decides: `policy explain` never reads it.
  const bool authenticates = hop.credentials || !delivery.smarthost_auth_file.empty();
  hop.tls_required = hop.implicit_tls || authenticates || delivery.smarthost_tls == NextHopTls::StartTls;
  hop.verify_certificate = hop.tls_required && delivery.smarthost_verify;
  return hop;
}

ConfiguredNextHop nextHopFor(const DomainPolicy& policy, const ConfiguredNextHop& smarthost) {
  if (policy.next_hop.empty()) return smarthost;
  ConfiguredNextHop hop;
  hop.host_port = policy.next_hop;
  hop.implicit_tls = implicitTls(policy.next_hop_tls, hop.host_port);
  hop.tls_required = hop.implicit_tls || policy.next_hop_tls == NextHopTls::StartTls;
  return hop;
}

NextHops resolveNextHops(const ConfiguredNextHop& next_hop, dns::Resolver& resolver, MtaStsProvider* mta_sts,
                         const std::string& domain, const std::function<uint32_t()>& random) {
  NextHops hops;
  if (!next_hop.empty()) {
    resolveSmarthost(next_hop, resolver, hops);
    return hops;
  }
  if (isAddressLiteral(domain)) {
    // RFC 5321 §4.1.3: the literal is the host; no MX, TLSA or MTA-STS exists
    // for it, so TLS can only be opportunistic (or what the policy file says).
    auto ip = addressLiteralIp(domain);
    if (!ip) {
      hops.terminal = permanentFailure("malformed address literal " + domain, status::kBadDestinationSystem,
                                       FailureCause::Dns);
      return hops;
    }
    JobTarget t{*ip, *ip, 25};
    t.ip_literal = true;
    hops.targets.push_back(std::move(t));
    return hops;
  }
  hops.mx = resolver.lookupMx(domain);
  dns::MxPlan plan = dns::planMx(domain, hops.mx, random);
  switch (plan.kind) {
    case dns::MxPlan::Kind::NullMx:
      // RFC 7505 §3: the domain accepts no mail; fail at once.
      hops.terminal = permanentFailure("domain " + domain + " does not accept mail (null MX)",
                                       status::kNullMx, FailureCause::Dns);
      return hops;
    case dns::MxPlan::Kind::NoSuchDomain:
      hops.terminal = permanentFailure("domain " + domain + " does not exist", status::kBadDestinationSystem,
                                       FailureCause::Dns);
      return hops;
    case dns::MxPlan::Kind::TempFail:
      hops.terminal = transientFailure("MX lookup for " + domain + " failed: " + plan.why,
                                       status::kRoutingFailure, FailureCause::Dns);
      return hops;
    case dns::MxPlan::Kind::Bogus:
      hops.terminal = transientFailure("DNSSEC validation failed for " + domain + ": " + plan.why,
                                       status::kCryptoFailure, FailureCause::Dns);
      hops.terminal_result = TlsResultType::DnssecInvalid;
      return hops;
    case dns::MxPlan::Kind::Hosts:
      break;
  }
  std::string last_why;
  bool bogus = false;
  for (const auto& host : plan.hosts) {
    auto addrs = resolver.lookupAddresses(host.host);
    hops.hosts.push_back({host.host, addrs, std::nullopt});
    if (addrs.outcome != dns::Outcome::Found) last_why = host.host + ": " + dns::toString(addrs.outcome);
    if (addrs.security == dns::Security::Bogus) {  // never deliver on bogus data
      last_why = host.host + ": DNSSEC validation failed" + (addrs.why.empty() ? "" : " (" + addrs.why + ")");
      bogus = true;
      continue;
    }
    for (const auto& ip : addrs.records)
      hops.targets.push_back(JobTarget{host.host, ip, 25, host.mx_security, addrs.security});
  }
  if (hops.targets.empty()) {
    hops.terminal = transientFailure(
        "no usable address for any MX of " + domain + (last_why.empty() ? "" : " (" + last_why + ")"),
        bogus ? status::kCryptoFailure : status::kRoutingFailure, FailureCause::Dns);
    if (bogus) hops.terminal_result = TlsResultType::DnssecInvalid;
    return hops;
  }
  lookUpTlsa(resolver, hops);
  if (mta_sts != nullptr) hops.sts = mta_sts->lookup(domain, &hops.sts_trace);
  return hops;
}

bool isAddressLiteral(std::string_view domain) {
  return !domain.empty() && domain.front() == '[';
}

std::optional<std::string> addressLiteralIp(std::string_view domain) {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') return std::nullopt;
  std::string_view inner = domain.substr(1, domain.size() - 2);
  // RFC 5321 §4.1.3: IPv6-address-literal = "IPv6:" IPv6-addr (the tag is case-insensitive).
  const bool v6 = inner.size() > 5 && (inner.substr(0, 5) == "IPv6:" || inner.substr(0, 5) == "ipv6:" ||
                                       inner.substr(0, 5) == "IPV6:");
  if (v6) inner.remove_prefix(5);
  auto ip = IpAddress::parse(std::string(inner));
  if (!ip) return std::nullopt;
  // An IPv4 literal needs no tag and an IPv6 one must have it; a general
  // address literal (another tag) is not an address we can connect to.
  if (ip->is_v4 == v6) return std::nullopt;
  return std::string(inner);
}

DecisionInput decisionInputFor(const JobTarget& target, const std::string& domain, const StsInput& sts,
                               const MessageTlsFlags& flags, const DomainPolicy& policy) {
  DecisionInput in;
  in.message = flags;
  in.hop.domain = domain;
  in.hop.mx_host = target.mx_host;
  in.hop.ip = target.ip;
  in.hop.mx_security = target.mx_security;
  in.hop.address_security = target.address_security;
  in.hop.smarthost = target.smarthost;
  in.hop.ip_literal = target.ip_literal;
  in.hop.tls_required = target.tls_required;
  in.hop.verify_required = target.tls_required && target.verify_certificate;
  in.tlsa = target.tlsa;
  in.sts = sts;
  in.policy_file = &policy;
  return in;
}

}  // namespace tlsrelay
