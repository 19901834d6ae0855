#include "reporting/report_dispatch.h"

#include "common/gzip.h"
#include "common/time_format.h"
#include "reporting/report_builder.h"
#include "reporting/report_mail.h"
#include "reporting/tlsrpt_record.h"

namespace tlsrelay {
namespace {

DispatchOutcome finish(const ReportDispatchDeps& deps, const ReportSender& sender, const std::string& day,
                       const std::string& domain, const ReportOutcome& outcome, DispatchOutcome result) {
  Status st = deps.store->finishReport(day, domain, sender.node, outcome);
  if (!st.ok()) {
    // Another node took the report over (our lease ran out): its record wins.
    result.detail += (result.detail.empty() ? "" : "; ") + st.error().message;
  }
  return result;
}

}  // namespace

const char* toString(DispatchResult r) {
  switch (r) {
    case DispatchResult::Sent:
      return "sent";
    case DispatchResult::NoRua:
      return "no-rua";
    case DispatchResult::Failed:
      return "failed";
    case DispatchResult::NotOurs:
      return "not-ours";
    case DispatchResult::Empty:
      return "empty";
  }
  return "failed";
}

TlsReportDocument dailyReport(const ReportSender& sender, const std::string& day, const std::string& domain,
                              const std::vector<SessionCount>& counts) {
  // RFC 8460 §5.3: contact-info's domain is the submitter's.
  const std::string contact =
      sender.contact_info.empty() ? "postmaster@" + sender.submitter : sender.contact_info;
  return buildTlsReport({sender.organization_name, contact, day, reportId(day, domain, sender.submitter)},
                        counts);
}

DispatchOutcome dispatchReport(const ReportDispatchDeps& deps, const ReportSender& sender,
                               const ReportDispatchSettings& settings, const std::string& day,
                               const std::string& domain) {
  DispatchOutcome out;
  const std::optional<int64_t> start = parseUtcDay(day);
  if (!start) {
    out.detail = "not a day: " + day;
    return out;
  }
  const int64_t begin = *start;
  const int64_t now = deps.clock();
  auto claimed = deps.store->claimReport(day, domain, sender.node, now, settings.lease_seconds);
  if (!claimed.ok()) {
    out.detail = claimed.error().message;
    return out;
  }
  if (!*claimed) {
    out.result = DispatchResult::NotOurs;  // sent, no rua, or another node holds it
    return out;
  }
  auto retryLater = [&](std::string why) {
    out.result = DispatchResult::Failed;
    out.detail = why;
    return finish(deps, sender, day, domain,
                  ReportOutcome::failed(std::move(why), now + settings.retry_interval), out);
  };

  // RFC 8460 §3: the policy domain says where reports go; the resolver
  // follows CNAMEs. A lookup that failed is not an absent record.
  dns::TxtAnswer txt = deps.lookup_txt(tlsRptRecordName(domain));
  if (txt.outcome == dns::Outcome::TempFail) return retryLater("TXT lookup failed: " + txt.why);
  if (txt.security == dns::Security::Bogus) return retryLater("TXT answer is DNSSEC-bogus: " + txt.why);
  std::optional<TlsRptRecord> record;
  if (txt.outcome == dns::Outcome::Found) {
    auto chosen = chooseTlsRptRecord(txt.records);
    if (chosen.ok())
      record = *chosen;
    else
      out.detail = chosen.error().message;
  }
  if (!record) {
    out.result = DispatchResult::NoRua;
    return finish(deps, sender, day, domain, ReportOutcome::noRua(), out);
  }

  auto counts = deps.store->sessionCounts(day, domain);
  if (!counts.ok()) return retryLater(counts.error().message);
  TlsReportDocument doc = dailyReport(sender, day, domain, *counts);
  out.report_id = doc.report_id;
  if (doc.policies.empty()) {
    out.result = DispatchResult::Empty;
    return finish(deps, sender, day, domain, ReportOutcome::noRua(), out);
  }
  const std::string gz = gzipCompress(reportJson(doc));

  bool any_retryable = false;
  std::vector<std::string> failures;
  std::vector<std::string> mail_to;
  for (const ReportDestination& d : record->rua) {
    if (d.kind == ReportDestination::Kind::Mailto) {
      mail_to.push_back(d.address);
      continue;
    }
    PostOutcome posted = deps.post_https(d.address, gz);
    if (posted.delivered) {
      out.reached.push_back(d.address);
    } else {
      any_retryable = any_retryable || posted.retry;
      failures.push_back(d.address + ": " + posted.detail);
    }
  }
  if (!mail_to.empty()) {
    // One message to every mailto: rua (RFC 8460 §5.3); the spool takes it
    // from here with its own retries, TLS policy and bounces.
    TlsReportMailInput in;
    in.submitter = sender.submitter;
    in.policy_domain = domain;
    in.report_id = out.report_id;
    in.begin = begin;
    in.end = begin + 86399;
    in.gzipped_report = gz;
    in.from = sender.from;
    in.to = mail_to;
    in.message_id_token = std::to_string(now);
    in.now = now;
    auto mail = buildTlsReportMail(in);
    Result<std::string> queued =
        mail.ok() ? deps.submit_mail({sender.from, mail_to, mail->data}) : Result<std::string>(mail.error());
    if (queued.ok()) {
      for (const std::string& to : mail_to) out.reached.push_back("mailto:" + to);
    } else {
      any_retryable = true;  // the spool refusing (disk full) passes
      failures.push_back("mailto: " + queued.error().message);
    }
  }
  for (const std::string& f : failures) out.detail += (out.detail.empty() ? "" : "; ") + f;
  if (!out.reached.empty()) {
    // Delivered somewhere: the report is sent. A second rua that failed is
    // not retried on its own, since that would resend to the ones that took it.
    out.result = DispatchResult::Sent;
    return finish(deps, sender, day, domain, ReportOutcome::sent(out.report_id, out.reached, now), out);
  }
  if (!any_retryable) {
    out.result = DispatchResult::Failed;
    // Every destination refused for good: try again only much later (a
    // fixed certificate or URL), never in a tight loop.
    return finish(deps, sender, day, domain,
                  ReportOutcome::failed(out.detail, now + 6 * settings.retry_interval), out);
  }
  return retryLater(out.detail);
}

}  // namespace tlsrelay
