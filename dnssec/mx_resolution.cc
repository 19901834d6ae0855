// From an MX answer to the hosts to try, in order (see mx_resolution.h).
#include "dnssec/mx_resolution.h"

#include <algorithm>
#include <set>

#include "dnssec/dns_name.h"

namespace tlsrelay::dns {

const char* toString(MxPlan::Kind kind) {
  switch (kind) {
    case MxPlan::Kind::Hosts:
      return "hosts";
    case MxPlan::Kind::NullMx:
      return "null-mx";
    case MxPlan::Kind::NoSuchDomain:
      return "no-such-domain";
    case MxPlan::Kind::TempFail:
      return "tempfail";
    case MxPlan::Kind::Bogus:
      return "bogus";
  }
  return "tempfail";
}

namespace {

MxPlan verdict(MxPlan::Kind kind, std::string why) {
  MxPlan plan;
  plan.kind = kind;
  plan.why = std::move(why);
  return plan;
}

// Fisher-Yates within each run of equal preferences: RFC 5321 §5.1 says equal
// preferences SHOULD be tried in random order to spread the load.
void shuffleEqualPreferences(std::vector<MxTarget>& hosts, const std::function<uint32_t()>& random) {
  size_t begin = 0;
  while (begin < hosts.size()) {
    size_t end = begin + 1;
    while (end < hosts.size() && hosts[end].preference == hosts[begin].preference) ++end;
    for (size_t i = end - begin; i > 1; --i) {
      size_t j = random ? random() % i : 0;
      std::swap(hosts[begin + i - 1], hosts[begin + j]);
    }
    begin = end;
  }
}

}  // namespace

MxPlan planMx(const std::string& domain, const MxAnswer& mx, std::function<uint32_t()> random) {
  auto name = normalizeDnsName(domain);
  if (!name) return verdict(MxPlan::Kind::NoSuchDomain, "invalid domain name");

  // A bogus answer is never used for delivery, whatever it contains: defer.
  if (mx.security == Security::Bogus) {
    return verdict(MxPlan::Kind::Bogus,
                   "DNSSEC validation failed for MX of " + *name + (mx.why.empty() ? "" : ": " + mx.why));
  }
  switch (mx.outcome) {
    case Outcome::TempFail:
      return verdict(MxPlan::Kind::TempFail, mx.why.empty() ? "MX lookup failed temporarily" : mx.why);
    case Outcome::NxDomain:
      return verdict(MxPlan::Kind::NoSuchDomain, "domain " + *name + " does not exist");
    case Outcome::NoData: {
      // RFC 5321 §5.1: no MX records -> the domain itself is the implicit MX
      // (preference 0); only for an existing name (NoData, not NxDomain).
      MxPlan plan;
      plan.kind = MxPlan::Kind::Hosts;
      plan.hosts.push_back(MxTarget{*name, 0, mx.security});
      plan.why = "no MX records: implicit MX " + *name;
      return plan;
    }
    case Outcome::Found:
      break;
  }

  std::vector<MxTarget> hosts;
  size_t null_records = 0;
  for (const auto& record : mx.records) {
    if (record.host.empty()) {  // RFC 7505 null MX "."
      ++null_records;
      continue;
    }
    auto host = normalizeDnsName(record.host);
    if (!host) continue;
    hosts.push_back(MxTarget{*host, record.preference, mx.security});
  }
  if (hosts.empty() && null_records > 0) {
    // RFC 7505 §3: a domain with a null MX accepts no mail; bounce at once (5.1.10).
    return verdict(MxPlan::Kind::NullMx, "domain " + *name + " publishes a null MX (RFC 7505)");
  }
  if (hosts.empty()) {
    // Records were there but none usable: do not fall back to the implicit MX.
    return verdict(MxPlan::Kind::TempFail, "MX answer for " + *name + " holds no usable host");
  }
  // A null MX next to real hosts is a misconfiguration: use the real hosts.
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxTarget& a, const MxTarget& b) { return a.preference < b.preference; });
  std::vector<MxTarget> unique;  // the same host twice: keep its best preference
  std::set<std::string> seen;
  for (auto& target : hosts) {
    if (seen.insert(target.host).second) unique.push_back(std::move(target));
  }
  shuffleEqualPreferences(unique, random);
  MxPlan plan;
  plan.kind = MxPlan::Kind::Hosts;
  plan.hosts = std::move(unique);
  if (null_records > 0) plan.why = "ignored a null MX published next to real MX hosts";
  return plan;
}

}  // namespace tlsrelay::dns
