#include "reporting/report_store_codec.h"

#include "common/time_format.h"

namespace tlsrelay {

std::string encodeList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += std::to_string(item.size());
    out += ':';
    out += item;
    out += ',';
  }
  return out;
}

std::optional<std::vector<std::string>> decodeList(std::string_view text) {
  std::vector<std::string> items;
  while (!text.empty()) {
    size_t colon = text.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon > 10) return std::nullopt;
    size_t length = 0;
    for (char c : text.substr(0, colon)) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + static_cast<size_t>(c - '0');
    }
    text.remove_prefix(colon + 1);
    if (text.size() < length + 1 || text[length] != ',') return std::nullopt;
    items.emplace_back(text.substr(0, length));
    text.remove_prefix(length + 1);
  }
  return items;
}

std::vector<std::string> sessionKeyColumns(const SessionCountKey& k) {
  return {k.day,
          k.policy_domain,
          toString(k.policy_type),
          encodeList(k.policy_strings),
          encodeList(k.mx_host),
          toString(k.result_type),
          k.sending_ip,
          k.receiving_mx_hostname,
          k.receiving_ip,
          k.failure_reason_code};
}

Result<std::map<std::string, SessionCount>> sumSessionCounts(const std::vector<SessionCount>& batch) {
  std::map<std::string, SessionCount> rows;
  for (const auto& row : batch) {
    if (!parseUtcDay(row.key.day))
      return makeError("session count with malformed day \"" + row.key.day + "\"");
    if (row.sessions > kMaxStoredCount) return makeError("session count too large");
    if (row.sessions == 0) continue;
    auto [it, added] = rows.try_emplace(encodeList(sessionKeyColumns(row.key)), row);
    if (!added &&
        (it->second.sessions += row.sessions) > kMaxStoredCount)  // two values <= INT64_MAX: no wrap
      return makeError("session count too large");
  }
  return rows;
}

Status checkClaimArguments(const std::string& day, const std::string& node, int64_t lease_seconds) {
  if (!parseUtcDay(day)) return makeError("claim with malformed day \"" + day + "\"");
  if (node.empty() || lease_seconds <= 0) return makeError("claim needs a node name and a positive lease");
  return okStatus();
}

Status checkReceivedReport(const StoredReceivedReport& report) {
  const TlsReportDocument& doc = report.document;
  if (doc.organization_name.empty() || doc.report_id.empty())
    return makeError("received report without organization-name or report-id");
  if (!parseUtcDay(report.day)) return makeError("received report with malformed day \"" + report.day + "\"");
  for (const auto& p : doc.policies)
    if (p.total_successful_session_count > kMaxStoredCount || p.total_failure_session_count > kMaxStoredCount)
      return makeError("received report " + doc.report_id + " has a session count too large to store");
  return okStatus();
}

std::string notClaimedReason(const std::string& day, const std::string& domain, const std::string& node,
                             const Result<std::optional<ReportState>>& current) {
  // Said in full, so a log line explains the double send that did not happen.
  std::string why = "report for " + domain + " on " + day + " is not claimed by " + node;
  if (current && *current)
    why += std::string(" (") + toString((*current)->state) + ", node " + (*current)->node + ")";
  else if (current)
    why += " (never claimed)";
  return why;
}

}  // namespace tlsrelay
