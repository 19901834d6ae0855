// See report_summary_json.h.
#include "reporting/report_summary_json.h"

namespace tlsrelay {

nlohmann::json daySummaryJson(const DaySummary& s) {
  nlohmann::json j = {{"day", s.day},
                      {"policy-domain", s.policy_domain},
                      {"successful-sessions", s.successful},
                      {"failed-sessions", s.failed},
                      {"report", s.report ? toString(s.report->state) : "pending"}};
  if (s.report && !s.report->node.empty()) j["node"] = s.report->node;
  if (s.report && !s.report->report_id.empty()) j["report-id"] = s.report->report_id;
  if (s.report && !s.report->last_error.empty()) j["last-error"] = s.report->last_error;
  return j;
}

nlohmann::json daySummariesJson(const std::vector<DaySummary>& summaries) {
  nlohmann::json out = nlohmann::json::array();
  for (const DaySummary& s : summaries) out.push_back(daySummaryJson(s));
  return out;
}

nlohmann::json receivedSummaryJson(const ReceivedSummary& s) {
  return {{"day", s.day},
          {"organization-name", s.organization_name},
          {"policy-domain", s.policy_domain},
          {"successful-sessions", s.successful},
          {"failed-sessions", s.failed},
          {"reports", s.reports}};
}

nlohmann::json receivedSummariesJson(const std::vector<ReceivedSummary>& summaries) {
  nlohmann::json out = nlohmann::json::array();
  for (const ReceivedSummary& s : summaries) out.push_back(receivedSummaryJson(s));
  return out;
}

}  // namespace tlsrelay
