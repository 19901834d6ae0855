// What the JSON API and the web view show of the TLS report store: the same
// queries and the same JSON for both. Blocking (store I/O): call on the
// thread pool (OffLoopWork), never on the loop.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "reporting/report_dispatch.h"
#include "reporting/report_store.h"

namespace tlsrelay {

// The period of a report listing from a query string's "days" (1-400);
// `fallback` when absent, nullopt when malformed or out of range.
std::optional<int> reportDays(std::string_view query, int fallback);
// "<YYYY-MM-DD>/<policy-domain>" (what follows /reports/ or /api/reports/):
// the day and the domain in lower case; nullopt for anything else.
struct ReportKey {
  std::string day, domain;
};
std::optional<ReportKey> reportKey(std::string_view rest);

// {"from", "to", "reports": daySummariesJson} for the `days` days up to today.
Result<nlohmann::json> sentReportsView(ReportStore& store, int days, int64_t now);
// The RFC 8460 document our counts make for (day, policy domain); nullopt when
// no session was counted for it.
Result<std::optional<std::string>> sentReportText(ReportStore& store, const ReportSender& sender,
                                                  const std::string& day, const std::string& domain);
// {"received": receivedSummariesJson}.
Result<nlohmann::json> receivedReportsView(ReportStore& store);
// A received report's JSON text, decompressed when it came gzipped; nullopt
// when there is no such report.
Result<std::optional<std::string>> receivedReportText(ReportStore& store, const std::string& organization,
                                                      const std::string& report_id);

}  // namespace tlsrelay
