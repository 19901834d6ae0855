// Taking in a report someone sent us: stored once, a duplicate the second
// time, set aside when unreadable, and a failure the sender must retry when
// nothing was kept.
#include "reporting/report_ingest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reporting/sqlite_report_store.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/tlsrpt/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Dir {
  fs::path path;
  Dir() {
    char tmpl[] = "/tmp/report-ingest-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
};

constexpr int64_t kNow = 1796601600;

TEST(ReportIngest, AReportIsStoredOnceThenADuplicate) {
  Dir d;
  auto store = std::move(openSqliteReportStore((d.path / "r.sqlite").string()).value());
  const std::string mail = fixture("rfc8460-section5.3-mail.eml");
  IngestOutcome first = ingestReport(*store, mail, (d.path / "bad").string(), kNow);
  EXPECT_EQ(first.kind, IngestOutcome::Kind::Stored) << first.error;
  EXPECT_EQ(first.organization_name, "Company-X");
  EXPECT_TRUE(first.kept());
  IngestOutcome again =
      ingestReport(*store, fixture("rfc8460-example.json"), (d.path / "bad").string(), kNow);
  EXPECT_EQ(again.kind, IngestOutcome::Kind::Duplicate) << "same organization and report-id, other packaging";
  EXPECT_TRUE(again.kept());
  auto raw = store->receivedReportRaw("Company-X", first.report_id);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ(**raw, mail) << "the bytes as received, not the second copy";
  EXPECT_FALSE(fs::exists(d.path / "bad"));
}

TEST(ReportIngest, AnUnreadableReportIsKeptByteForByte) {
  Dir d;
  auto store = std::move(openSqliteReportStore((d.path / "r.sqlite").string()).value());
  const std::string junk = "{\"policies\": [";
  IngestOutcome a = ingestReport(*store, junk, (d.path / "bad").string(), kNow);
  IngestOutcome b = ingestReport(*store, junk, (d.path / "bad").string(), kNow);
  ASSERT_EQ(a.kind, IngestOutcome::Kind::Malformed);
  EXPECT_FALSE(a.error.empty());
  EXPECT_TRUE(a.kept());
  EXPECT_NE(a.kept_as, b.kept_as) << "two in one second must not overwrite each other";
  std::ifstream in(a.kept_as, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), junk);
  auto summaries = store->receivedSummaries();
  ASSERT_TRUE(summaries.ok());
  EXPECT_TRUE(summaries->empty());
}

TEST(ReportIngest, AnUnreadableReportThatCannotBeSetAsideIsNotKept) {
  Dir d;
  auto store = std::move(openSqliteReportStore((d.path / "r.sqlite").string()).value());
  // A file where the malformed directory should be (works as root too).
  std::ofstream((d.path / "bad").string()) << "x";
  IngestOutcome o = ingestReport(*store, "not json", (d.path / "bad").string(), kNow);
  EXPECT_EQ(o.kind, IngestOutcome::Kind::Malformed);
  EXPECT_TRUE(o.kept_as.empty());
  EXPECT_FALSE(o.kept()) << "the sender must be asked to retry";
}

// Only addReceivedReport is reached by ingest; it fails like a full disk.
class RefusingStore : public ReportStore {
 public:
  Status addSessionCounts(const std::vector<SessionCount>&) override { return makeError("unused"); }
  Result<std::vector<std::string>> policyDomains(const std::string&) override { return makeError("unused"); }
  Result<std::vector<SessionCount>> sessionCounts(const std::string&, const std::string&) override {
    return makeError("unused");
  }
  Result<std::vector<DaySummary>> summaries(const std::string&, const std::string&) override {
    return makeError("unused");
  }
  Result<bool> claimReport(const std::string&, const std::string&, const std::string&, int64_t,
                           int64_t) override {
    return makeError("unused");
  }
  Status finishReport(const std::string&, const std::string&, const std::string&,
                      const ReportOutcome&) override {
    return makeError("unused");
  }
  Result<std::optional<ReportState>> reportState(const std::string&, const std::string&) override {
    return makeError("unused");
  }
  Result<ReceivedAdd> addReceivedReport(const StoredReceivedReport&) override {
    return makeError("database or disk is full");
  }
  Result<std::optional<std::string>> receivedReportRaw(const std::string&, const std::string&) override {
    return makeError("unused");
  }
  Result<std::vector<ReceivedSummary>> receivedSummaries() override { return makeError("unused"); }
  Result<std::vector<std::string>> receivedReportIds(const std::string&, const std::string&,
                                                     const std::string&) override {
    return std::vector<std::string>{};
  }
};

TEST(ReportIngest, AStoreThatRefusesIsAStoreErrorAndNotKept) {
  Dir d;
  RefusingStore store;
  IngestOutcome o = ingestReport(store, fixture("rfc8460-example.json"), (d.path / "bad").string(), kNow);
  EXPECT_EQ(o.kind, IngestOutcome::Kind::StoreError);
  EXPECT_EQ(o.error, "database or disk is full");
  EXPECT_FALSE(o.kept());
  EXPECT_FALSE(fs::exists(d.path / "bad")) << "a readable report is not set aside as malformed";
}

}  // namespace
}  // namespace tlsrelay
