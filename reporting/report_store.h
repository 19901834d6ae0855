// Where TLS reporting keeps its state: the session counts reports are built
// from, which node sent (or is sending) each daily report, and the reports
// others send us. An interface, because one relay keeps it in a SQLite file
// (sqlite_report_store.h) and a fleet shares one PostgreSQL database; so
// everything here that decides "who sends" is atomic in the store itself and
// takes the clock as a parameter, never from the process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "reporting/session_count.h"
#include "reporting/tls_report_document.h"

namespace tlsrelay {

// Where one (day, policy domain) report stands. No row at all means nobody
// has tried yet.
enum class ReportSendState : uint8_t {
  Claimed,  // a node holds the lease and is building/sending it
  Sent,     // delivered to at least one rua destination; final
  NoRua,    // the domain publishes no _smtp._tls record: nothing to send; final
  Failed,   // the last attempt failed; claimable again from next_attempt_at
};
// Inline because every store implementation writes these names.
inline const char* toString(ReportSendState s) {
  switch (s) {
    case ReportSendState::Claimed:
      return "claimed";
    case ReportSendState::Sent:
      return "sent";
    case ReportSendState::NoRua:
      return "no-rua";
    case ReportSendState::Failed:
      return "failed";
  }
  return "failed";
}
inline std::optional<ReportSendState> parseReportSendState(std::string_view text) {
  for (auto s :
       {ReportSendState::Claimed, ReportSendState::Sent, ReportSendState::NoRua, ReportSendState::Failed})
    if (text == toString(s)) return s;
  return std::nullopt;
}

struct ReportState {
  ReportSendState state = ReportSendState::Claimed;
  std::string node;           // the node holding the claim, or the last one that did
  int64_t claimed_until = 0;  // unix seconds; the lease, meaningful while Claimed
  int64_t attempts = 0;       // failed attempts so far
  int64_t next_attempt_at = 0;
  std::string report_id;                  // Sent
  std::vector<std::string> destinations;  // Sent: the rua URIs it reached
  std::string last_error;                 // the last failure; kept after a later success
  int64_t sent_at = 0;                    // Sent

  bool operator==(const ReportState&) const = default;
};

// What finishReport records. Build one with the named constructors so a Sent
// outcome never carries a retry time and a Failed one always does.
struct ReportOutcome {
  ReportSendState state = ReportSendState::Failed;  // Sent, NoRua or Failed
  std::string report_id;
  std::vector<std::string> destinations;
  int64_t sent_at = 0;
  std::string error;
  int64_t next_attempt_at = 0;

  static ReportOutcome sent(std::string report_id, std::vector<std::string> destinations, int64_t now) {
    return {ReportSendState::Sent, std::move(report_id), std::move(destinations), now, {}, 0};
  }
  static ReportOutcome noRua() { return {ReportSendState::NoRua, {}, {}, 0, {}, 0}; }
  static ReportOutcome failed(std::string error, int64_t next_attempt_at) {
    return {ReportSendState::Failed, {}, {}, 0, std::move(error), next_attempt_at};
  }
};

// One line of `report list`.
struct DaySummary {
  std::string day;
  std::string policy_domain;
  uint64_t successful = 0;            // sessions with result type success
  uint64_t failed = 0;                // every other result type
  std::optional<ReportState> report;  // nullopt: not attempted yet

  bool operator==(const DaySummary&) const = default;
};

// A report another organization sent us, as ingest parsed it. The store keeps
// the per-policy totals for summaries and the raw bytes for showing it as
// received; organization, report id and datetimes come from `document`.
struct StoredReceivedReport {
  int64_t received_at = 0;  // unix seconds
  std::string day;          // UTC "YYYY-MM-DD" of document.start_datetime (the caller parses it)
  TlsReportDocument document;
  std::vector<std::string> deviations;  // where it strays from RFC 8460, as ingest found
  std::string raw;                      // the bytes as received (may be gzip)
};

enum class ReceivedAdd : uint8_t { Stored, Duplicate };

struct ReceivedSummary {
  std::string organization_name;
  std::string policy_domain;
  std::string day;
  uint64_t successful = 0;
  uint64_t failed = 0;
  uint64_t reports = 0;  // distinct reports contributing

  bool operator==(const ReceivedSummary&) const = default;
};

// Days are UTC "YYYY-MM-DD" and compare as strings. Every method may be
// called from any thread; failures are errors naming the store.
class ReportStore {
 public:
  virtual ~ReportStore() = default;

  // Adds each row's sessions to the stored count for its key; the whole batch
  // is one transaction (all or nothing). Rows with zero sessions are skipped.
  virtual Status addSessionCounts(const std::vector<SessionCount>& batch) = 0;
  // Policy domains with any counts on `day`, sorted.
  virtual Result<std::vector<std::string>> policyDomains(const std::string& day) = 0;
  // Every count of one report, in a stable order.
  virtual Result<std::vector<SessionCount>> sessionCounts(const std::string& day,
                                                          const std::string& policy_domain) = 0;
  // Per (day, domain) with counts in [from_day, to_day]: totals and report state,
  // sorted by day then domain.
  virtual Result<std::vector<DaySummary>> summaries(const std::string& from_day,
                                                    const std::string& to_day) = 0;

  // Exactly one node sends each (day, domain) report. claimReport() returns
  // true when `node` now holds it until now + lease_seconds: the report has no
  // row yet, or its lease expired (the holder died mid-send), or it Failed and
  // next_attempt_at <= now, or `node` already holds it (a renewal). It returns
  // false for Sent, NoRua and a live lease of another node. The lease must
  // outlast a send plus the clock skew between nodes: a holder that overruns
  // it may be overtaken and the report sent twice.
  virtual Result<bool> claimReport(const std::string& day, const std::string& domain, const std::string& node,
                                   int64_t now, int64_t lease_seconds) = 0;
  // Records the outcome; an error unless `node` still holds the claim (an
  // expired lease nobody took over still counts as held).
  virtual Status finishReport(const std::string& day, const std::string& domain, const std::string& node,
                              const ReportOutcome& outcome) = 0;
  virtual Result<std::optional<ReportState>> reportState(const std::string& day,
                                                         const std::string& domain) = 0;

  // Stores a received report once: a second report with the same
  // organization and report-id is a Duplicate and changes nothing.
  virtual Result<ReceivedAdd> addReceivedReport(const StoredReceivedReport& report) = 0;
  // The raw bytes of one received report; nullopt when there is none.
  virtual Result<std::optional<std::string>> receivedReportRaw(const std::string& organization_name,
                                                               const std::string& report_id) = 0;
  // Per (organization, policy domain, day), sorted by day, organization, domain.
  virtual Result<std::vector<ReceivedSummary>> receivedSummaries() = 0;
  // The report-ids behind one of those summaries, sorted.
  virtual Result<std::vector<std::string>> receivedReportIds(const std::string& day,
                                                             const std::string& organization_name,
                                                             const std::string& policy_domain) = 0;
};

}  // namespace tlsrelay
