// Accounting log: daily rotation with an injected clock, hostile responses,
// and a round trip through the RFC 4180 reader.
#include "reporting/accounting_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

// 2026-11-23T23:59:58Z
constexpr int64_t kBeforeMidnight = 1795478398;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/acct_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

RecipientAttempt sampleAttempt() {
  auto policy = std::make_shared<ReportPolicy>();
  policy->type = TlsPolicyType::Sts;
  auto session = std::make_shared<SessionRecord>();
  session->session_id = "5e55a0ff-1";
  session->domain = "example.net";
  session->mx_host = "mx1.example.net";
  session->ip = "127.0.0.2";
  session->protocol = "TLSv1.3";
  session->cipher = "TLS_AES_256_GCM_SHA384";
  session->verified_by = VerifyMode::Pkix;
  session->policy_source = "policy.d/example.net.toml";
  session->result = TlsResultType::Success;
  session->policy = policy;
  RecipientAttempt a;
  a.queue_id = "Q1";
  a.sender = "alice@example.org";
  a.recipient = "bob@example.net";
  a.result = AttemptResult::Delivered;
  a.status = status::kDelivered;
  a.response = "250 2.0.0 Ok: queued as ABC";
  a.session = session;
  return a;
}

// Records are immutable once published; a test that wants another one copies it.
SessionRecord& mutableSession(RecipientAttempt& a) {
  auto copy = std::make_shared<SessionRecord>(*a.session);
  a.session = copy;
  return *copy;
}

// The row timestamp itself is tested in time_format_test.cc.
TEST(AccountingLog, PathUsesUtcDay) {
  AccountingLog log("/x", [] { return int64_t{0}; });
  EXPECT_EQ(log.pathFor(kBeforeMidnight), "/x/acct-2026-11-23.csv");
  EXPECT_EQ(log.pathFor(kBeforeMidnight + 2), "/x/acct-2026-11-24.csv");
}

TEST(AccountingLog, RotatesAtUtcMidnightWithInjectedClock) {
  TempDir dir;
  int64_t now = kBeforeMidnight;
  AccountingLog log(dir.path(), [&] { return now; });
  RecipientAttempt a = sampleAttempt();
  a.time = 0;  // stamped by the clock
  log.onAttempt(a);
  now += 1;  // 23:59:59
  a.queue_id = "Q2";
  log.onAttempt(a);
  now += 1;  // 00:00:00 next day
  a.queue_id = "Q3";
  log.onAttempt(a);

  auto day1 = readAccountingCsv(dir.path() + "/acct-2026-11-23.csv");
  auto day2 = readAccountingCsv(dir.path() + "/acct-2026-11-24.csv");
  ASSERT_TRUE(day1.ok()) << day1.error().message;
  ASSERT_TRUE(day2.ok()) << day2.error().message;
  ASSERT_EQ(day1->size(), 2u);
  ASSERT_EQ(day2->size(), 1u);
  EXPECT_EQ((*day1)[0].at("queue_id"), "Q1");
  EXPECT_EQ((*day1)[1].at("time"), "2026-11-23T23:59:59Z");
  EXPECT_EQ((*day2)[0].at("queue_id"), "Q3");
  EXPECT_EQ((*day2)[0].at("time"), "2026-11-24T00:00:00Z");

  // Each file starts with exactly one header row.
  std::string text = slurp(dir.path() + "/acct-2026-11-24.csv");
  EXPECT_EQ(text.rfind("time,queue_id,sender,recipient,domain,mx_host,ip,result,dsn_status,response,"
                       "tls_protocol,tls_cipher,verification,policy_source,result_type,policy_type,"
                       "failure_reason,requiretls_reason,session_id\r\n",
                       0),
            0u);
}

TEST(AccountingLog, AttemptTimeWinsOverClock) {
  TempDir dir;
  AccountingLog log(dir.path(), [] { return kBeforeMidnight + 86400 * 10; });
  RecipientAttempt a = sampleAttempt();
  a.time = kBeforeMidnight;
  log.onAttempt(a);
  EXPECT_TRUE(fs::exists(dir.path() + "/acct-2026-11-23.csv"));
  EXPECT_FALSE(fs::exists(log.pathFor(kBeforeMidnight + 86400 * 10)));
}

TEST(AccountingLog, ReopeningAppendsWithoutSecondHeader) {
  TempDir dir;
  {
    AccountingLog log(dir.path(), [] { return kBeforeMidnight; });
    log.onAttempt(sampleAttempt());
  }
  {
    AccountingLog log(dir.path(), [] { return kBeforeMidnight; });
    log.onAttempt(sampleAttempt());
  }
  auto rows = readAccountingCsv(dir.path() + "/acct-2026-11-23.csv");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->size(), 2u);
  for (const auto& r : *rows) EXPECT_EQ(r.at("time"), "2026-11-23T23:59:58Z");
}

TEST(AccountingLog, HostileResponseCannotForgeRowsOrColumns) {
  TempDir dir;
  AccountingLog log(dir.path(), [] { return kBeforeMidnight; });
  RecipientAttempt a = sampleAttempt();
  a.result = AttemptResult::Bounced;
  a.status = EnhancedStatus{5, 1, 1};
  a.response =
      "550-5.1.1 \"no\", such user\r\n"
      "550 5.1.1 x\r\n2026-11-23T00:00:00Z,FORGED,a,b,c,d,e,delivered,2.0.0\x1b[31m";
  a.response.push_back('\0');
  a.response += "end\x7f";
  mutableSession(a).mx_host = "mx,with\"comma";
  log.onAttempt(a);

  std::string text = slurp(log.pathFor(kBeforeMidnight));
  // Header + one record: the CR/LF inside the response did not start a row.
  size_t crlf = 0;
  for (size_t p = text.find("\r\n"); p != std::string::npos; p = text.find("\r\n", p + 2)) ++crlf;
  EXPECT_EQ(crlf, 2u);
  EXPECT_EQ(text.find('\n'), text.find("\r\n") + 1);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_EQ(text.find('\x7f'), std::string::npos);

  auto rows = readAccountingCsv(log.pathFor(kBeforeMidnight));
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  const auto& r = (*rows)[0];
  EXPECT_EQ(r.at("result"), "bounced");
  EXPECT_EQ(r.at("dsn_status"), "5.1.1");
  EXPECT_EQ(r.at("mx_host"), "mx,with\"comma");
  EXPECT_EQ(r.at("response"),
            "550-5.1.1 \"no\", such user 550 5.1.1 x 2026-11-23T00:00:00Z,FORGED,a,b,c,d,e,delivered,2.0.0 "
            "[31m end");
  EXPECT_EQ(r.size(), AccountingLog::columns().size());
}

TEST(AccountingLog, SanitizeCollapsesControlsAndCapsLength) {
  EXPECT_EQ(sanitizeAccountingField("\r\n a\r\n\r\nb \t\r\n"), " a b ");
  EXPECT_EQ(sanitizeAccountingField("abc\r\n"), "abc");
  EXPECT_EQ(sanitizeAccountingField(std::string(5000, 'x')).size(), 2048u);
  // Never cut inside a UTF-8 sequence: "é" is two bytes.
  EXPECT_EQ(sanitizeAccountingField("a\xc3\xa9", 2), "a");
  EXPECT_EQ(sanitizeAccountingField("a\xc3\xa9", 3), "a\xc3\xa9");
}

TEST(AccountingLog, CsvQuoteFollowsRfc4180) {
  EXPECT_EQ(csvQuote("plain"), "plain");
  EXPECT_EQ(csvQuote(""), "");
  EXPECT_EQ(csvQuote("a,b"), "\"a,b\"");
  EXPECT_EQ(csvQuote("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csvQuote("a\nb"), "\"a\nb\"");
}

TEST(AccountingLog, RoundTripEveryColumn) {
  TempDir dir;
  AccountingLog log(dir.path(), [] { return kBeforeMidnight; });
  RecipientAttempt a = sampleAttempt();
  a.result = AttemptResult::Deferred;
  mutableSession(a).protocol = "";
  a.response = "421 4.7.0 \"try\" later, please";
  log.onAttempt(a);
  auto rows = readAccountingCsv(log.pathFor(kBeforeMidnight));
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  const auto& r = (*rows)[0];
  EXPECT_EQ(r.at("time"), "2026-11-23T23:59:58Z");
  EXPECT_EQ(r.at("queue_id"), "Q1");
  EXPECT_EQ(r.at("sender"), "alice@example.org");
  EXPECT_EQ(r.at("recipient"), "bob@example.net");
  EXPECT_EQ(r.at("domain"), "example.net");
  EXPECT_EQ(r.at("mx_host"), "mx1.example.net");
  EXPECT_EQ(r.at("ip"), "127.0.0.2");
  EXPECT_EQ(r.at("result"), "deferred");
  EXPECT_EQ(r.at("dsn_status"), "2.0.0");
  EXPECT_EQ(r.at("response"), "421 4.7.0 \"try\" later, please");
  EXPECT_EQ(r.at("tls_protocol"), "");
  EXPECT_EQ(r.at("tls_cipher"), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(r.at("verification"), "pkix");
  EXPECT_EQ(r.at("policy_source"), "policy.d/example.net.toml");
  EXPECT_EQ(r.at("result_type"), "success");
  EXPECT_EQ(r.at("policy_type"), "sts");
  EXPECT_EQ(r.at("requiretls_reason"), "");
  EXPECT_EQ(r.at("session_id"), "5e55a0ff-1");
}

TEST(AccountingLog, ConcurrentWritersKeepRowsWhole) {
  TempDir dir;
  AccountingLog log(dir.path(), [] { return kBeforeMidnight; });
  constexpr int kThreads = 4, kRows = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RecipientAttempt a = sampleAttempt();
      a.response = std::string(300, static_cast<char>('a' + t)) + ",\"x\"";
      for (int i = 0; i < kRows; ++i) {
        a.queue_id = "T" + std::to_string(t) + "-" + std::to_string(i);
        log.onAttempt(a);
      }
    });
  }
  for (auto& th : threads) th.join();
  auto rows = readAccountingCsv(log.pathFor(kBeforeMidnight));
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), static_cast<size_t>(kThreads * kRows));
  for (const auto& r : *rows) {
    char c = r.at("queue_id")[1];
    EXPECT_EQ(r.at("response"), std::string(300, static_cast<char>('a' + (c - '0'))) + ",\"x\"");
  }
}

TEST(AccountingCsvReader, ParsesQuotedFieldsAndLineBreaks) {
  auto rows = parseAccountingCsv("a,b,c\r\n1,\"x,\"\"y\"\"\r\nz\",3\n\"\",,\"last\"");
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].at("b"), "x,\"y\"\r\nz");
  EXPECT_EQ((*rows)[0].at("c"), "3");
  EXPECT_EQ((*rows)[1].at("a"), "");
  EXPECT_EQ((*rows)[1].at("b"), "");
  EXPECT_EQ((*rows)[1].at("c"), "last");
}

TEST(AccountingCsvReader, RejectsMalformedInput) {
  auto unterminated = parseAccountingCsv("a,b\r\n1,\"open\r\n");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.error().message.find("unterminated"), std::string::npos);
  auto wrong_count = parseAccountingCsv("a,b\r\n1,2\r\n1,2,3\r\n");
  ASSERT_FALSE(wrong_count.ok());
  EXPECT_NE(wrong_count.error().message.find("line 3"), std::string::npos);
  EXPECT_FALSE(parseAccountingCsv("a,b\r\nx\"y,2\r\n").ok());
  EXPECT_FALSE(parseAccountingCsv("a,b\r\n\"x\"y,2\r\n").ok());
  EXPECT_FALSE(readAccountingCsv("/nonexistent/acct.csv").ok());
}

TEST(AccountingCsvReader, EmptyAndHeaderOnlyAreEmpty) {
  auto empty = parseAccountingCsv("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto header_only = parseAccountingCsv("a,b\r\n");
  ASSERT_TRUE(header_only.ok());
  EXPECT_TRUE(header_only->empty());
}

}  // namespace
}  // namespace tlsrelay
