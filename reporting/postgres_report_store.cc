// The PostgreSQL report store; see postgres_report_store.h.
#include "reporting/postgres_report_store.h"

#include <libpq-fe.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_format.h"
#include "reporting/report_store_codec.h"

namespace tlsrelay {
namespace {

// Strings from outside (policy strings, MX names, rua URIs, reply texts, whole
// received reports) are bytea, not text: they may hold NUL bytes or invalid
// UTF-8, which a text column refuses, and bytea sorts by bytes as SQLite
// does, whatever the database's collation. Only our own vocabulary (days,
// states, RFC 8460 type names) is text, in the "C" collation for the same
// order. A btree entry holds at most ~2.7 kB and a remote MTA-STS policy may
// be 64 KB, so the long keys are unique by their SHA-256 (key_hash,
// identity) instead of by their columns; the (day, policy_domain) prefix is
// the index every report query uses.
constexpr const char* kSchema = R"sql(
CREATE TABLE tlsrelay_schema (version bigint NOT NULL);
CREATE TABLE session_counts (
  day text COLLATE "C" NOT NULL, policy_domain bytea NOT NULL, key_hash bytea NOT NULL,
  policy_type text COLLATE "C" NOT NULL, policy_strings bytea NOT NULL, mx_host bytea NOT NULL,
  result_type text COLLATE "C" NOT NULL, sending_ip bytea NOT NULL, receiving_mx_hostname bytea NOT NULL,
  receiving_ip bytea NOT NULL, failure_reason_code bytea NOT NULL, sessions bigint NOT NULL,
  PRIMARY KEY (day, policy_domain, key_hash)
);
CREATE TABLE reports (
  day text COLLATE "C" NOT NULL, policy_domain bytea NOT NULL,
  state text NOT NULL CHECK (state IN ('claimed', 'sent', 'no-rua', 'failed')),
  node bytea NOT NULL, claimed_until bigint NOT NULL,
  attempts bigint NOT NULL DEFAULT 0, next_attempt_at bigint NOT NULL DEFAULT 0,
  report_id bytea NOT NULL DEFAULT '', destinations bytea NOT NULL DEFAULT '',
  last_error bytea NOT NULL DEFAULT '', sent_at bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (day, policy_domain)
);
CREATE TABLE received_reports (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, identity bytea NOT NULL UNIQUE,
  organization_name bytea NOT NULL, report_id bytea NOT NULL, received_at bigint NOT NULL,
  start_datetime bytea NOT NULL, end_datetime bytea NOT NULL, day text COLLATE "C" NOT NULL,
  contact_info bytea NOT NULL, deviations bytea NOT NULL, raw bytea NOT NULL
);
CREATE TABLE received_policies (
  report bigint NOT NULL REFERENCES received_reports (id) ON DELETE CASCADE,
  policy_domain bytea NOT NULL, policy_type bytea NOT NULL, successful bigint NOT NULL, failed bigint NOT NULL
);
CREATE INDEX received_policies_by_report ON received_policies (report);
)sql";

// Held only while one node creates the schema: the transaction's lock ends
// with it. ("tlsrelay" in ASCII.)
constexpr int64_t kSchemaLockKey = 0x746c7372656c6179;

constexpr const char* kAddCount = R"sql(
INSERT INTO session_counts (key_hash, day, policy_domain, policy_type, policy_strings, mx_host, result_type,
                            sending_ip, receiving_mx_hostname, receiving_ip, failure_reason_code, sessions)
VALUES (sha256($1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (day, policy_domain, key_hash) DO UPDATE SET sessions = session_counts.sessions + excluded.sessions)sql";

constexpr const char* kCounts = R"sql(
SELECT policy_type, policy_strings, mx_host, result_type, sending_ip, receiving_mx_hostname, receiving_ip,
       failure_reason_code, sessions
FROM session_counts WHERE day = $1 AND policy_domain = $2
ORDER BY policy_type, policy_strings, mx_host, result_type, sending_ip, receiving_mx_hostname, receiving_ip,
         failure_reason_code)sql";

// $3 is the name of the success result type; everything else counts as failed.
constexpr const char* kSummaries = R"sql(
SELECT t.day, t.policy_domain, t.successful, t.failed, r.state IS NOT NULL, r.state, r.node, r.claimed_until,
       r.attempts, r.next_attempt_at, r.report_id, r.destinations, r.last_error, r.sent_at
FROM (SELECT day, policy_domain,
             SUM(CASE WHEN result_type = $3 THEN sessions ELSE 0 END)::bigint AS successful,
             SUM(CASE WHEN result_type = $3 THEN 0 ELSE sessions END)::bigint AS failed
      FROM session_counts WHERE day >= $1 AND day <= $2 GROUP BY day, policy_domain) AS t
LEFT JOIN reports AS r ON r.day = t.day AND r.policy_domain = t.policy_domain
ORDER BY t.day, t.policy_domain)sql";

// Atomic in one statement, across nodes: a racing INSERT waits for the row
// the other one wrote, and the DO UPDATE's WHERE then judges that row (read
// committed re-reads it under a row lock), so exactly one node gets a row
// count of 1. $4 is now, $5 the new lease end.
constexpr const char* kClaim = R"sql(
INSERT INTO reports (day, policy_domain, state, node, claimed_until) VALUES ($1, $2, 'claimed', $3, $5)
ON CONFLICT (day, policy_domain) DO UPDATE
SET state = 'claimed', node = excluded.node, claimed_until = excluded.claimed_until
WHERE (reports.state = 'claimed' AND (reports.claimed_until <= $4 OR reports.node = excluded.node))
   OR (reports.state = 'failed' AND reports.next_attempt_at <= $4))sql";

constexpr const char* kFinishSent = R"sql(
UPDATE reports SET state = 'sent', claimed_until = 0, report_id = $4, destinations = $5, sent_at = $6
WHERE day = $1 AND policy_domain = $2 AND state = 'claimed' AND node = $3)sql";

constexpr const char* kFinishNoRua = R"sql(
UPDATE reports SET state = 'no-rua', claimed_until = 0
WHERE day = $1 AND policy_domain = $2 AND state = 'claimed' AND node = $3)sql";

constexpr const char* kFinishFailed = R"sql(
UPDATE reports SET state = 'failed', claimed_until = 0, attempts = attempts + 1, last_error = $4,
                   next_attempt_at = $5
WHERE day = $1 AND policy_domain = $2 AND state = 'claimed' AND node = $3)sql";

constexpr const char* kReportState = R"sql(
SELECT state, node, claimed_until, attempts, next_attempt_at, report_id, destinations, last_error, sent_at
FROM reports WHERE day = $1 AND policy_domain = $2)sql";

constexpr const char* kAddReceived = R"sql(
INSERT INTO received_reports (identity, organization_name, report_id, received_at, start_datetime,
                              end_datetime, day, contact_info, deviations, raw)
VALUES (sha256($1), $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (identity) DO NOTHING RETURNING id)sql";

constexpr const char* kAddReceivedPolicy = R"sql(
INSERT INTO received_policies (report, policy_domain, policy_type, successful, failed)
VALUES ($1, $2, $3, $4, $5))sql";

// The counts come from strangers: their sums are clamped to int64 rather than
// failing the whole query (SUM of bigint is numeric, so it cannot overflow).
constexpr const char* kReceivedSummaries = R"sql(
SELECT r.organization_name, p.policy_domain, r.day,
       LEAST(SUM(p.successful), 9223372036854775807)::bigint, LEAST(SUM(p.failed), 9223372036854775807)::bigint,
       COUNT(DISTINCT r.id)
FROM received_reports AS r JOIN received_policies AS p ON p.report = r.id
GROUP BY r.day, r.organization_name, p.policy_domain
ORDER BY r.day, r.organization_name, p.policy_domain)sql";

// Every parameter and result travels in binary format: bytes exactly as they
// are, with no escaping and no text conversion on either side.
constexpr Oid kByteaOid = 17, kInt8Oid = 20, kTextOid = 25;

class Params {
 public:
  Params& text(std::string_view v) { return add(kTextOid, std::string(v)); }
  Params& bytes(std::string_view v) { return add(kByteaOid, std::string(v)); }
  Params& integer(int64_t v) {
    std::string big_endian(8, '\0');
    for (int i = 0; i < 8; ++i) big_endian[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
    return add(kInt8Oid, std::move(big_endian));
  }

  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  const std::string& value(int i) const { return values_[static_cast<size_t>(i)]; }

 private:
  Params& add(Oid type, std::string value) {
    types_.push_back(type);
    values_.push_back(std::move(value));
    return *this;
  }
  std::vector<Oid> types_;
  std::vector<std::string> values_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

// The rows of one statement's result. A NULL (the LEFT JOIN of summaries)
// reads as empty or 0.
class Rows {
 public:
  explicit Rows(PGresult* r) : r_(r) {}
  int size() const { return PQntuples(r_.get()); }
  int64_t affected() const { return std::atoll(PQcmdTuples(r_.get())); }
  std::string bytes(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t integer(int row, int col) const {
    if (PQgetlength(r_.get(), row, col) != 8) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col));
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return static_cast<int64_t>(v);
  }
  bool boolean(int row, int col) const {
    return PQgetlength(r_.get(), row, col) == 1 && PQgetvalue(r_.get(), row, col)[0] != 0;
  }
  bool succeeded() const {
    ExecStatusType s = PQresultStatus(r_.get());  // PGRES_FATAL_ERROR for a null result
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  const char* error() const { return r_ ? PQresultErrorMessage(r_.get()) : nullptr; }

 private:
  std::unique_ptr<PGresult, ResultDeleter> r_;
};

struct ConnectionCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// libpq's messages end in newlines and indent their continuation lines.
std::string oneLine(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// A connection string libpq cannot parse may hold the password anywhere, and
// libpq quotes the part it stumbled on: that part is left out.
std::string withoutQuoted(std::string_view text) {
  std::string out;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') {
      out += quoted ? "\"" : "\"...";
      quoted = !quoted;
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

// How errors name the store: where it is, never who logs in with what. A
// socket directory is written the way a URI spells it (%2F for '/').
std::string storeName(PGconn* c) {
  auto value = [](const char* v) { return v ? std::string(v) : std::string(); };
  std::string host;
  for (char ch : value(PQhost(c))) host += ch == '/' ? std::string("%2F") : std::string(1, ch);
  std::string port = value(PQport(c));
  return "postgresql://" + host + (port.empty() ? "" : ":" + port) + "/" + value(PQdb(c));
}

// Notices would go to stderr, where every line is meant to be JSON.
void ignoreNotice(void*, const char*) {}

class PostgresReportStore final : public ReportStore {
 public:
  explicit PostgresReportStore(PGconn* conn)
      : conn_(conn), name_(storeName(conn)), password_(PQpass(conn) ? PQpass(conn) : "") {
    PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
  }

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

  Error invalid(std::string_view what) const {
    return makeError("tls report store " + name_ + ": " + std::string(what));
  }
  Error fail(std::string_view what, const char* why) const {
    std::string text = oneLine(why ? why : "");
    if (!password_.empty())
      for (size_t at = 0; (at = text.find(password_, at)) != std::string::npos; at += 3)
        text.replace(at, password_.size(), "***");
    return invalid(std::string(what) + ": " + (text.empty() ? "unknown error" : text));
  }

 private:
  Result<Rows> exec(const char* sql, const Params& params, std::string_view what);
  Status script(const char* sql, std::string_view what);
  // Runs `body` under the mutex on a live connection. One the server closed
  // while we were idle (a restart) is replaced first; one that breaks under
  // `body` is replaced and `body` runs once more. That repeat is safe: the
  // broken connection did nothing, or a transaction that rolled back, or one
  // statement that repeats harmlessly (a claim renews itself; a finish is
  // refused as no longer claimed, its outcome kept). A COMMIT whose answer
  // was lost is not repeated: it may have taken effect.
  template <class F>
  auto withConnection(F&& body) -> decltype(body());
  template <class F>
  Status inTransaction(F&& body);
  Result<ReportState> readReportState(const Rows& rows, int row, int first) const;
  Result<std::optional<ReportState>> reportStateLocked(const std::string& day, const std::string& domain);

  std::unique_ptr<PGconn, ConnectionCloser> conn_;
  std::string name_;
  std::string password_;  // only to keep it out of messages
  std::mutex mu_;
  bool commit_in_doubt_ = false;
};

Result<Rows> PostgresReportStore::exec(const char* sql, const Params& params, std::string_view what) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (int i = 0; i < params.size(); ++i) {
    values.push_back(params.value(i).data());
    lengths.push_back(static_cast<int>(params.value(i).size()));
  }
  const std::vector<int> binary(values.size(), 1);
  Rows rows(PQexecParams(conn_.get(), sql, params.size(), params.types(), values.data(), lengths.data(),
                         binary.data(), 1));
  if (!rows.succeeded()) return fail(what, rows.error() ? rows.error() : PQerrorMessage(conn_.get()));
  return rows;
}

Status PostgresReportStore::script(const char* sql, std::string_view what) {
  Rows rows(PQexec(conn_.get(), sql));
  if (!rows.succeeded()) return fail(what, rows.error() ? rows.error() : PQerrorMessage(conn_.get()));
  return okStatus();
}

template <class F>
auto PostgresReportStore::withConnection(F&& body) -> decltype(body()) {
  std::lock_guard lock(mu_);
  for (int attempt = 0;; ++attempt) {
    // Reads what the server sent while we were idle. After a restart that is
    // its goodbye (a FATAL message), and a second read meets the end of the
    // stream, which marks the connection bad before any statement is sent.
    PQconsumeInput(conn_.get());
    PQconsumeInput(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK)
        return fail("cannot reconnect", PQerrorMessage(conn_.get()));
    }
    commit_in_doubt_ = false;
    auto result = body();
    if (result || attempt > 0 || commit_in_doubt_ || PQstatus(conn_.get()) != CONNECTION_BAD) return result;
  }
}

template <class F>
Status PostgresReportStore::inTransaction(F&& body) {
  if (auto begin = exec("BEGIN", {}, "cannot begin transaction"); !begin) return begin.error();
  Status s = body();
  if (s) {
    auto commit = exec("COMMIT", {}, "cannot commit");
    if (commit) return s;
    // Lost with the connection, the COMMIT may or may not have taken effect.
    commit_in_doubt_ = PQstatus(conn_.get()) == CONNECTION_BAD;
    if (commit_in_doubt_)
      return fail("connection lost at commit, outcome unknown", PQerrorMessage(conn_.get()));
    return commit.error();
  }
  if (PQstatus(conn_.get()) == CONNECTION_OK) (void)exec("ROLLBACK", {}, "cannot roll back");
  return s;
}

Status PostgresReportStore::initialize() {
  return withConnection([&]() -> Status {
    return inTransaction([&]() -> Status {
      // Two nodes opening a new database at once must not both create the schema.
      if (auto lock = exec("SELECT 1 FROM pg_advisory_xact_lock($1)", Params().integer(kSchemaLockKey),
                           "cannot lock the schema");
          !lock)
        return lock.error();
      auto exists =
          exec("SELECT to_regclass('tlsrelay_schema') IS NOT NULL", {}, "cannot read schema version");
      if (!exists) return exists.error();
      if (exists->boolean(0, 0)) {
        auto version = exec("SELECT max(version) FROM tlsrelay_schema", {}, "cannot read schema version");
        if (!version) return version.error();
        int64_t v = version->integer(0, 0);
        if (v == kPostgresReportStoreSchemaVersion) return okStatus();
        return invalid("schema version " + std::to_string(v) + " is not " +
                       std::to_string(kPostgresReportStoreSchemaVersion) + " (written by a newer build?)");
      }
      if (Status s = script(kSchema, "cannot create schema"); !s) return s;
      auto set = exec("INSERT INTO tlsrelay_schema (version) VALUES ($1)",
                      Params().integer(kPostgresReportStoreSchemaVersion), "cannot set schema version");
      if (!set) return set.error();
      return okStatus();
    });
  });
}

Status PostgresReportStore::addSessionCounts(const std::vector<SessionCount>& batch) {
  // Summed per key first, as in the SQLite store, and upserted in key order:
  // two nodes whose batches share keys then lock those rows in the same order
  // and never deadlock.
  auto summed = sumSessionCounts(batch);
  if (!summed) return invalid(summed.error().message);
  const std::map<std::string, SessionCount>& rows = *summed;
  if (rows.empty()) return okStatus();
  return withConnection([&]() -> Status {
    return inTransaction([&]() -> Status {
      for (const auto& [encoded, row] : rows) {
        const SessionCountKey& k = row.key;
        Params p;
        p.bytes(encoded).text(k.day).bytes(k.policy_domain).text(toString(k.policy_type));
        p.bytes(encodeList(k.policy_strings)).bytes(encodeList(k.mx_host)).text(toString(k.result_type));
        p.bytes(k.sending_ip).bytes(k.receiving_mx_hostname).bytes(k.receiving_ip);
        p.bytes(k.failure_reason_code).integer(static_cast<int64_t>(row.sessions));
        if (auto r = exec(kAddCount, p, "cannot add session counts"); !r) return r.error();
      }
      return okStatus();
    });
  });
}

Result<std::vector<std::string>> PostgresReportStore::policyDomains(const std::string& day) {
  return withConnection([&]() -> Result<std::vector<std::string>> {
    auto rows =
        exec("SELECT DISTINCT policy_domain FROM session_counts WHERE day = $1 ORDER BY policy_domain",
             Params().text(day), "cannot read policy domains");
    if (!rows) return rows.error();
    std::vector<std::string> domains;
    for (int i = 0; i < rows->size(); ++i) domains.push_back(rows->bytes(i, 0));
    return domains;
  });
}

Result<std::vector<SessionCount>> PostgresReportStore::sessionCounts(const std::string& day,
                                                                     const std::string& policy_domain) {
  return withConnection([&]() -> Result<std::vector<SessionCount>> {
    auto rows = exec(kCounts, Params().text(day).bytes(policy_domain), "cannot read session counts");
    if (!rows) return rows.error();
    std::vector<SessionCount> counts;
    for (int i = 0; i < rows->size(); ++i) {
      auto count = sessionCountFromRow([&](int c) { return rows->bytes(i, c); },
                                       [&](int c) { return rows->integer(i, c); }, day, policy_domain);
      if (!count) return invalid(count.error().message);
      counts.push_back(std::move(*count));
    }
    return counts;
  });
}

Result<ReportState> PostgresReportStore::readReportState(const Rows& rows, int row, int first) const {
  auto state = reportStateFromRow([&](int c) { return rows.bytes(row, c); },
                                  [&](int c) { return rows.integer(row, c); }, first);
  if (!state) return invalid(state.error().message);
  return state;
}

Result<std::vector<DaySummary>> PostgresReportStore::summaries(const std::string& from_day,
                                                               const std::string& to_day) {
  return withConnection([&]() -> Result<std::vector<DaySummary>> {
    auto rows = exec(kSummaries, Params().text(from_day).text(to_day).text(toString(TlsResultType::Success)),
                     "cannot read summaries");
    if (!rows) return rows.error();
    std::vector<DaySummary> out;
    for (int i = 0; i < rows->size(); ++i) {
      DaySummary d{rows->bytes(i, 0), rows->bytes(i, 1), static_cast<uint64_t>(rows->integer(i, 2)),
                   static_cast<uint64_t>(rows->integer(i, 3)), std::nullopt};
      if (rows->boolean(i, 4)) {
        Result<ReportState> state = readReportState(*rows, i, 5);
        if (!state) return state.error();
        d.report = std::move(*state);
      }
      out.push_back(std::move(d));
    }
    return out;
  });
}

Result<bool> PostgresReportStore::claimReport(const std::string& day, const std::string& domain,
                                              const std::string& node, int64_t now, int64_t lease_seconds) {
  if (Status ok = checkClaimArguments(day, node, lease_seconds); !ok) return invalid(ok.error().message);
  return withConnection([&]() -> Result<bool> {
    auto rows =
        exec(kClaim, Params().text(day).bytes(domain).bytes(node).integer(now).integer(now + lease_seconds),
             "cannot claim report for " + domain + " on " + day);
    if (!rows) return rows.error();
    return rows->affected() == 1;
  });
}

Status PostgresReportStore::finishReport(const std::string& day, const std::string& domain,
                                         const std::string& node, const ReportOutcome& outcome) {
  if (outcome.state == ReportSendState::Claimed) return invalid("a report cannot finish as claimed");
  const char* sql = outcome.state == ReportSendState::Sent    ? kFinishSent
                    : outcome.state == ReportSendState::NoRua ? kFinishNoRua
                                                              : kFinishFailed;
  Params p;
  p.text(day).bytes(domain).bytes(node);
  if (outcome.state == ReportSendState::Sent)
    p.bytes(outcome.report_id).bytes(encodeList(outcome.destinations)).integer(outcome.sent_at);
  if (outcome.state == ReportSendState::Failed) p.bytes(outcome.error).integer(outcome.next_attempt_at);
  return withConnection([&]() -> Status {
    auto rows = exec(sql, p, "cannot record report outcome for " + domain + " on " + day);
    if (!rows) return rows.error();
    if (rows->affected() == 1) return okStatus();
    return invalid(notClaimedReason(day, domain, node, reportStateLocked(day, domain)));
  });
}

Result<std::optional<ReportState>> PostgresReportStore::reportStateLocked(const std::string& day,
                                                                          const std::string& domain) {
  auto rows = exec(kReportState, Params().text(day).bytes(domain), "cannot read report state");
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<ReportState>();
  Result<ReportState> state = readReportState(*rows, 0, 0);
  if (!state) return state.error();
  return std::optional<ReportState>(std::move(*state));
}

Result<std::optional<ReportState>> PostgresReportStore::reportState(const std::string& day,
                                                                    const std::string& domain) {
  return withConnection([&] { return reportStateLocked(day, domain); });
}

Result<ReceivedAdd> PostgresReportStore::addReceivedReport(const StoredReceivedReport& report) {
  if (Status ok = checkReceivedReport(report); !ok) return invalid(ok.error().message);
  const TlsReportDocument& doc = report.document;
  Params insert;
  insert.bytes(encodeList({doc.organization_name, doc.report_id})).bytes(doc.organization_name);
  insert.bytes(doc.report_id).integer(report.received_at).bytes(doc.start_datetime).bytes(doc.end_datetime);
  insert.text(report.day).bytes(doc.contact_info).bytes(encodeList(report.deviations)).bytes(report.raw);
  return withConnection([&]() -> Result<ReceivedAdd> {
    ReceivedAdd added = ReceivedAdd::Stored;
    Status s = inTransaction([&]() -> Status {
      auto rows = exec(kAddReceived, insert, "cannot store received report");
      if (!rows) return rows.error();
      if (rows->size() == 0) {
        added = ReceivedAdd::Duplicate;
        return okStatus();
      }
      const int64_t id = rows->integer(0, 0);
      for (const auto& p : doc.policies) {
        Params policy;
        policy.integer(id).bytes(p.policy_domain).bytes(p.policy_type);
        policy.integer(static_cast<int64_t>(p.total_successful_session_count));
        policy.integer(static_cast<int64_t>(p.total_failure_session_count));
        if (auto r = exec(kAddReceivedPolicy, policy, "cannot store received report"); !r) return r.error();
      }
      return okStatus();
    });
    if (!s) return s.error();
    return added;
  });
}

Result<std::optional<std::string>> PostgresReportStore::receivedReportRaw(
    const std::string& organization_name, const std::string& report_id) {
  return withConnection([&]() -> Result<std::optional<std::string>> {
    auto rows =
        exec("SELECT raw FROM received_reports WHERE identity = sha256($1)",
             Params().bytes(encodeList({organization_name, report_id})), "cannot read received report");
    if (!rows) return rows.error();
    if (rows->size() == 0) return std::optional<std::string>();
    return std::optional<std::string>(rows->bytes(0, 0));
  });
}

Result<std::vector<ReceivedSummary>> PostgresReportStore::receivedSummaries() {
  return withConnection([&]() -> Result<std::vector<ReceivedSummary>> {
    auto rows = exec(kReceivedSummaries, {}, "cannot read received summaries");
    if (!rows) return rows.error();
    std::vector<ReceivedSummary> out;
    for (int i = 0; i < rows->size(); ++i)
      out.push_back({rows->bytes(i, 0), rows->bytes(i, 1), rows->bytes(i, 2),
                     static_cast<uint64_t>(rows->integer(i, 3)), static_cast<uint64_t>(rows->integer(i, 4)),
                     static_cast<uint64_t>(rows->integer(i, 5))});
    return out;
  });
}

Result<std::vector<std::string>> PostgresReportStore::receivedReportIds(const std::string& day,
                                                                        const std::string& organization_name,
                                                                        const std::string& policy_domain) {
  return withConnection([&]() -> Result<std::vector<std::string>> {
    auto rows = exec(
        "SELECT DISTINCT r.report_id FROM received_reports AS r JOIN received_policies AS p ON p.report = "
        "r.id "
        "WHERE r.day = $1 AND r.organization_name = $2 AND p.policy_domain = $3 ORDER BY r.report_id",
        Params().text(day).bytes(organization_name).bytes(policy_domain), "cannot read received report ids");
    if (!rows) return rows.error();
    std::vector<std::string> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(rows->bytes(i, 0));
    return out;
  });
}

}  // namespace

Result<std::unique_ptr<ReportStore>> openPostgresReportStore(const std::string& conninfo) {
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (!options) {
    std::string why = parse_error ? withoutQuoted(oneLine(parse_error)) : "out of memory";
    PQfreemem(parse_error);
    return makeError("tls report store postgresql: cannot parse the connection string: " + why);
  }
  PQconninfoFree(options);
  // Defaults first: what the connection string says overrides them. Without
  // them a server that vanished from the network (no reset, no FIN) would hold
  // a call, and with it the observer thread, for TCP's own timeouts: minutes
  // to connect, a quarter of an hour for a query. tcp_user_timeout (ms) ends a
  // connection whose data goes unacknowledged; keepalives find a dead idle one.
  const char* keywords[] = {"connect_timeout",
                            "tcp_user_timeout",
                            "keepalives_idle",
                            "keepalives_interval",
                            "application_name",
                            "dbname",
                            nullptr};
  const char* values[] = {"10", "30000", "60", "10", "tlsrelay", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 1);
  if (!conn) return makeError("tls report store postgresql: cannot connect: out of memory");
  auto store = std::make_unique<PostgresReportStore>(conn);
  if (PQstatus(conn) != CONNECTION_OK) return store->fail("cannot connect", PQerrorMessage(conn));
  if (Status s = store->initialize(); !s) return s.error();
  return std::unique_ptr<ReportStore>(std::move(store));
}

}  // namespace tlsrelay
