// The SQLite report store; see sqlite_report_store.h.
#include "reporting/sqlite_report_store.h"

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>
#include <utility>

#include "common/time_format.h"
#include "reporting/report_store_codec.h"

namespace tlsrelay {
namespace {

// Waits for another connection's write transaction instead of failing at once;
// writes are short batches, so this is only ever reached when a disk stalls.
constexpr int kBusyTimeoutMs = 10000;

// Counts are keyed by every field a report groups by. WITHOUT ROWID: the rows
// live in the primary-key b-tree, so the key is stored once, and its
// (day, policy_domain) prefix is the index every report query uses. Enums are
// stored as their RFC 8460 names, so the file reads without this build.
constexpr const char* kSchema = R"sql(
CREATE TABLE session_counts (
  day TEXT NOT NULL, policy_domain TEXT NOT NULL, policy_type TEXT NOT NULL, policy_strings TEXT NOT NULL,
  mx_host TEXT NOT NULL, result_type TEXT NOT NULL, sending_ip TEXT NOT NULL,
  receiving_mx_hostname TEXT NOT NULL, receiving_ip TEXT NOT NULL, failure_reason_code TEXT NOT NULL,
  sessions INTEGER NOT NULL,
  PRIMARY KEY (day, policy_domain, policy_type, policy_strings, mx_host, result_type, sending_ip,
               receiving_mx_hostname, receiving_ip, failure_reason_code)
) WITHOUT ROWID;
CREATE TABLE reports (
  day TEXT NOT NULL, policy_domain TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('claimed', 'sent', 'no-rua', 'failed')),
  node TEXT NOT NULL, claimed_until INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,
  report_id TEXT NOT NULL DEFAULT '', destinations TEXT NOT NULL DEFAULT '',
  last_error TEXT NOT NULL DEFAULT '', sent_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, policy_domain)
) WITHOUT ROWID;
CREATE TABLE received_reports (
  id INTEGER PRIMARY KEY,
  organization_name TEXT NOT NULL, report_id TEXT NOT NULL, received_at INTEGER NOT NULL,
  start_datetime TEXT NOT NULL, end_datetime TEXT NOT NULL, day TEXT NOT NULL,
  contact_info TEXT NOT NULL, deviations TEXT NOT NULL, raw BLOB NOT NULL,
  UNIQUE (organization_name, report_id)
);
CREATE TABLE received_policies (
  report INTEGER NOT NULL REFERENCES received_reports (id) ON DELETE CASCADE,
  policy_domain TEXT NOT NULL, policy_type TEXT NOT NULL,
  successful INTEGER NOT NULL, failed INTEGER NOT NULL
);
CREATE INDEX received_policies_by_report ON received_policies (report);
)sql";

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// One use of a prepared statement: binds by position, steps, and resets on
// scope exit so the statement is ready for reuse and holds no read snapshot.
class Query {
 public:
  explicit Query(const StatementPtr& s) : s_(s.get()) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // SQLITE_TRANSIENT copies: callers bind temporaries (encoded lists).
  Query& text(int i, std::string_view v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text64(s_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
  }
  Query& blob(int i, std::string_view v) {
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_blob64(s_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT);
    return *this;
  }
  Query& integer(int i, int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return rc_ == SQLITE_OK ? sqlite3_step(s_) : rc_; }

  int64_t integerAt(int i) const { return sqlite3_column_int64(s_, i); }
  std::string textAt(int i) const {
    const void* p = sqlite3_column_blob(s_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }

 private:
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

struct DatabaseCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

// The statements, prepared once per connection. ?N are bound by position.
constexpr const char* kAddCount = R"sql(
INSERT INTO session_counts (day, policy_domain, policy_type, policy_strings, mx_host, result_type,
                            sending_ip, receiving_mx_hostname, receiving_ip, failure_reason_code, sessions)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT (day, policy_domain, policy_type, policy_strings, mx_host, result_type, sending_ip,
             receiving_mx_hostname, receiving_ip, failure_reason_code)
DO UPDATE SET sessions = sessions + excluded.sessions)sql";

constexpr const char* kCounts = R"sql(
SELECT policy_type, policy_strings, mx_host, result_type, sending_ip, receiving_mx_hostname, receiving_ip,
       failure_reason_code, sessions
FROM session_counts WHERE day = ?1 AND policy_domain = ?2
ORDER BY policy_type, policy_strings, mx_host, result_type, sending_ip, receiving_mx_hostname, receiving_ip,
         failure_reason_code)sql";

// ?3 is the name of the success result type; everything else counts as failed.
constexpr const char* kSummaries = R"sql(
SELECT t.day, t.policy_domain, t.successful, t.failed, r.state IS NOT NULL, r.state, r.node, r.claimed_until,
       r.attempts, r.next_attempt_at, r.report_id, r.destinations, r.last_error, r.sent_at
FROM (SELECT day, policy_domain,
             SUM(CASE WHEN result_type = ?3 THEN sessions ELSE 0 END) AS successful,
             SUM(CASE WHEN result_type = ?3 THEN 0 ELSE sessions END) AS failed
      FROM session_counts WHERE day >= ?1 AND day <= ?2 GROUP BY day, policy_domain) AS t
LEFT JOIN reports AS r ON r.day = t.day AND r.policy_domain = t.policy_domain
ORDER BY t.day, t.policy_domain)sql";

// Atomic in one statement: the row is created, or taken over only when its
// state allows (?4 is now, ?5 the new lease end); changes() says whether this
// node got it. A second connection's claim waits for the write lock and then
// sees the first one's row.
constexpr const char* kClaim = R"sql(
INSERT INTO reports (day, policy_domain, state, node, claimed_until) VALUES (?1, ?2, 'claimed', ?3, ?5)
ON CONFLICT (day, policy_domain) DO UPDATE
SET state = 'claimed', node = excluded.node, claimed_until = excluded.claimed_until
WHERE (reports.state = 'claimed' AND (reports.claimed_until <= ?4 OR reports.node = excluded.node))
   OR (reports.state = 'failed' AND reports.next_attempt_at <= ?4))sql";

constexpr const char* kFinishSent = R"sql(
UPDATE reports SET state = 'sent', claimed_until = 0, report_id = ?4, destinations = ?5, sent_at = ?6
WHERE day = ?1 AND policy_domain = ?2 AND state = 'claimed' AND node = ?3)sql";

constexpr const char* kFinishNoRua = R"sql(
UPDATE reports SET state = 'no-rua', claimed_until = 0
WHERE day = ?1 AND policy_domain = ?2 AND state = 'claimed' AND node = ?3)sql";

constexpr const char* kFinishFailed = R"sql(
UPDATE reports SET state = 'failed', claimed_until = 0, attempts = attempts + 1, last_error = ?4,
                   next_attempt_at = ?5
WHERE day = ?1 AND policy_domain = ?2 AND state = 'claimed' AND node = ?3)sql";

constexpr const char* kReportState = R"sql(
SELECT state, node, claimed_until, attempts, next_attempt_at, report_id, destinations, last_error, sent_at
FROM reports WHERE day = ?1 AND policy_domain = ?2)sql";

constexpr const char* kAddReceived = R"sql(
INSERT INTO received_reports (organization_name, report_id, received_at, start_datetime, end_datetime, day,
                              contact_info, deviations, raw)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT (organization_name, report_id) DO NOTHING)sql";

constexpr const char* kAddReceivedPolicy = R"sql(
INSERT INTO received_policies (report, policy_domain, policy_type, successful, failed)
VALUES (?1, ?2, ?3, ?4, ?5))sql";

// TOTAL, not SUM: the counts come from strangers, and SUM fails the whole
// query on integer overflow; TOTAL is a float and CAST clamps it to int64.
constexpr const char* kReceivedSummaries = R"sql(
SELECT r.organization_name, p.policy_domain, r.day, CAST(TOTAL(p.successful) AS INTEGER),
       CAST(TOTAL(p.failed) AS INTEGER), COUNT(DISTINCT r.id)
FROM received_reports AS r JOIN received_policies AS p ON p.report = r.id
GROUP BY r.day, r.organization_name, p.policy_domain
ORDER BY r.day, r.organization_name, p.policy_domain)sql";

constexpr const char* kReceivedIds = R"sql(
SELECT DISTINCT r.report_id
FROM received_reports AS r JOIN received_policies AS p ON p.report = r.id
WHERE r.day = ?1 AND r.organization_name = ?2 AND p.policy_domain = ?3
ORDER BY r.report_id)sql";

class SqliteReportStore final : public ReportStore {
 public:
  SqliteReportStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  Status initialize();

  Status addSessionCounts(const std::vector<SessionCount>& batch) override;
  Result<std::vector<std::string>> policyDomains(const std::string& day) override;
  Result<std::vector<SessionCount>> sessionCounts(const std::string& day,
                                                  const std::string& policy_domain) override;
  Result<std::vector<DaySummary>> summaries(const std::string& from_day, const std::string& to_day) override;
  Result<bool> claimReport(const std::string& day, const std::string& domain, const std::string& node,
                           int64_t now, int64_t lease_seconds) override;
  Status finishReport(const std::string& day, const std::string& domain, const std::string& node,
                      const ReportOutcome& outcome) override;
  Result<std::optional<ReportState>> reportState(const std::string& day, const std::string& domain) override;
  Result<ReceivedAdd> addReceivedReport(const StoredReceivedReport& report) override;
  Result<std::optional<std::string>> receivedReportRaw(const std::string& organization_name,
                                                       const std::string& report_id) override;
  Result<std::vector<ReceivedSummary>> receivedSummaries() override;
  Result<std::vector<std::string>> receivedReportIds(const std::string& day,
                                                     const std::string& organization_name,
                                                     const std::string& policy_domain) override;

 private:
  Error fail(std::string_view what) const {
    return makeError("tls report store " + path_ + ": " + std::string(what) + ": " +
                     sqlite3_errmsg(db_.get()));
  }
  Error invalid(std::string_view what) const {
    return makeError("tls report store " + path_ + ": " + std::string(what));
  }
  Status exec(const char* sql, std::string_view what);
  Status prepare(StatementPtr& s, const char* sql, std::string_view what = "cannot prepare statement");
  // Runs `body` in a write transaction. BEGIN IMMEDIATE takes the write lock
  // up front: a deferred transaction that reads first and then writes can be
  // refused with SQLITE_BUSY without waiting, when another connection wrote.
  template <class F>
  Status inTransaction(F&& body);
  Result<ReportState> readReportState(const Query& q, int first) const;
  Result<std::optional<ReportState>> reportStateLocked(const std::string& day, const std::string& domain);

  // Declared first so it is closed after every statement is finalized.
  std::unique_ptr<sqlite3, DatabaseCloser> db_;
  std::string path_;
  std::mutex mu_;
  StatementPtr begin_, commit_, rollback_;
  StatementPtr add_count_, domains_, counts_, summaries_;
  StatementPtr claim_, finish_sent_, finish_no_rua_, finish_failed_, report_state_;
  StatementPtr add_received_, add_received_policy_, received_raw_, received_summaries_, received_ids_;
};

Status SqliteReportStore::exec(const char* sql, std::string_view what) {
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) return fail(what);
  return okStatus();
}

Status SqliteReportStore::prepare(StatementPtr& s, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
    return fail(what);
  s.reset(raw);
  return okStatus();
}

template <class F>
Status SqliteReportStore::inTransaction(F&& body) {
  {
    Query begin(begin_);
    if (begin.step() != SQLITE_DONE) return fail("cannot begin transaction");
  }
  Status s = body();
  if (s) {
    Query commit(commit_);
    if (commit.step() == SQLITE_DONE) return s;
    s = fail("cannot commit");
  }
  Query(rollback_).step();
  return s;
}

Status SqliteReportStore::initialize() {
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);
  {
    // The first statement that reads the file: a file that is not SQLite fails here.
    StatementPtr wal;
    if (Status s = prepare(wal, "PRAGMA journal_mode = WAL", "cannot read"); !s) return s;
    Query q(wal);
    if (q.step() != SQLITE_ROW) return fail("cannot switch to WAL mode");
    if (q.textAt(0) != "wal")
      return invalid("cannot switch to WAL mode (journal mode stays " + q.textAt(0) + ")");
  }
  // FULL: a commit is on disk when it returns, so a report marked Sent stays
  // sent across a power loss and is not mailed twice.
  if (Status s = exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "cannot set pragmas"); !s)
    return s;
  if (Status s = prepare(begin_, "BEGIN IMMEDIATE"); !s) return s;
  if (Status s = prepare(commit_, "COMMIT"); !s) return s;
  if (Status s = prepare(rollback_, "ROLLBACK"); !s) return s;

  // Inside a write transaction, so two processes opening a new file at once
  // do not both create the schema.
  StatementPtr version;
  if (Status s = prepare(version, "PRAGMA user_version"); !s) return s;
  Status schema = inTransaction([&]() -> Status {
    Query q(version);
    if (q.step() != SQLITE_ROW) return fail("cannot read schema version");
    int64_t v = q.integerAt(0);
    if (v == kSqliteReportStoreSchemaVersion) return okStatus();
    if (v != 0)
      return invalid("schema version " + std::to_string(v) + " is not " +
                     std::to_string(kSqliteReportStoreSchemaVersion) + " (written by a newer build?)");
    if (Status s = exec(kSchema, "cannot create schema"); !s) return s;
    return exec(("PRAGMA user_version = " + std::to_string(kSqliteReportStoreSchemaVersion)).c_str(),
                "cannot set schema version");
  });
  if (!schema) return schema;

  const std::pair<StatementPtr*, const char*> statements[] = {
      {&add_count_, kAddCount},
      {&domains_, "SELECT DISTINCT policy_domain FROM session_counts WHERE day = ?1 ORDER BY policy_domain"},
      {&counts_, kCounts},
      {&summaries_, kSummaries},
      {&claim_, kClaim},
      {&finish_sent_, kFinishSent},
      {&finish_no_rua_, kFinishNoRua},
      {&finish_failed_, kFinishFailed},
      {&report_state_, kReportState},
      {&add_received_, kAddReceived},
      {&add_received_policy_, kAddReceivedPolicy},
      {&received_raw_, "SELECT raw FROM received_reports WHERE organization_name = ?1 AND report_id = ?2"},
      {&received_summaries_, kReceivedSummaries},
      {&received_ids_, kReceivedIds},
  };
  for (const auto& [statement, sql] : statements)
    if (Status s = prepare(*statement, sql); !s) return s;
  return okStatus();
}

Status SqliteReportStore::addSessionCounts(const std::vector<SessionCount>& batch) {
  // Summed per key first: a worker's batch repeats a few keys many times,
  // and an upsert costs far more than a map lookup (and holds the file's
  // write lock, which other processes wait for).
  auto rows = sumSessionCounts(batch);
  if (!rows) return invalid(rows.error().message);
  if (rows->empty()) return okStatus();
  std::lock_guard lock(mu_);
  return inTransaction([&]() -> Status {
    for (const auto& [encoded, row] : *rows) {
      Query q(add_count_);
      const std::vector<std::string> columns = sessionKeyColumns(row.key);
      for (size_t i = 0; i < columns.size(); ++i) q.text(static_cast<int>(i + 1), columns[i]);
      q.integer(11, static_cast<int64_t>(row.sessions));
      if (q.step() != SQLITE_DONE) return fail("cannot add session counts");
    }
    return okStatus();
  });
}

Result<std::vector<std::string>> SqliteReportStore::policyDomains(const std::string& day) {
  std::lock_guard lock(mu_);
  Query q(domains_);
  q.text(1, day);
  std::vector<std::string> domains;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) domains.push_back(q.textAt(0));
  if (rc != SQLITE_DONE) return fail("cannot read policy domains");
  return domains;
}

Result<std::vector<SessionCount>> SqliteReportStore::sessionCounts(const std::string& day,
                                                                   const std::string& policy_domain) {
  std::lock_guard lock(mu_);
  Query q(counts_);
  q.text(1, day).text(2, policy_domain);
  std::vector<SessionCount> counts;
  int rc;
  auto text = [&q](int i) { return q.textAt(i); };
  auto integer = [&q](int i) { return q.integerAt(i); };
  while ((rc = q.step()) == SQLITE_ROW) {
    auto count = sessionCountFromRow(text, integer, day, policy_domain);
    if (!count) return invalid(count.error().message);
    counts.push_back(std::move(*count));
  }
  if (rc != SQLITE_DONE) return fail("cannot read session counts");
  return counts;
}

Result<ReportState> SqliteReportStore::readReportState(const Query& q, int first) const {
  auto state =
      reportStateFromRow([&q](int i) { return q.textAt(i); }, [&q](int i) { return q.integerAt(i); }, first);
  if (!state) return invalid(state.error().message);
  return state;
}

Result<std::vector<DaySummary>> SqliteReportStore::summaries(const std::string& from_day,
                                                             const std::string& to_day) {
  std::lock_guard lock(mu_);
  Query q(summaries_);
  q.text(1, from_day).text(2, to_day).text(3, toString(TlsResultType::Success));
  std::vector<DaySummary> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    DaySummary d{q.textAt(0), q.textAt(1), static_cast<uint64_t>(q.integerAt(2)),
                 static_cast<uint64_t>(q.integerAt(3)), std::nullopt};
    if (q.integerAt(4)) {
      Result<ReportState> state = readReportState(q, 5);
      if (!state) return state.error();
      d.report = std::move(*state);
    }
    out.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return fail("cannot read summaries");
  return out;
}

Result<bool> SqliteReportStore::claimReport(const std::string& day, const std::string& domain,
                                            const std::string& node, int64_t now, int64_t lease_seconds) {
  if (Status ok = checkClaimArguments(day, node, lease_seconds); !ok) return invalid(ok.error().message);
  std::lock_guard lock(mu_);
  Query q(claim_);
  q.text(1, day).text(2, domain).text(3, node).integer(4, now).integer(5, now + lease_seconds);
  if (q.step() != SQLITE_DONE) return fail("cannot claim report for " + domain + " on " + day);
  return sqlite3_changes(db_.get()) == 1;
}

Status SqliteReportStore::finishReport(const std::string& day, const std::string& domain,
                                       const std::string& node, const ReportOutcome& outcome) {
  std::lock_guard lock(mu_);
  if (outcome.state == ReportSendState::Claimed) return invalid("a report cannot finish as claimed");
  const StatementPtr* statement = outcome.state == ReportSendState::Sent    ? &finish_sent_
                                  : outcome.state == ReportSendState::NoRua ? &finish_no_rua_
                                                                            : &finish_failed_;
  {
    Query q(*statement);
    q.text(1, day).text(2, domain).text(3, node);
    if (outcome.state == ReportSendState::Sent)
      q.text(4, outcome.report_id).text(5, encodeList(outcome.destinations)).integer(6, outcome.sent_at);
    if (outcome.state == ReportSendState::Failed)
      q.text(4, outcome.error).integer(5, outcome.next_attempt_at);
    if (q.step() != SQLITE_DONE) return fail("cannot record report outcome for " + domain + " on " + day);
    if (sqlite3_changes(db_.get()) == 1) return okStatus();
  }
  return invalid(notClaimedReason(day, domain, node, reportStateLocked(day, domain)));
}

Result<std::optional<ReportState>> SqliteReportStore::reportStateLocked(const std::string& day,
                                                                        const std::string& domain) {
  Query q(report_state_);
  q.text(1, day).text(2, domain);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<ReportState>();
  if (rc != SQLITE_ROW) return fail("cannot read report state");
  Result<ReportState> state = readReportState(q, 0);
  if (!state) return state.error();
  return std::optional<ReportState>(std::move(*state));
}

Result<std::optional<ReportState>> SqliteReportStore::reportState(const std::string& day,
                                                                  const std::string& domain) {
  std::lock_guard lock(mu_);
  return reportStateLocked(day, domain);
}

Result<ReceivedAdd> SqliteReportStore::addReceivedReport(const StoredReceivedReport& report) {
  if (Status ok = checkReceivedReport(report); !ok) return invalid(ok.error().message);
  const TlsReportDocument& doc = report.document;
  std::lock_guard lock(mu_);
  ReceivedAdd added = ReceivedAdd::Stored;
  Status s = inTransaction([&]() -> Status {
    Query q(add_received_);
    q.text(1, doc.organization_name).text(2, doc.report_id).integer(3, report.received_at);
    q.text(4, doc.start_datetime).text(5, doc.end_datetime).text(6, report.day).text(7, doc.contact_info);
    q.text(8, encodeList(report.deviations)).blob(9, report.raw);
    if (q.step() != SQLITE_DONE) return fail("cannot store received report");
    if (sqlite3_changes(db_.get()) == 0) {
      added = ReceivedAdd::Duplicate;
      return okStatus();
    }
    int64_t id = sqlite3_last_insert_rowid(db_.get());
    for (const auto& p : doc.policies) {
      Query pq(add_received_policy_);
      pq.integer(1, id).text(2, p.policy_domain).text(3, p.policy_type);
      pq.integer(4, static_cast<int64_t>(p.total_successful_session_count));
      pq.integer(5, static_cast<int64_t>(p.total_failure_session_count));
      if (pq.step() != SQLITE_DONE) return fail("cannot store received report");
    }
    return okStatus();
  });
  if (!s) return s.error();
  return added;
}

Result<std::optional<std::string>> SqliteReportStore::receivedReportRaw(const std::string& organization_name,
                                                                        const std::string& report_id) {
  std::lock_guard lock(mu_);
  Query q(received_raw_);
  q.text(1, organization_name).text(2, report_id);
  int rc = q.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return fail("cannot read received report");
  return std::optional<std::string>(q.textAt(0));
}

Result<std::vector<ReceivedSummary>> SqliteReportStore::receivedSummaries() {
  std::lock_guard lock(mu_);
  Query q(received_summaries_);
  std::vector<ReceivedSummary> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    out.push_back({q.textAt(0), q.textAt(1), q.textAt(2), static_cast<uint64_t>(q.integerAt(3)),
                   static_cast<uint64_t>(q.integerAt(4)), static_cast<uint64_t>(q.integerAt(5))});
  if (rc != SQLITE_DONE) return fail("cannot read received summaries");
  return out;
}

Result<std::vector<std::string>> SqliteReportStore::receivedReportIds(const std::string& day,
                                                                      const std::string& organization_name,
                                                                      const std::string& policy_domain) {
  std::lock_guard lock(mu_);
  Query q(received_ids_);
  q.text(1, day).text(2, organization_name).text(3, policy_domain);
  std::vector<std::string> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back(q.textAt(0));
  if (rc != SQLITE_DONE) return fail("cannot read received report ids");
  return out;
}

// SQLite takes a very short file (one byte, seen) for an empty database and
// overwrites it; a wrong path must not destroy whatever file it names. An
// empty file passes: it is a new database to SQLite too.
bool lacksSqliteHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[16] = {};
  if (!in || !in.read(header, sizeof header)) return in.gcount() > 0;
  return std::memcmp(header, "SQLite format 3", sizeof header) != 0;
}

}  // namespace

Result<std::unique_ptr<ReportStore>> openSqliteReportStore(const std::string& path) {
  if (lacksSqliteHeader(path))
    return makeError("tls report store " + path + ": file is not a database (no SQLite header)");
  sqlite3* db = nullptr;
  // NOMUTEX: the store's own mutex serializes every use of the connection.
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return makeError("tls report store " + path + ": cannot open: " + why);
  }
  auto store = std::make_unique<SqliteReportStore>(db, path);
  if (Status s = store->initialize(); !s) return s.error();
  return std::unique_ptr<ReportStore>(std::move(store));
}

}  // namespace tlsrelay
