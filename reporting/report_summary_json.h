// The JSON shapes of the report store's summaries, shared by `tlsrelay report
// list|received --json` and the admin endpoint's /api/reports, so scripts see
// one format whichever they ask.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "reporting/report_store.h"

namespace tlsrelay {

nlohmann::json daySummaryJson(const DaySummary& summary);
nlohmann::json daySummariesJson(const std::vector<DaySummary>& summaries);
nlohmann::json receivedSummaryJson(const ReceivedSummary& summary);
nlohmann::json receivedSummariesJson(const std::vector<ReceivedSummary>& summaries);

}  // namespace tlsrelay
