// Next-hop resolution with TLS facts; see next_hops.h.
#include "relay/outbound/next_hops.h"

#include <map>

#include "common/cidr.h"
#include "common/host_port.h"
#include "dnssec/mx_resolution.h"
#include "dnssec/resolver.h"
#include "relay/config/config.h"

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

void resolveSmarthost(const std::string& smarthost, dns::Resolver& resolver, NextHops& hops) {
  auto hp = parseHostPort(smarthost, 25);
  if (!hp.ok()) {
    hops.terminal = transientFailure("bad smarthost: " + hp.error().message, "4.3.5");
    return;
  }
  if (IpAddress::parse(hp->host)) {
    JobTarget t{hp->host, hp->host, hp->port};
    t.smarthost = t.ip_literal = true;
    hops.targets.push_back(std::move(t));
    return;
  }
  auto addrs = resolver.lookupAddresses(hp->host);
  hops.hosts.push_back({hp->host, addrs, std::nullopt});
  if (addrs.security != dns::Security::Bogus)
    for (const auto& ip : addrs.records) {
      JobTarget t{hp->host, ip, hp->port, addrs.security, addrs.security};
      t.smarthost = true;
      hops.targets.push_back(std::move(t));
    }
  if (hops.targets.empty()) {
    hops.terminal = transientFailure(
        "smarthost " + hp->host + " has no usable address (" + dns::toString(addrs.outcome) + ")", "4.4.3");
    return;
  }
  lookUpTlsa(resolver, hops);
}

}  // namespace

NextHops resolveNextHops(const RelayConfig& config, dns::Resolver& resolver, MtaStsProvider* mta_sts,
                         const std::string& domain, const std::function<uint32_t()>& random) {
  NextHops hops;
  if (!config.delivery.smarthost.empty()) {
    resolveSmarthost(config.delivery.smarthost, resolver, hops);
    return hops;
  }
  hops.mx = resolver.lookupMx(domain);
  dns::MxPlan plan = dns::planMx(domain, hops.mx, random);
  switch (plan.kind) {
    case dns::MxPlan::Kind::NullMx:
      // RFC 7505 §3: the domain accepts no mail; fail at once.
      hops.terminal = permanentFailure("domain " + domain + " does not accept mail (null MX)", "5.1.10");
      return hops;
    case dns::MxPlan::Kind::NoSuchDomain:
      hops.terminal = permanentFailure("domain " + domain + " does not exist", "5.1.2");
      return hops;
    case dns::MxPlan::Kind::TempFail:
      hops.terminal = transientFailure("MX lookup for " + domain + " failed: " + plan.why, "4.4.3");
      return hops;
    case dns::MxPlan::Kind::Bogus:
      hops.terminal = transientFailure("DNSSEC validation failed for " + domain + ": " + plan.why, "4.7.5");
      hops.terminal_result_type = "dnssec-invalid";
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
        bogus ? "4.7.5" : "4.4.3");
    if (bogus) hops.terminal_result_type = "dnssec-invalid";
    return hops;
  }
  lookUpTlsa(resolver, hops);
  if (mta_sts != nullptr) hops.sts = mta_sts->lookup(domain, &hops.sts_trace);
  return hops;
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
  in.tlsa = target.tlsa;
  in.sts = sts;
  in.policy_file = &policy;
  return in;
}

}  // namespace tlsrelay
