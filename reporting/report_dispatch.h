// Sending one daily report: claim it in the store (exactly one node of a
// fleet sends each), find where the policy domain wants reports (its
// _smtp._tls TXT record), build the report from the stored counts, deliver it
// to every rua (mail through our own spool, or an HTTPS POST), and record the
// outcome. Every side effect is a parameter, so the rules are tested without
// a network and the daemon and `tlsrelay report send` share them. BLOCKING:
// run off the event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "dnssec/dns_answer.h"
#include "reporting/https_report_poster.h"
#include "reporting/report_store.h"
#include "reporting/tls_report_document.h"

namespace tlsrelay {

struct ReportSender {
  std::string organization_name;  // organization-name
  std::string submitter;          // our domain: TLS-Report-Submitter, the filename, contact-info's domain
  std::string contact_info;       // "" = "postmaster@" + submitter
  std::string from;               // the report mail's From and envelope sender
  std::string node;               // this relay's name in the store's claims
};

struct ReportMailToSend {
  std::string from;
  std::vector<std::string> to;
  std::string data;  // CRLF, not dot-stuffed
};

struct ReportDispatchDeps {
  ReportStore* store = nullptr;
  std::function<dns::TxtAnswer(const std::string& name)> lookup_txt;
  // Returns once the message is durable in the spool (its queue id), or why not.
  std::function<Result<std::string>(const ReportMailToSend& mail)> submit_mail;
  std::function<PostOutcome(const std::string& url, std::string_view gzipped)> post_https;
  std::function<int64_t()> clock;
};

struct ReportDispatchSettings {
  int64_t lease_seconds = 900;    // longer than any send; see ReportStore::claimReport
  int64_t retry_interval = 3600;  // after a temporary failure
};

enum class DispatchResult { Sent, NoRua, Failed, NotOurs, Empty };
const char* toString(DispatchResult r);

struct DispatchOutcome {
  DispatchResult result = DispatchResult::Failed;
  std::string report_id;
  std::vector<std::string> reached;  // rua URIs that took the report
  std::string detail;                // what failed, for the log
};

// The report `sender` makes of one day's counts for a policy domain: what
// dispatchReport sends and `tlsrelay report show` prints.
TlsReportDocument dailyReport(const ReportSender& sender, const std::string& day,
                              const std::string& policy_domain, const std::vector<SessionCount>& counts);

DispatchOutcome dispatchReport(const ReportDispatchDeps& deps, const ReportSender& sender,
                               const ReportDispatchSettings& settings, const std::string& day,
                               const std::string& policy_domain);

}  // namespace tlsrelay
