// Reading the RFC 8460 reports other organisations send us about mail to our
// domains: plain JSON, gzip JSON (§5.1), or a whole report mail (§5.3). The
// input is untrusted and reports in the wild bend the RFC, so the reader
// accepts what can be understood, and says in `deviations` what it had to
// forgive; it rejects only what cannot be read as a report at all.
//
// The minimum (anything less is an error): a JSON object at the top, a
// date-range with start-datetime and end-datetime strings, a policies array
// whose entries are not all unreadable, and at least one of organization-name
// and report-id (a report that names neither its sender nor itself cannot be
// attributed or deduplicated). A missing organization-name, report-id or
// contact-info alone is a deviation.
//
// A policy or failure-details entry that cannot be understood (a negative or
// non-numeric count, no policy object, not an object) is dropped, and the
// drop is a deviation; the rest of the report still reads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "reporting/tls_report_document.h"

namespace tlsrelay {

// Bounds for untrusted input: a few KiB of gzip can expand to gigabytes, and
// nesting is checked by a scan before nlohmann::json (whose DOM is built and
// torn down recursively) ever sees the text.
inline constexpr size_t kReportMaxBytes = 64u << 20;  // input, and decompressed size
inline constexpr size_t kReportMaxEntries = 100000;   // policies plus failure-details
inline constexpr size_t kReportMaxNesting = 64;       // JSON bracket depth
inline constexpr size_t kReportMaxDeviations = 1000;  // then one "... more" line

struct ReceivedReport {
  TlsReportDocument document;
  // What was odd but understood, one finding per line, human-readable and
  // safe to log: "policy 2: policy-string is one JSON-encoded string, not an array".
  std::vector<std::string> deviations;
  std::string source_kind;  // "json", "gzip" or "mail"
  // From a mail (RFC 8460 §5.3): the TLS-Report-Domain and TLS-Report-Submitter
  // fields and the From addr-spec; empty when absent or not a mail.
  std::string report_domain;
  std::string submitter;
  std::string from_address;
};

// `bytes`: plain JSON, gzip JSON, or an RFC 5322 message carrying the report
// as an application/tlsrpt+gzip or application/tlsrpt+json part (or, as a
// deviation, a *.json / *.gz file or an application/json or gzip part; each
// candidate is tried until one reads). The error says why no report
// could be read: "not JSON: ...", "no report attachment in the mail",
// "gzip data is truncated or corrupt", "no policies array".
Result<ReceivedReport> readTlsReport(std::string_view bytes);

}  // namespace tlsrelay
