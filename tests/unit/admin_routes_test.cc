// The admin routes (relay/ops/admin_routes.h) as the daemon registers them,
// on a real AdminHttpServer on 127.0.0.1 (port 0), queried over HTTP with
// libcurl from a thread of its own while this thread's uv loop serves: the
// TLS report receiver (POST) against a store that refuses and a real SQLite
// one, and /api/queue/<id> against a real DeliveryEngine with no spool, DNS or
// peers, drained from the start: it holds one message and never delivers it.
#include "relay/ops/admin_routes.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "common/gzip.h"
#include "policy/domain_policy.h"
#include "relay/admin/admin_http_server.h"
#include "relay/config/config.h"
#include "relay/ops/report_service.h"
#include "relay/queue/delivery_engine.h"
#include "reporting/report_store.h"
#include "reporting/sqlite_report_store.h"
#include "tests/unit/http_test_client.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using http_test::httpFetch;
using http_test::HttpTestReply;
using http_test::HttpTestRequest;

constexpr char kReportPath[] = "/.well-known/tlsrpt";
constexpr char kReportId[] = "5065427c-23d3-47ca-b6e0-946ea0e8c4be";  // in rfc8460-example.json
// A queue id as newQueueId() makes them: 26 upper-case hex digits.
constexpr char kQueuedId[] = "0005F1A2B3C4D50000DEADBEEF";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/tlsrpt/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every byte as %XX, so nothing of `text` reaches the server unescaped.
std::string percentEncodeAll(const std::string& text, bool lower_case = false) {
  static constexpr char kUpper[] = "0123456789ABCDEF", kLower[] = "0123456789abcdef";
  const char* digits = lower_case ? kLower : kUpper;
  std::string out;
  for (unsigned char c : text) {
    out += '%';
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

// The reply's Content-Type; "" when it has none.
std::string contentType(const HttpTestReply& reply) {
  auto it = reply.headers.find("content-type");
  return it == reply.headers.end() ? "" : it->second;
}

std::vector<std::string> filesIn(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().string());
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A store that is down for received reports: addReceivedReport fails (and
// counts its calls); the rest is the least the routes need and reports nothing.
class RefusingStore : public ReportStore {
 public:
  std::atomic<int> add_received_calls{0};

  Status addSessionCounts(const std::vector<SessionCount>&) override { return okStatus(); }
  Result<std::vector<std::string>> policyDomains(const std::string&) override {
    return std::vector<std::string>{};
  }
  Result<std::vector<SessionCount>> sessionCounts(const std::string&, const std::string&) override {
    return std::vector<SessionCount>{};
  }
  Result<std::vector<DaySummary>> summaries(const std::string&, const std::string&) override {
    return std::vector<DaySummary>{};
  }
  Result<bool> claimReport(const std::string&, const std::string&, const std::string&, int64_t,
                           int64_t) override {
    return false;
  }
  Status finishReport(const std::string&, const std::string&, const std::string&,
                      const ReportOutcome&) override {
    return makeError("refusing store: not claimed");
  }
  Result<std::optional<ReportState>> reportState(const std::string&, const std::string&) override {
    return std::optional<ReportState>{};
  }
  Result<ReceivedAdd> addReceivedReport(const StoredReceivedReport&) override {
    ++add_received_calls;
    return makeError("refusing store: database is locked");
  }
  Result<std::optional<std::string>> receivedReportRaw(const std::string&, const std::string&) override {
    return std::optional<std::string>{};
  }
  Result<std::vector<ReceivedSummary>> receivedSummaries() override { return std::vector<ReceivedSummary>{}; }
  Result<std::vector<std::string>> receivedReportIds(const std::string&, const std::string&,
                                                     const std::string&) override {
    return std::vector<std::string>{};
  }
};

class AdminRoutesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // as the daemon does
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }

  void SetUp() override {
    char tmpl[] = "/tmp/admin-routes-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_async_init(&loop_, &bridge_,
                  [](uv_async_t* a) { static_cast<AdminRoutesTest*>(a->data)->runPosted(); });
    bridge_.data = this;
    // A real queue manager with nothing to deliver through: no spool, committer,
    // resolver or observers. Drained at once, so it never starts a delivery job
    // nor keeps a timer armed; lookups (findMessage) work as in the daemon.
    engine_ = std::make_unique<DeliveryEngine>(&loop_, nullptr, nullptr, nullptr, nullptr);
    engine_->configure(std::make_shared<DeliveryConfig>(), std::make_shared<PolicySet>());
    engine_->drain([] {});
  }

  void TearDown() override {
    if (!finished_) {
      EXPECT_EQ(finish(), 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path malformedDir() const { return dir_ / "malformed"; }

  // The routes as daemon.cc wires them, with `store` (and a ReportService on
  // it) behind the report routes; the server listening.
  void serve(ReportStore* store) {
    AdminHttpConfig config;
    config.listen = "127.0.0.1:0";
    config.public_paths.push_back(kReportPath);
    server_ = std::make_unique<AdminHttpServer>(&loop_, std::move(config));
    if (store != nullptr) {
      reports_ = std::make_unique<ReportService>(
          &loop_, store, nullptr,
          [](LocalMessage, LocalSubmission::Done) { ADD_FAILURE() << "nothing is mailed"; },
          [] { return int64_t{1796601600}; });
      ReportServiceSettings settings;
      settings.malformed_directory = malformedDir().string();
      reports_->configure(std::move(settings));
    }
    AdminRouteSources s;
    s.loop = &loop_;
    s.engine = engine_.get();
    s.metrics = [] { return MetricsSources{}; };
    s.status = [] { return DaemonStatus{}; };
    s.draining = [] { return false; };
    s.report_store = store;
    s.reports = reports_.get();
    s.report_sender = [] { return ReportSender{"Example Relay", "relay.example.net", "", "", "node-a"}; };
    s.report_path = kReportPath;
    busy_ = addAdminRoutes(*server_, std::move(s));
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  // A message in the queue as the spool would hand it over (loop thread).
  void enqueue(const std::string& id) {
    auto env = std::make_shared<Envelope>();
    env->queue_id = id;
    env->mail_from = "sender@example.org";
    env->recipients.push_back(Recipient{"rcpt@example.com", "", "", RecipientState::Pending, 2, "451 later"});
    env->received_at = 1796601600;
    env->next_attempt_at = 1796601600 + 30 * 86400;
    env->size = 1234;
    env->client_ip = "192.0.2.7";
    engine_->enqueue(env, std::make_shared<const std::string>("Subject: x\r\n\r\nbody\r\n"));
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  HttpTestReply post(const std::string& body, const std::string& content_type) const {
    HttpTestRequest r{url(kReportPath), "POST", &body, {"Content-Type: " + content_type}};
    return httpFetch(r);
  }

  HttpTestReply get(const std::string& path) const { return httpFetch({url(path)}); }

  // Runs `client` on a thread of its own while the loop serves; its result.
  template <class F>
  auto whileServing(F client) {
    auto done = std::async(std::launch::async, [this, &client] {
      auto result = client();
      postToLoop([this] { uv_stop(&loop_); });
      return result;
    });
    uv_timer_t watchdog;
    uv_timer_init(&loop_, &watchdog);
    uv_timer_start(
        &watchdog, [](uv_timer_t* t) { uv_stop(t->loop); }, 30000, 0);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
    auto result = done.get();
    uv_run(&loop_, UV_RUN_NOWAIT);
    EXPECT_FALSE(busy_ && busy_()) << "a store query or ingest is still running after its reply";
    return result;
  }

  // stop(), the loop run dry, everything freed, then uv_loop_close().
  int finish() {
    finished_ = true;
    if (server_) server_->stop();
    uv_close(reinterpret_cast<uv_handle_t*>(&bridge_), nullptr);
    uv_timer_t watchdog;
    uv_timer_init(&loop_, &watchdog);
    uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog));
    bool fired = false;
    watchdog.data = &fired;
    uv_timer_start(
        &watchdog,
        [](uv_timer_t* t) {
          *static_cast<bool*>(t->data) = true;
          uv_stop(t->loop);
        },
        15000, 0);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_FALSE(fired) << "the loop did not run dry after stop()";
    if (server_) {
      EXPECT_TRUE(server_->closed());
    }
    server_.reset();  // drops the routes, which point at what follows
    busy_ = nullptr;
    reports_.reset();
    engine_.reset();  // closes its timer
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return uv_loop_close(&loop_);
  }

  fs::path dir_;
  uv_loop_t loop_{};
  std::unique_ptr<DeliveryEngine> engine_;
  std::unique_ptr<ReportService> reports_;
  std::unique_ptr<AdminHttpServer> server_;
  std::function<bool()> busy_;

 private:
  void postToLoop(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      posted_.push_back(std::move(fn));
    }
    uv_async_send(&bridge_);
  }

  void runPosted() {
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fns.swap(posted_);
    }
    for (auto& fn : fns) fn();
  }

  uv_async_t bridge_{};
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  bool finished_ = false;
};

// --- POST <report_path> ----------------------------------------------------

TEST_F(AdminRoutesTest, AReportTheStoreCannotStoreIs503SoTheSenderRetries) {
  RefusingStore store;
  serve(&store);
  const std::string gz = gzipCompress(fixture("rfc8460-example.json"));
  const std::string plain = fixture("rfc8460-example.json");
  auto replies = whileServing([&] {
    return std::vector{post(gz, "application/tlsrpt+gzip"), post(plain, "application/tlsrpt+json")};
  });
  for (const auto& reply : replies) {
    EXPECT_EQ(reply.error, "");
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(reply.body, "cannot store the report now; try again later\n");
  }
  EXPECT_EQ(store.add_received_calls, 2) << "the 503 must come from the store refusing, not the reader";
  EXPECT_TRUE(filesIn(malformedDir()).empty()) << "a readable report is not set aside as malformed";
}

TEST_F(AdminRoutesTest, AReportIsStored201ThenADuplicateIs200) {
  auto store = openSqliteReportStore((dir_ / "reports.sqlite").string());
  ASSERT_TRUE(store.ok()) << store.error().message;
  serve(store->get());
  const std::string plain = fixture("rfc8460-example.json");
  const std::string gz = gzipCompress(plain);
  auto replies = whileServing([&] {
    return std::vector{
        post(gz, "application/tlsrpt+gzip"), post(gz, "application/tlsrpt+gzip"),
        // the same organization and report-id in the other packaging
        post(plain, "Application/TLSRPT+JSON; charset=utf-8"),
        get("/api/reports/received/report?organization=Company-X&id=" + std::string(kReportId))};
  });
  EXPECT_EQ(replies[0].status, 201) << replies[0].body;
  EXPECT_EQ(replies[0].body, "report " + std::string(kReportId) + " stored\n");
  EXPECT_EQ(replies[1].status, 200) << replies[1].body;
  EXPECT_EQ(replies[1].body, "report " + std::string(kReportId) + " was already stored\n");
  EXPECT_EQ(replies[2].status, 200) << replies[2].body;
  EXPECT_EQ(replies[2].body, "report " + std::string(kReportId) + " was already stored\n");
  // Shown as received, decompressed.
  EXPECT_EQ(replies[3].status, 200);
  EXPECT_EQ(contentType(replies[3]), "application/tlsrpt+json");
  EXPECT_EQ(replies[3].body, plain);
  auto raw = (*store)->receivedReportRaw("Company-X", kReportId);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ(**raw, gz) << "the first copy's bytes, as posted";
  auto summaries = (*store)->receivedSummaries();
  ASSERT_TRUE(summaries.ok());
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ((*summaries)[0].reports, 1u);
  EXPECT_TRUE(filesIn(malformedDir()).empty());
}

TEST_F(AdminRoutesTest, ACorruptGzipBodyIs400AndStoresNothing) {
  auto store = openSqliteReportStore((dir_ / "reports.sqlite").string());
  ASSERT_TRUE(store.ok()) << store.error().message;
  serve(store->get());
  std::string corrupt = gzipCompress(fixture("rfc8460-example.json"));
  ASSERT_GT(corrupt.size(), 40u);
  // The gzip magic stays, so it is read as gzip; the deflate data does not.
  for (size_t i = 12; i < corrupt.size() - 8; i += 3) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  ASSERT_TRUE(looksGzipped(corrupt));
  ASSERT_FALSE(gzipDecompress(corrupt, 1 << 20).ok());
  auto reply = whileServing([&] { return post(corrupt, "application/tlsrpt+gzip"); });
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.rfind("not a TLS report we can read: ", 0), 0u) << reply.body;
  auto summaries = (*store)->receivedSummaries();
  ASSERT_TRUE(summaries.ok());
  EXPECT_TRUE(summaries->empty());
  auto raw = (*store)->receivedReportRaw("Company-X", kReportId);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->has_value());
  // 400 only because it is kept for inspection, byte for byte.
  auto kept = filesIn(malformedDir());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(readFile(kept[0]), corrupt);
}

TEST_F(AdminRoutesTest, ValidGzipOfInvalidJsonIs400AndStoresNothing) {
  auto store = openSqliteReportStore((dir_ / "reports.sqlite").string());
  ASSERT_TRUE(store.ok()) << store.error().message;
  serve(store->get());
  const std::string gz = gzipCompress("{\"organization-name\": \"Company-X\", \"policies\": [");
  auto reply = whileServing([&] { return post(gz, "application/tlsrpt+gzip"); });
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.rfind("not a TLS report we can read: not JSON", 0), 0u) << reply.body;
  auto summaries = (*store)->receivedSummaries();
  ASSERT_TRUE(summaries.ok());
  EXPECT_TRUE(summaries->empty());
  auto kept = filesIn(malformedDir());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(readFile(kept[0]), gz);
}

// --- GET /api/queue/<id> ---------------------------------------------------
// The server hands the routes the percent-decoded, dot-segment-free path
// (H2O's path_normalized: every %XX decoded, a malformed escape kept); the
// route then decodes %XX in the id once more, and answers 404 with
// {"error": "no queued message <id, printable>"} when the engine does not hold
// it. These cases decode the same either way.

TEST_F(AdminRoutesTest, AQueuedIdIsFoundPlainOrPercentEscaped) {
  serve(nullptr);
  enqueue(kQueuedId);
  auto replies = whileServing([&] {
    return std::vector{get(std::string("/api/queue/") + kQueuedId),
                       get("/api/queue/" + percentEncodeAll(kQueuedId)),
                       get("/api/queue/" + percentEncodeAll(kQueuedId, /*lower_case=*/true)),
                       // only some characters escaped
                       get("/api/queue/%30" + std::string(kQueuedId).substr(1))};
  });
  for (const auto& reply : replies) {
    EXPECT_EQ(reply.error, "");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(contentType(reply), "application/json");
    auto j = json::parse(reply.body);
    EXPECT_EQ(j["queue_id"], kQueuedId);
    EXPECT_EQ(j["sender"], "sender@example.org");
    EXPECT_EQ(j["size"], 1234);
    EXPECT_EQ(j["client_ip"], "192.0.2.7");
    ASSERT_EQ(j["recipients"].size(), 1u);
    EXPECT_EQ(j["recipients"][0]["address"], "rcpt@example.com");
    EXPECT_EQ(j["recipients"][0]["state"], "pending");
    EXPECT_EQ(j["recipients"][0]["attempts"], 2);
    EXPECT_EQ(j["recipients"][0]["last_response"], "451 later");
  }
}

TEST_F(AdminRoutesTest, AnIdThatIsNotQueuedIs404NamingTheDecodedId) {
  serve(nullptr);
  enqueue(kQueuedId);
  auto replies = whileServing([&] {
    return std::vector{
        // a valid id that is not queued (the queued one, one digit off)
        get("/api/queue/1005F1A2B3C4D50000DEADBEEF"),
        // characters a queue id never has, each escaped: space, '/', '?', '#', '%'
        get("/api/queue/no%20such%2Fid%3F%23%25"),
        // a NUL and a control character decode, and are shown as '?'
        get("/api/queue/a%00b%0Ac"),
        // the queued id with a character more, escaped
        get("/api/queue/" + std::string(kQueuedId) + "%2F"),
        // a '%' without two hex digits stays as it is
        get("/api/queue/%zz%4"),
        // no id at all
        get("/api/queue/"),
    };
  });
  const std::vector<std::string> shown = {
      "1005F1A2B3C4D50000DEADBEEF", "no such/id?#%", "a?b?c", std::string(kQueuedId) + "/", "%zz%4", "",
  };
  ASSERT_EQ(replies.size(), shown.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(replies[i].error, "");
    EXPECT_EQ(replies[i].status, 404) << replies[i].body;
    EXPECT_EQ(contentType(replies[i]), "application/json");
    EXPECT_EQ(json::parse(replies[i].body), (json{{"error", "no queued message " + shown[i]}}));
  }
}

// What decoding a path segment exactly once gives: "%25" is a literal '%', so
// "%2530..." names the id "%30...", and '+' is a literal '+' (RFC 3986; only a
// form-encoded query makes it a space). H2O decodes the path; the routes must
// not decode it again.
TEST_F(AdminRoutesTest, AnEscapedIdIsDecodedExactlyOnce) {
  serve(nullptr);
  enqueue(kQueuedId);
  auto replies = whileServing([&] {
    // "%2530..." is the id "%30..." (a '%', then the id's own characters), not "0...".
    return std::vector{get("/api/queue/%2530" + std::string(kQueuedId).substr(1)), get("/api/queue/a+b")};
  });
  EXPECT_EQ(replies[0].status, 404) << "the queued message was found under another id: " << replies[0].body;
  EXPECT_EQ(replies[1].status, 404);
  EXPECT_EQ(json::parse(replies[1].body), (json{{"error", "no queued message a+b"}}));
}

}  // namespace
}  // namespace tlsrelay
