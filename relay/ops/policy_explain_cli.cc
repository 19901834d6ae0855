// `tlsrelay policy explain`; see cli_policy_explain.h.
#include "relay/ops/policy_explain_cli.h"

#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "policy/domain_policy.h"
#include "policy/tls_policy.h"
#include "relay/config/policy_directory.h"
#include "relay/ops/resolver_setup.h"
#include "relay/outbound/next_hops.h"

namespace tlsrelay {
namespace {

using nlohmann::json;

template <class Record>
json answerJson(const dns::Answer<Record>& a, const std::function<json(const Record&)>& record) {
  json records = json::array();
  for (const auto& r : a.records) records.push_back(record(r));
  json j = {
      {"outcome", dns::toString(a.outcome)}, {"security", dns::toString(a.security)}, {"records", records}};
  if (!a.why.empty()) j["why"] = a.why;
  return j;
}

json decisionJson(const TlsDecision& d) {
  json j = {{"starttls", toString(d.starttls)},
            {"verify", toString(d.verify)},
            {"enforce", d.enforce},
            {"requiretls", d.requiretls},
            {"policy_source", d.policy_source},
            {"policy_type", toString(d.report.type)}};
  if (!d.tlsa.empty()) {
    json t = json::array();
    for (const auto& r : d.tlsa) t.push_back(tlsaPresentation(r));
    j["tlsa"] = t;
  }
  if (d.skip) {
    j["skip"] = true;
    j["skip_reason"] = d.skip_reason;
    if (d.skip_result) j["skip_result_type"] = toString(*d.skip_result);
  }
  if (d.requiretls_refusal != RequireTlsRefusal::None)
    j["requiretls_reason"] = toString(d.requiretls_refusal);
  if (d.report.failure) {
    j["policy_failure"] = toString(*d.report.failure);
    j["policy_failure_reason"] = d.report.failure_reason;
  }
  return j;
}

json stsJson(const NextHops& hops) {
  const StsInput& s = hops.sts;
  const StsTrace& t = hops.sts_trace;
  json j = {{"status", toString(s.status)}, {"txt", t.txt},
            {"txt_outcome", t.txt_outcome}, {"txt_security", t.txt_security},
            {"cached_id", t.cached_id},     {"cached_expires", t.cached_expires},
            {"fetched", t.fetched},         {"fetch_result", t.fetch_result},
            {"from_cache", s.from_cache}};
  if (!s.why.empty()) j["why"] = s.why;
  if (s.policy) {
    j["policy"] = {{"mode", toString(s.policy->mode)}, {"mx", s.policy->mx}, {"max_age", s.policy->max_age}};
  }
  return j;
}

std::string describe(const TlsDecision& d) {
  if (d.skip) return "do not connect: " + d.skip_reason;
  std::string out = std::string("STARTTLS ") + toString(d.starttls) + ", verify " + toString(d.verify);
  if (!d.enforce) out += " (report only)";
  if (d.requiretls) out += ", peer must offer REQUIRETLS";
  out += "  [" + d.policy_source + "]";
  if (d.report.failure) out += std::string("  policy failure: ") + toString(*d.report.failure);
  return out;
}

void printText(const json& j) {
  std::cout << "domain:       " << j["domain"].get<std::string>() << "\n"
            << "dnssec mode:  " << j["dnssec_mode"].get<std::string>() << "\n"
            << "policy file:  " << j["policy_file"].get<std::string>() << "\n";
  for (const char* key : {"smarthost", "next_hop"}) {
    if (!j.contains(key)) continue;
    std::cout << (std::string(key) == "smarthost" ? "smarthost:    " : "next hop:     ")
              << j[key].get<std::string>() << " (TLS " << j["next_hop_tls"].get<std::string>()
              << (j.contains("auth") ? ", AUTH" : "") << ")\n";
  }
  if (j.contains("mx")) {
    const json& mx = j["mx"];
    std::cout << "MX answer:    " << mx["outcome"].get<std::string>() << ", "
              << mx["security"].get<std::string>() << "\n";
    for (const auto& r : mx["records"]) std::cout << "  " << r.get<std::string>() << "\n";
  }
  for (const auto& h : j["hosts"]) {
    std::cout << "host " << h["host"].get<std::string>() << ": addresses "
              << h["addresses"]["outcome"].get<std::string>() << ", "
              << h["addresses"]["security"].get<std::string>();
    for (const auto& a : h["addresses"]["records"]) std::cout << " " << a.get<std::string>();
    std::cout << "\n";
    if (h.contains("tlsa")) {
      std::cout << "  TLSA: " << h["tlsa"]["outcome"].get<std::string>() << ", "
                << h["tlsa"]["security"].get<std::string>() << "\n";
      for (const auto& r : h["tlsa"]["records"]) std::cout << "    " << r.get<std::string>() << "\n";
    } else {
      std::cout << "  TLSA: not looked up (MX or address not DNSSEC-secure)\n";
    }
  }
  if (j.contains("mta_sts")) {
    const json& s = j["mta_sts"];
    std::cout << "MTA-STS:      " << s["status"].get<std::string>();
    if (!s["txt"].get<std::string>().empty()) std::cout << "  TXT \"" << s["txt"].get<std::string>() << "\"";
    if (s.contains("policy"))
      std::cout << "  mode " << s["policy"]["mode"].get<std::string>() << ", mx " << s["policy"]["mx"].dump()
                << ", max_age " << s["policy"]["max_age"].get<uint32_t>();
    std::cout << (s["from_cache"].get<bool>() ? "  (from cache)" : "")
              << (s["fetched"].get<bool>() ? "  (fetched: " + s["fetch_result"].get<std::string>() + ")" : "")
              << "\n";
    if (s.contains("why")) std::cout << "  " << s["why"].get<std::string>() << "\n";
  }
  if (j.contains("terminal")) std::cout << "no next hop:  " << j["terminal"].get<std::string>() << "\n";
  for (const auto& d : j["decisions"]) {
    std::cout << "next hop " << d["mx_host"].get<std::string>() << " [" << d["ip"].get<std::string>() << "]\n"
              << "  normal message:     " << d["normal_text"].get<std::string>() << "\n"
              << "  REQUIRETLS message: " << d["requiretls_text"].get<std::string>() << "\n";
  }
}

}  // namespace

int runPolicyExplain(const RelayConfig& config, const std::string& raw_domain, bool json_output) {
  std::string domain = normalizeDomain(raw_domain);
  auto clock = [] { return static_cast<int64_t>(::time(nullptr)); };
  auto policies = loadPolicyDirectory(config.policy_directory);
  if (!policies.ok()) {
    std::cerr << policies.error().message << "\n";
    return 1;
  }
  auto resolver = makeConfiguredResolver(config.dns, clock);
  if (!resolver.ok()) {
    std::cerr << resolver.error().message << "\n";
    return 1;
  }
  auto mta_sts = makeConfiguredMtaSts(config.mta_sts, resolver->get(), clock);
  std::mt19937 rng{std::random_device{}()};
  const DomainPolicy& policy = policies->match(domain);
  const ConfiguredNextHop next_hop = nextHopFor(policy, smarthostNextHop(config.delivery));
  NextHops hops = resolveNextHops(next_hop, **resolver, mta_sts.get(), domain, [&rng] { return rng(); });

  json j = {{"domain", domain}, {"dnssec_mode", config.dns.dnssec}, {"policy_file", policy.source}};
  if (next_hop.empty()) {
    j["mx"] = answerJson<dns::MxRecord>(hops.mx, [](const dns::MxRecord& r) {
      return json(std::to_string(r.preference) + " " + (r.host.empty() ? "." : r.host));
    });
    j["mta_sts"] = stsJson(hops);
  } else {
    j[policy.next_hop.empty() ? "smarthost" : "next_hop"] = next_hop.host_port;
    j["next_hop_tls"] = next_hop.implicit_tls   ? "implicit"
                        : next_hop.tls_required ? "starttls (required)"
                                                : "as the policy says";
    if (policy.next_hop.empty() && !config.delivery.smarthost_auth_file.empty()) j["auth"] = true;
  }
  json hosts = json::array();
  for (const auto& h : hops.hosts) {
    json hj = {
        {"host", h.host},
        {"addresses", answerJson<std::string>(h.addresses, [](const std::string& a) { return json(a); })}};
    if (h.tlsa)
      hj["tlsa"] = answerJson<dns::TlsaRecord>(
          *h.tlsa, [](const dns::TlsaRecord& r) { return json(tlsaPresentation(r)); });
    hosts.push_back(hj);
  }
  j["hosts"] = hosts;
  if (hops.terminal) j["terminal"] = hops.terminal->status.toString() + " " + hops.terminal->response;
  json decisions = json::array();
  for (const auto& t : hops.targets) {
    TlsDecision normal = decideTls(decisionInputFor(t, domain, hops.sts, MessageTlsFlags{}, policy));
    TlsDecision requiretls =
        decideTls(decisionInputFor(t, domain, hops.sts, MessageTlsFlags{true, false}, policy));
    decisions.push_back({{"mx_host", t.mx_host},
                         {"ip", t.ip},
                         {"mx_security", dns::toString(t.mx_security)},
                         {"address_security", dns::toString(t.address_security)},
                         {"tlsa_status", toString(t.tlsa.status)},
                         {"normal", decisionJson(normal)},
                         {"requiretls", decisionJson(requiretls)},
                         {"normal_text", describe(normal)},
                         {"requiretls_text", describe(requiretls)}});
  }
  j["decisions"] = decisions;
  if (json_output)
    std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  else
    printText(j);
  return hops.terminal ? 3 : 0;
}

}  // namespace tlsrelay
