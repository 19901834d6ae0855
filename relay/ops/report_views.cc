// See report_views.h.
#include "relay/ops/report_views.h"

#include <charconv>

#include "common/ascii.h"
#include "common/gzip.h"
#include "common/time_format.h"
#include "relay/admin/url_decoding.h"
#include "reporting/report_builder.h"
#include "reporting/report_reader.h"
#include "reporting/report_summary_json.h"

namespace tlsrelay {

std::optional<int> reportDays(std::string_view query, int fallback) {
  auto text = queryValue(query, "days");
  if (!text) return fallback;
  int days = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), days);
  if (ec != std::errc() || end != text->data() + text->size() || days < 1 || days > 400) return std::nullopt;
  return days;
}

std::optional<ReportKey> reportKey(std::string_view rest) {
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ReportKey key{std::string(rest.substr(0, slash)), lowerAscii(rest.substr(slash + 1))};
  if (!parseUtcDay(key.day) || key.domain.empty() || key.domain.find('/') != std::string::npos)
    return std::nullopt;
  return key;
}

Result<nlohmann::json> sentReportsView(ReportStore& store, int days, int64_t now) {
  const std::string from = utcDay(now - int64_t(days - 1) * 86400), to = utcDay(now);
  auto rows = store.summaries(from, to);
  if (!rows.ok()) return rows.error();
  return nlohmann::json{{"from", from}, {"to", to}, {"reports", daySummariesJson(*rows)}};
}

Result<std::optional<std::string>> sentReportText(ReportStore& store, const ReportSender& sender,
                                                  const std::string& day, const std::string& domain) {
  auto counts = store.sessionCounts(day, domain);
  if (!counts.ok()) return counts.error();
  if (counts->empty()) return std::optional<std::string>();
  return std::optional<std::string>(reportJson(dailyReport(sender, day, domain, *counts)));
}

Result<nlohmann::json> receivedReportsView(ReportStore& store) {
  auto rows = store.receivedSummaries();
  if (!rows.ok()) return rows.error();
  return nlohmann::json{{"received", receivedSummariesJson(*rows)}};
}

Result<std::optional<std::string>> receivedReportText(ReportStore& store, const std::string& organization,
                                                      const std::string& report_id) {
  auto raw = store.receivedReportRaw(organization, report_id);
  if (!raw.ok()) return raw.error();
  if (!raw->has_value() || !looksGzipped(**raw)) return raw;
  auto plain = gzipDecompress(**raw, kReportMaxBytes);
  if (!plain.ok()) return makeError("the stored report does not decompress: " + plain.error().message);
  return std::optional<std::string>(std::move(*plain));
}

}  // namespace tlsrelay
