// What every ReportStore implementation checks and how it lays out rows, in
// one place, so the SQLite store and the PostgreSQL store of a fleet read and
// refuse exactly the same things. Pure: no database here.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "reporting/report_store.h"
#include "reporting/session_count.h"

namespace tlsrelay {

// Counts are stored as signed 64-bit integers.
inline constexpr uint64_t kMaxStoredCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// Lists are stored as "<length>:<bytes>," per item: no byte needs escaping
// (policy strings and failure texts come from remote peers and may hold
// anything, even invalid UTF-8, which JSON could not carry), and distinct
// lists never share an encoding: [] is "", [""] is "0:,", ["a","b"] is
// "1:a,1:b,", ["a,1:b"] is "5:a,1:b,".
std::string encodeList(const std::vector<std::string>& items);
std::optional<std::vector<std::string>> decodeList(std::string_view text);

// A key's stored columns, in schema order: day, policy domain, policy type,
// policy strings and mx hosts (encoded lists), result type, sending IP,
// receiving MX host name, receiving IP, failure reason.
std::vector<std::string> sessionKeyColumns(const SessionCountKey& key);

// A batch summed per distinct key (keyed by the encoded columns, so in one
// order for every node: upserts in that order cannot deadlock each other);
// rows with zero sessions are dropped. An error for a malformed day or a sum
// past kMaxStoredCount; the store prefixes its name.
Result<std::map<std::string, SessionCount>> sumSessionCounts(const std::vector<SessionCount>& batch);

Status checkClaimArguments(const std::string& day, const std::string& node, int64_t lease_seconds);
Status checkReceivedReport(const StoredReceivedReport& report);

// Why finishReport was refused, naming who holds the report (`current` is
// the report's state as read after the refusal).
std::string notClaimedReason(const std::string& day, const std::string& domain, const std::string& node,
                             const Result<std::optional<ReportState>>& current);

// Rows as both stores select them. `text(i)` and `integer(i)` read column i
// of the row at hand.
//   session count: policy type, policy strings, mx hosts, result type,
//     sending IP, receiving MX host name, receiving IP, failure reason, sessions
//   report state (from column `first`): state, node, claimed_until,
//     attempts, next_attempt_at, report_id, destinations, last_error, sent_at
template <class Text, class Integer>
Result<SessionCount> sessionCountFromRow(const Text& text, const Integer& integer, const std::string& day,
                                         const std::string& domain) {
  auto policy_type = parseTlsPolicyType(text(0));
  auto strings = decodeList(text(1));
  auto mx_host = decodeList(text(2));
  auto result_type = parseTlsResultType(text(3));
  const int64_t sessions = integer(8);
  if (!policy_type || !strings || !mx_host || !result_type || sessions < 0)
    return makeError("corrupt session count for " + domain + " on " + day);
  return SessionCount{SessionCountKey{day, domain, *policy_type, std::move(*strings), std::move(*mx_host),
                                      *result_type, text(4), text(5), text(6), text(7)},
                      static_cast<uint64_t>(sessions)};
}

template <class Text, class Integer>
Result<ReportState> reportStateFromRow(const Text& text, const Integer& integer, int first) {
  auto state = parseReportSendState(text(first));
  auto destinations = decodeList(text(first + 6));
  if (!state || !destinations) return makeError("corrupt report state");
  return ReportState{
      *state,          text(first + 1),          integer(first + 2), integer(first + 3), integer(first + 4),
      text(first + 5), std::move(*destinations), text(first + 7),    integer(first + 8)};
}

}  // namespace tlsrelay
