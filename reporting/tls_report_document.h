// An RFC 8460 §4 report as values: what we build from our session counts and
// what we read from reports others send us. Field names follow the JSON
// member names. Types the RFC fixes (result-type, policy-type) are kept as
// strings here because received reports carry values outside the RFC's
// lists; the typed vocabulary is policy/tls_report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsrelay {

struct ReportFailureDetail {
  std::string result_type;  // RFC 8460 §4.3 name
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  uint64_t failed_session_count = 0;
  std::string additional_information;
  std::string failure_reason_code;

  bool operator==(const ReportFailureDetail&) const = default;
};

struct ReportPolicyEntry {
  std::string policy_type;                 // "sts", "tlsa", "no-policy-found"
  std::vector<std::string> policy_string;  // STS policy lines or TLSA records
  std::string policy_domain;
  std::vector<std::string> mx_host;  // STS mx patterns
  uint64_t total_successful_session_count = 0;
  uint64_t total_failure_session_count = 0;
  std::vector<ReportFailureDetail> failure_details;

  bool operator==(const ReportPolicyEntry&) const = default;
};

struct TlsReportDocument {
  std::string organization_name;
  std::string start_datetime;  // RFC 3339, "2026-12-06T00:00:00Z"
  std::string end_datetime;
  std::string contact_info;  // "" when absent (or null, in received reports)
  std::string report_id;
  std::vector<ReportPolicyEntry> policies;

  bool operator==(const TlsReportDocument&) const = default;
};

}  // namespace tlsrelay
