// Session counts to an RFC 8460 report document and its JSON; see
// report_builder.h.
#include "reporting/report_builder.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/stable_hash.h"

namespace tlsrelay {
namespace {

// RFC 8460 §4: the report is I-JSON (RFC 7493), whose §2.2 says integers
// beyond 2^53-1 may not be exact in the receiver; a corrupt or absurd count
// is capped there rather than sent as a number the receiver reads wrong.
constexpr uint64_t kMaxReportCount = (uint64_t{1} << 53) - 1;

uint64_t addCapped(uint64_t total, uint64_t n) {
  total = std::min(total, kMaxReportCount);
  return n >= kMaxReportCount - total ? kMaxReportCount : total + n;
}

// What makes one policies[] entry (RFC 8460 §4.4 "policy" object). The
// domain is part of it so that counts wrongly mixing two domains give two
// entries instead of merging one domain's sessions into another's.
struct PolicyKey {
  std::string domain;
  std::string type;  // the RFC name, so entries sort by what the reader sees
  std::vector<std::string> strings;
  std::vector<std::string> mx_host;

  bool operator<(const PolicyKey& o) const {
    return std::tie(domain, type, strings, mx_host) < std::tie(o.domain, o.type, o.strings, o.mx_host);
  }
};

// What makes one failure-details[] entry.
struct DetailKey {
  std::string result_type;
  std::string sending_ip;
  std::string mx_hostname;
  std::string receiving_ip;
  std::string reason;

  bool operator<(const DetailKey& o) const {
    return std::tie(result_type, sending_ip, mx_hostname, receiving_ip, reason) <
           std::tie(o.result_type, o.sending_ip, o.mx_hostname, o.receiving_ip, o.reason);
  }
};

struct PolicyTotals {
  uint64_t successful = 0;
  uint64_t failed = 0;
  std::map<DetailKey, uint64_t> details;  // ordered: deterministic output
};

}  // namespace

TlsReportDocument buildTlsReport(const ReportMeta& meta, const std::vector<SessionCount>& counts) {
  TlsReportDocument doc;
  doc.organization_name = meta.organization_name;
  // RFC 8460 §4.1: a report SHOULD cover one full UTC day, 00:00-24:00; the
  // end is the day's last second as in the RFC's Appendix B example.
  doc.start_datetime = meta.day + "T00:00:00Z";
  doc.end_datetime = meta.day + "T23:59:59Z";
  doc.contact_info = meta.contact_info;
  doc.report_id = meta.report_id;

  std::map<PolicyKey, PolicyTotals> groups;
  for (const SessionCount& c : counts) {
    const SessionCountKey& k = c.key;
    if (c.sessions == 0) continue;                      // a row that records nothing adds no entry
    if (!k.day.empty() && k.day != meta.day) continue;  // belongs to that day's report
    PolicyTotals& t =
        groups[PolicyKey{k.policy_domain, toString(k.policy_type), k.policy_strings, k.mx_host}];
    if (!isFailure(k.result_type)) {
      t.successful = addCapped(t.successful, c.sessions);  // RFC 8460 §4.2.1
      continue;
    }
    t.failed = addCapped(t.failed, c.sessions);  // RFC 8460 §4.2.2
    uint64_t& n = t.details[DetailKey{toString(k.result_type), k.sending_ip, k.receiving_mx_hostname,
                                      k.receiving_ip, k.failure_reason_code}];
    n = addCapped(n, c.sessions);
  }

  doc.policies.reserve(groups.size());
  for (auto& [key, totals] : groups) {
    ReportPolicyEntry& p = doc.policies.emplace_back();
    p.policy_type = key.type;
    p.policy_string = key.strings;
    p.policy_domain = key.domain;  // RFC 8460 §4.4: present for every type, no-policy-found too
    p.mx_host = key.mx_host;
    p.total_successful_session_count = totals.successful;
    p.total_failure_session_count = totals.failed;
    p.failure_details.reserve(totals.details.size());
    for (const auto& [d, n] : totals.details) {
      ReportFailureDetail& f = p.failure_details.emplace_back();
      f.result_type = d.result_type;
      f.sending_mta_ip = d.sending_ip;
      f.receiving_mx_hostname = d.mx_hostname;
      f.receiving_ip = d.receiving_ip;
      f.failure_reason_code = d.reason;
      f.failed_session_count = n;
    }
  }
  return doc;
}

std::string reportJson(const TlsReportDocument& doc) {
  // ordered_json keeps insertion order: members appear as in RFC 8460 §4.4.
  using Json = nlohmann::ordered_json;
  auto putIfSet = [](Json& j, const char* name, const std::string& value) {
    if (!value.empty()) j[name] = value;
  };

  Json policies = Json::array();  // RFC 8460 §4: MUST be an array, even for one policy
  for (const ReportPolicyEntry& p : doc.policies) {
    Json policy = Json::object();
    policy["policy-type"] = p.policy_type;
    // RFC 8460 §4.4: policy-string encodes the applied policy (TLSA records
    // or STS lines) and mx-host holds the STS mx patterns. With no policy
    // found there is nothing to encode, so empty ones are left out; for
    // "sts" both stay, and "tlsa" always carries its records.
    if (!p.policy_string.empty() || p.policy_type != "no-policy-found")
      policy["policy-string"] = p.policy_string;
    policy["policy-domain"] = p.policy_domain;
    if (!p.mx_host.empty() || p.policy_type == "sts") policy["mx-host"] = p.mx_host;

    Json details = Json::array();
    for (const ReportFailureDetail& f : p.failure_details) {
      Json d = Json::object();
      d["result-type"] = f.result_type;
      // RFC 8460 §4.4 marks only receiving-mx-helo and additional-information
      // optional, but a failure before any connection (the STS policy could
      // not be fetched, an MX outside the STS policy was skipped) has no
      // sending address or MX: an empty string would claim one, so the member
      // is left out, as the RFC's Appendix B example leaves out receiving-ip.
      putIfSet(d, "sending-mta-ip", f.sending_mta_ip);
      putIfSet(d, "receiving-mx-hostname", f.receiving_mx_hostname);
      putIfSet(d, "receiving-mx-helo", f.receiving_mx_helo);
      putIfSet(d, "receiving-ip", f.receiving_ip);
      d["failed-session-count"] = f.failed_session_count;
      putIfSet(d, "additional-information", f.additional_information);
      putIfSet(d, "failure-reason-code", f.failure_reason_code);
      details.push_back(std::move(d));
    }

    Json entry = Json::object();
    entry["policy"] = std::move(policy);
    entry["summary"] = {{"total-successful-session-count", p.total_successful_session_count},
                        {"total-failure-session-count", p.total_failure_session_count}};
    // Always present, empty when every session succeeded: the RFC's schema
    // lists it without "optional", and readers that index it do not break.
    entry["failure-details"] = std::move(details);
    policies.push_back(std::move(entry));
  }

  Json report = Json::object();
  report["organization-name"] = doc.organization_name;
  report["date-range"] = {{"start-datetime", doc.start_datetime}, {"end-datetime", doc.end_datetime}};
  report["contact-info"] = doc.contact_info;
  report["report-id"] = doc.report_id;
  report["policies"] = std::move(policies);
  // RFC 7493 §2.1 (I-JSON, required by RFC 8460 §4): text MUST be UTF-8, so
  // invalid sequences in remote-derived text become U+FFFD.
  return report.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string reportId(std::string_view day, std::string_view policy_domain, std::string_view submitter) {
  // A NUL between fields keeps ("ab","c") and ("a","bc") apart.
  const std::string_view nul("\0", 1);
  const uint64_t h = fnv1a64(submitter, fnv1a64(nul, fnv1a64(policy_domain, fnv1a64(nul, fnv1a64(day)))));

  std::string id;
  id.reserve(day.size() + policy_domain.size() + 40);
  id.append(day).append("T00:00:00Z_");
  for (char ch : policy_domain) {
    bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '.' || ch == '-';
    id.push_back(safe ? ch : '_');
  }
  id.push_back('_');
  return id + hex64(h);
}

}  // namespace tlsrelay
