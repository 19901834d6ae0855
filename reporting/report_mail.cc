// RFC 8460 §5.3 report mail; see report_mail.h. The MIME structure is
// GMime's (message/mime.h); here are the fields and the names. Domains and
// mailboxes are checked, not repaired: a report to the wrong place or from a
// submitter that does not match the JSON is worse than no report.
#include "reporting/report_mail.h"

#include <algorithm>
#include <iterator>

#include "common/ascii.h"
#include "common/gzip.h"
#include "common/stable_hash.h"
#include "common/time_format.h"
#include "message/mime.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxId = 200;  // keeps Subject and Message-ID lines far below RFC 5322's 998

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Any text as dot-atom-text (RFC 5322 §3.2.3), for the left side of a
// msg-id: other characters (the ':' of a report-id's time) become '-'.
std::string dotAtom(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxId)) {
    if (isAtext(c) || (c == '.' && !out.empty() && out.back() != '.')) {
      out.push_back(c);
    } else {
      out.push_back('-');
    }
  }
  if (!out.empty() && out.back() == '.') out.back() = '-';
  return out.empty() ? "report" : out;
}

// A short alphanumeric name for a report-id that is stable across resends.
std::string derivedUniqueId(std::string_view report_id) {
  return hex64(fnv1a64(report_id));
}

}  // namespace

std::string tlsReportFilename(std::string_view submitter, std::string_view policy_domain, int64_t begin,
                              int64_t end, std::string_view unique_id) {
  // RFC 8460 §5.1: unique-id = 1*(ALPHA / DIGIT).
  std::string id;
  std::copy_if(unique_id.begin(), unique_id.end(), std::back_inserter(id), isAlnum);
  std::string name = std::string(submitter) + "!" + std::string(policy_domain) + "!" + std::to_string(begin) +
                     "!" + std::to_string(end);
  if (!id.empty()) name += "!" + id.substr(0, 64);
  return name + ".json.gz";  // RFC 8460 §5.1: "json.gz" for gzip-compressed JSON
}

Result<TlsReportMail> buildTlsReportMail(const TlsReportMailInput& in) {
  const std::string submitter = normalizeDomain(in.submitter);
  const std::string policy_domain = normalizeDomain(in.policy_domain);
  const std::string id_domain =
      in.message_id_domain.empty() ? submitter : normalizeDomain(in.message_id_domain);
  if (!isLdhDomain(submitter)) return makeError("submitter is not an A-label domain name");
  if (!isLdhDomain(policy_domain)) return makeError("policy domain is not an A-label domain name");
  if (!isLdhDomain(id_domain)) return makeError("Message-ID domain is not an A-label domain name");
  if (!isPlainMailbox(in.from)) return makeError("From address is not a plain ASCII mailbox");
  if (in.to.empty()) return makeError("no recipient");
  std::string to;
  for (const auto& rcpt : in.to) {
    if (!isPlainMailbox(rcpt))
      return makeError("recipient is not a plain ASCII mailbox: " + printableAscii(rcpt, kMaxId));
    to += (to.empty() ? "" : ", ") + rcpt;
  }
  if (!looksGzipped(in.gzipped_report)) return makeError("the report is not gzip data");
  if (in.begin < 0 || in.end < in.begin) return makeError("report ends before it begins");

  TlsReportMail out;
  out.filename = tlsReportFilename(submitter, policy_domain, in.begin, in.end,
                                   in.unique_id.empty() ? derivedUniqueId(in.report_id) : in.unique_id);
  const std::string token = in.message_id_token.empty() ? "" : "." + dotAtom(in.message_id_token);
  out.message_id = "<tlsrpt." + dotAtom(in.report_id) + token + "@" + id_domain + ">";
  // RFC 8460 §5.3 Subject ABNF: Report-ID is "<" id-left "@" id-right ">".
  const std::string report_id = "<" + dotAtom(in.report_id) + "@" + submitter + ">";

  MimeMultipartMessage message;
  message.fields = {
      {"From", in.from},
      {"To", to},
      {"Date", rfc5322Date(in.now)},
      {"Message-ID", out.message_id},
      // RFC 8460 §5.3: the message MUST have a Subject; this is the form it suggests.
      {"Subject",
       "Report Domain: " + policy_domain + " Submitter: " + submitter + " Report-ID: " + report_id},
      // RFC 8460 §5.3: these two fields MUST be included.
      {"TLS-Report-Domain", policy_domain},
      {"TLS-Report-Submitter", submitter},
      // RFC 8460 §3: reports MUST be delivered despite TLS failures; RFC 8689 §5
      // asks every relay on the way to ignore TLS policy for this message.
      {"TLS-Required", "No"},
      {"Auto-Submitted", "auto-generated"},  // RFC 3834 §5: no auto-replies to a report
  };
  // RFC 8460 §5.3: multipart/report, report-type "tlsrpt"; human part first.
  message.subtype = "report";
  message.params = {{"report-type", "tlsrpt"}};
  message.prologue = "This is a multipart message in MIME format.";

  MimeLeafPart human;
  human.type = "text";
  human.subtype = "plain";
  human.params = {{"charset", "us-ascii"}};
  human.content = "This is an aggregate TLS report (RFC 8460) from " + submitter + " about " + policy_domain +
                  ".\r\n\r\nPeriod: " + iso8601Utc(in.begin) + " to " + iso8601Utc(in.end) +
                  "\r\nReport-ID: " + printableAscii(in.report_id, kMaxId) + "\r\n";

  MimeLeafPart report;
  report.type = "application";
  report.subtype = "tlsrpt+gzip";  // RFC 8460 §5.3: compressed reports
  report.filename = out.filename;
  report.content = std::string(in.gzipped_report);
  report.encoding = MimeEncoding::Base64;

  message.parts.push_back(std::move(human));
  message.parts.push_back(std::move(report));
  out.data = writeMimeMessage(message);
  return out;
}

}  // namespace tlsrelay
