// The mail that carries one TLS report to a mailto: rua destination (RFC
// 8460 §5.3): multipart/report; report-type="tlsrpt" with a line for people
// and the gzipped JSON as application/tlsrpt+gzip. Pure: values in, message
// bytes out; the caller DKIM-signs it (RFC 8460 §3 MUST; sign
// TLS-Report-Domain and TLS-Report-Submitter too, §5.3 SHOULD) and spools it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

struct TlsReportMailInput {
  // Our domain, A-labels: TLS-Report-Submitter, the filename's sender, and
  // the domain of the report's contact-info (RFC 8460 §5.3: all three MUST match).
  std::string submitter;
  std::string policy_domain;  // A-labels (RFC 8460 §5.1)
  std::string report_id;      // the JSON report-id, e.g. reportId() of report_builder.h
  int64_t begin = 0;          // unix seconds: the report's start-datetime
  int64_t end = 0;            // unix seconds: its end-datetime (23:59:59 for a UTC day)
  std::string_view gzipped_report;
  std::string from;               // our report mailbox, "tlsrpt@mail.example.com"
  std::vector<std::string> to;    // mailboxes from the mailto: rua URIs
  std::string message_id_domain;  // "" means the submitter
  // Makes the Message-ID unique per message (random, or the attempt); a
  // resend keeps the report-id, so the receiver can still drop duplicates.
  std::string message_id_token;
  // The filename's unique-id, 1*(ALPHA / DIGIT); "" derives one from report_id.
  std::string unique_id;
  int64_t now = 0;  // unix seconds, for Date:
};

struct TlsReportMail {
  std::string data;        // the whole message, CRLF line ends, not dot-stuffed
  std::string message_id;  // "<...@...>", as in the Message-ID field
  std::string filename;    // the attachment's
};

// An Error when an input would make a wrong message: a domain that is not
// LDH A-labels, a mailbox that is not plain ASCII addr-spec, no recipient,
// a report that is not gzip, or an end before the begin. Free text
// (report-id) is cleaned instead, so no input can add a header field.
Result<TlsReportMail> buildTlsReportMail(const TlsReportMailInput& in);

// RFC 8460 §5.1: sender "!" policy-domain "!" begin-timestamp "!"
// end-timestamp ["!" unique-id] ".json.gz", timestamps in unix seconds.
// Non-alphanumerics are dropped from unique_id; "" leaves the part out.
std::string tlsReportFilename(std::string_view submitter, std::string_view policy_domain, int64_t begin,
                              int64_t end, std::string_view unique_id);

}  // namespace tlsrelay
