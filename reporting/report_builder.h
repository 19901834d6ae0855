// Building the RFC 8460 reports we send: one UTC day's session counts for one
// policy domain become a TlsReportDocument, and that document becomes the
// §4.4 JSON text. Pure code with no I/O, so the store, the mailer and the HTTPS
// poster all share one definition of "the report", and the same counts always
// give byte-identical JSON (a resend is the same report, not a new one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reporting/session_count.h"
#include "reporting/tls_report_document.h"

namespace tlsrelay {

struct ReportMeta {
  std::string organization_name;
  std::string contact_info;  // RFC 5322 addr-spec
  std::string day;           // the UTC day reported, "YYYY-MM-DD"
  std::string report_id;     // see reportId()
};

// One policy entry per distinct (policy-domain, policy-type, policy-string,
// mx-host); one failure-details entry per distinct (result-type,
// sending-mta-ip, receiving-mx-hostname, receiving-ip, failure-reason-code).
// Success rows add to total-successful-session-count, failure rows to
// total-failure-session-count and to their failure-details entry. Entries are
// sorted, so the order of `counts` does not matter. Rows whose key.day is set
// and differs from meta.day belong to another day's report and are not
// counted. Counts saturate at 2^53-1 (the largest integer an I-JSON reader is
// sure to hold). No counts give a document without policies, which is not a
// report to send.
TlsReportDocument buildTlsReport(const ReportMeta& meta, const std::vector<SessionCount>& counts);

// The RFC 8460 §4.4 JSON text, compact, members in the order of the RFC's
// figure and Appendix B example. Empty optional members are left out; see
// report_builder.cc for which ones the RFC lets us omit. Invalid UTF-8 in
// free text (failure reasons quote remote replies) is replaced, never thrown.
std::string reportJson(const TlsReportDocument& doc);

// A report-id that is a function of its inputs only:
//   "2026-12-06T00:00:00Z_example.com_0123456789abcdef"
// (the day's start, the policy domain, 16 hex digits of FNV-1a 64 over all
// three inputs). A report rebuilt after a crash or resent after a failed
// delivery therefore carries the same report-id, and the receiver can tell it
// is a duplicate (RFC 8460 §4.4: "a unique identifier for the report", any
// scheme). The hash is not cryptographic: the id is not a secret and needs
// only to differ between submitters, days and domains. Characters outside
// [A-Za-z0-9.-] in the domain are written as '_' so the id stays a safe
// token for filenames and Message-IDs; the hash still covers the raw bytes.
std::string reportId(std::string_view day, std::string_view policy_domain, std::string_view submitter);

}  // namespace tlsrelay
