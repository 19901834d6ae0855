// The admin HTTP server against real clients on 127.0.0.1 (port 0): libcurl
// for ordinary requests and HTTPS, a plain socket where the bytes on the wire
// matter (body limits, keep-alive, a client that never reads). The server runs
// on this thread's uv loop; each client runs on a thread of its own. Every test
// ends with stop(), the loop run dry and uv_loop_close() == 0.
#include "relay/admin/admin_http_server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/unit/http_test_client.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using CurlReply = http_test::HttpTestReply;
using CurlRequest = http_test::HttpTestRequest;

CurlReply fetch(const CurlRequest& r) {
  return http_test::httpFetch(r);
}

// A plain TCP client on 127.0.0.1. -1 when the connection failed.
int connectTo(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool sendAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `enough(bytes so far)`, end of file or the timeout; `eof` tells
// whether the peer closed.
std::string readUntil(int fd, int timeout_ms, bool* eof,
                      const std::function<bool(const std::string&)>& enough) {
  std::string got;
  const auto deadline = Clock::now() + milliseconds(timeout_ms);
  if (eof) *eof = false;
  while (!enough(got)) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (eof) *eof = true;
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// One request on a fresh connection, everything the server sends until it closes.
std::string rawExchange(uint16_t port, const std::string& request) {
  int fd = connectTo(port);
  if (fd < 0) return "connect failed";
  sendAll(fd, request);
  std::string got = readUntil(fd, 5000, nullptr, [](const std::string&) { return false; });
  ::close(fd);
  return got;
}

// Waits (bounded) for a flag the loop thread sets; false when it never came.
bool waitFor(const std::atomic<bool>& flag, milliseconds limit = milliseconds(5000)) {
  const auto deadline = Clock::now() + limit;
  while (!flag && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(5));
  return flag;
}

std::string statusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

// True once `response` holds a complete head and Content-Length bytes of body.
bool completeResponse(const std::string& response) {
  auto end = response.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  auto at = response.find("Content-Length: ");
  if (at == std::string::npos || at > end) return true;
  return response.size() >= end + 4 + std::stoul(response.substr(at + 16));
}

class AdminHttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::signal(SIGPIPE, SIG_IGN);  // as the daemon does
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }

  void SetUp() override {
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    uv_async_init(&loop_, &bridge_,
                  [](uv_async_t* a) { static_cast<AdminHttpServerTest*>(a->data)->runPosted(); });
    bridge_.data = this;
  }

  void TearDown() override {
    if (!finished_) {
      EXPECT_EQ(finish(), 0);
    }
  }

  AdminHttpServer& makeServer(AdminHttpConfig config = {}) {
    if (config.listen == AdminHttpConfig{}.listen) config.listen = "127.0.0.1:0";
    server_ = std::make_unique<AdminHttpServer>(&loop_, std::move(config));
    return *server_;
  }

  void startServer() {
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  std::string url(const std::string& path, const char* scheme = "http", const char* host = "127.0.0.1") {
    return std::string(scheme) + "://" + host + ":" + std::to_string(server_->port()) + path;
  }

  // Runs `client` on a thread of its own while the loop serves; its result.
  template <class F>
  auto whileServing(F client) {
    auto done = std::async(std::launch::async, [this, &client] {
      auto result = client();
      post([this] { uv_stop(&loop_); });
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
    return result;
  }

  // From a client thread: runs `fn` on the loop thread and waits for it.
  void onLoop(std::function<void()> fn) {
    std::promise<void> ran;
    post([&] {
      fn();
      ran.set_value();
    });
    ran.get_future().wait();
  }

  // stop(), the loop run until nothing is left, then uv_loop_close().
  int finish() {
    finished_ = true;
    ::testing::internal::CaptureStderr();
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
    const std::string logged = ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(fired) << "the loop did not run dry after stop()";
    // H2O's context was disposed with nothing left linked to its timers.
    EXPECT_EQ(logged.find("still has entries"), std::string::npos) << logged;
    if (server_) {
      EXPECT_TRUE(server_->closed());
    }
    server_.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return uv_loop_close(&loop_);
  }

  uv_loop_t loop_{};
  std::unique_ptr<AdminHttpServer> server_;

 private:
  void post(std::function<void()> fn) {
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

TEST_F(AdminHttpServerTest, RouteAnswersWithBodyContentTypeAndHeaders) {
  auto& server = makeServer();
  std::string seen_peer;
  server.addRoute("GET", "/status", [&](const HttpRequest& req) {
    seen_peer = req.peer;
    HttpResponse r;
    r.content_type = "application/json";
    r.body = "{\"ok\":true}";
    r.headers.emplace_back("X-Admin", "yes");
    r.headers.emplace_back("Content-Length", "999");  // the server's own: dropped
    r.headers.emplace_back("X-Evil", "a\r\nInjected: 1");
    return r;
  });
  startServer();
  auto reply = whileServing([&] { return fetch({url("/status")}); });
  EXPECT_EQ(reply.error, "");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "{\"ok\":true}");
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  EXPECT_EQ(reply.headers["content-length"], "11");
  EXPECT_EQ(reply.headers["x-admin"], "yes");
  EXPECT_EQ(reply.headers.count("x-evil"), 0u);
  EXPECT_EQ(reply.headers.count("injected"), 0u);
  EXPECT_EQ(reply.headers.count("server"), 0u);
  EXPECT_EQ(seen_peer.rfind("127.0.0.1:", 0), 0u) << seen_peer;
}

TEST_F(AdminHttpServerTest, UnknownPathIs404) {
  auto& server = makeServer();
  server.addRoute("GET", "/status", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  startServer();
  auto replies = whileServing([&] {
    return std::vector{fetch({url("/nope")}), fetch({url("/status/more")})};
  });
  EXPECT_EQ(replies[0].status, 404);
  EXPECT_EQ(replies[1].status, 404);  // an exact route is no prefix
}

TEST_F(AdminHttpServerTest, WrongMethodIs405WithAllow) {
  auto& server = makeServer();
  server.addRoute("PUT", "/thing", [](const HttpRequest&) { return HttpResponse::text(200, "put"); });
  server.addRoute("GET", "/thing", [](const HttpRequest&) { return HttpResponse::text(200, "get"); });
  startServer();
  server.addRoute("HEAD", "/own-head", [](const HttpRequest&) { return HttpResponse::text(204, ""); });
  server.addRoute("GET", "/own-head", [](const HttpRequest&) { return HttpResponse::text(200, "get"); });
  auto replies = whileServing([&] {
    CurlRequest post{url("/thing"), "DELETE"};
    return std::vector{fetch(post), fetch({url("/thing"), "PUT"}), fetch({url("/thing"), "HEAD"}),
                       fetch({url("/own-head"), "HEAD"})};
  });
  EXPECT_EQ(replies[0].status, 405);
  EXPECT_EQ(replies[0].headers["allow"], "GET, HEAD, PUT");
  EXPECT_EQ(replies[1].status, 200);
  EXPECT_EQ(replies[1].body, "put");
  // HEAD is answered by the GET route, without the body but with its length.
  EXPECT_EQ(replies[2].status, 200) << replies[2].error;
  EXPECT_EQ(replies[2].body, "");
  EXPECT_EQ(replies[2].headers["content-length"], "3");
  EXPECT_EQ(replies[3].status, 204);  // a HEAD route of its own wins over GET
}

TEST_F(AdminHttpServerTest, OnlyFinalStatusesAreSentAndUnknownOnesHaveNoMadeUpReason) {
  auto& server = makeServer();
  server.addRoute("GET", "/early", [](const HttpRequest&) { return HttpResponse::text(103, "hints"); });
  server.addRoute("GET", "/odd", [](const HttpRequest&) { return HttpResponse::text(299, "odd"); });
  server.addRoute("GET", "/teapot", [](const HttpRequest&) { return HttpResponse::text(418, "short"); });
  startServer();
  const uint16_t port = server.port();
  auto replies = whileServing([&] {
    std::vector<std::string> out;
    for (const char* path : {"/early", "/odd", "/teapot"})
      out.push_back(rawExchange(
          port, std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    return out;
  });
  EXPECT_EQ(statusLine(replies[0]), "HTTP/1.1 500 Internal Server Error");  // a 1xx would pose as final
  EXPECT_EQ(statusLine(replies[1]), "HTTP/1.1 299 ");
  EXPECT_EQ(statusLine(replies[2]), "HTTP/1.1 418 ");
}

TEST_F(AdminHttpServerTest, PrefixRoutesSeePathAndQueryAndExactWins) {
  auto& server = makeServer();
  HttpRequest seen;
  server.addRoute(
      "GET", "/reports/",
      [&](const HttpRequest& req) {
        seen = req;
        return HttpResponse::text(200, "prefix");
      },
      AdminHttpServer::Match::kPrefix);
  server.addRoute(
      "GET", "/reports/x/", [](const HttpRequest&) { return HttpResponse::text(200, "longer prefix"); },
      AdminHttpServer::Match::kPrefix);
  server.addRoute("GET", "/reports/special",
                  [](const HttpRequest&) { return HttpResponse::text(200, "exact"); });
  startServer();
  auto replies = whileServing([&] {
    CurlRequest r{url("/reports/2026-01-02?domain=example.com&x=1")};
    r.headers = {"X-Trace: abc"};
    return std::vector{fetch(r), fetch({url("/reports/special")}), fetch({url("/reports/x/y")}),
                       fetch({url("/reports/a/../x/z")})};
  });
  EXPECT_EQ(replies[0].body, "prefix");
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/reports/2026-01-02");
  EXPECT_EQ(seen.query, "domain=example.com&x=1");
  ASSERT_NE(seen.header("X-TRACE"), nullptr);
  EXPECT_EQ(*seen.header("x-trace"), "abc");
  EXPECT_EQ(replies[1].body, "exact");
  EXPECT_EQ(replies[2].body, "longer prefix");
  EXPECT_EQ(replies[3].body, "longer prefix");  // routed on the normalized path
}

TEST_F(AdminHttpServerTest, BearerTokenGuardsAllButProbes) {
  AdminHttpConfig config;
  config.bearer_token = "s3cret-token";
  auto& server = makeServer(config);
  bool authorization_visible = false;
  server.addRoute("GET", "/metrics", [&](const HttpRequest& req) {
    authorization_visible = req.header("authorization") != nullptr;
    return HttpResponse::text(200, "metrics");
  });
  server.addRoute("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::text(200, "healthy"); });
  server.addRoute("GET", "/readyz", [](const HttpRequest&) { return HttpResponse::text(200, "ready"); });
  startServer();
  auto replies = whileServing([&] {
    CurlRequest good{url("/metrics")}, wrong{url("/metrics")}, longer{url("/metrics")},
        lower{url("/metrics")}, basic{url("/metrics")}, unknown{url("/nope")}, browser{url("/metrics")},
        browser_wrong{url("/metrics")};
    good.headers = {"Authorization: Bearer s3cret-token"};
    wrong.headers = {"Authorization: Bearer s3cret-tokex"};
    longer.headers = {"Authorization: Bearer s3cret-token2"};
    lower.headers = {"Authorization: bearer s3cret-token"};
    basic.headers = {"Authorization: Basic czNjcmV0LXRva2Vu"};                  // the token without "user:"
    browser.headers = {"Authorization: Basic YWRtaW46czNjcmV0LXRva2Vu"};        // admin:s3cret-token
    browser_wrong.headers = {"Authorization: Basic YWRtaW46czNjcmV0LXRva2V4"};  // admin:s3cret-tokex
    return std::vector{fetch({url("/metrics")}),
                       fetch(wrong),
                       fetch(longer),
                       fetch(basic),
                       fetch(good),
                       fetch(lower),
                       fetch({url("/healthz")}),
                       fetch({url("/readyz")}),
                       fetch(unknown),
                       fetch(browser),
                       fetch(browser_wrong)};
  });
  EXPECT_EQ(replies[0].status, 401);
  // Bearer first (RFC 6750 §3), then Basic, so a browser asks for the token as a password.
  EXPECT_EQ(replies[0].headers["www-authenticate"],
            "Bearer realm=\"tlsrelay\"\nBasic realm=\"tlsrelay\", charset=\"UTF-8\"");
  EXPECT_EQ(replies[0].body.find("metrics"), std::string::npos);
  EXPECT_EQ(replies[1].status, 401);
  EXPECT_NE(replies[1].headers["www-authenticate"].find("error=\"invalid_token\""), std::string::npos);
  EXPECT_EQ(replies[2].status, 401);
  EXPECT_EQ(replies[3].status, 401);
  EXPECT_EQ(replies[4].status, 200);
  EXPECT_EQ(replies[4].body, "metrics");
  EXPECT_EQ(replies[5].status, 200);  // the scheme is case-insensitive
  EXPECT_EQ(replies[6].status, 200);
  EXPECT_EQ(replies[6].body, "healthy");
  EXPECT_EQ(replies[7].status, 200);
  EXPECT_EQ(replies[8].status, 401);  // no route discovery without the token
  EXPECT_EQ(replies[9].status, 200);  // Basic, the token as the password
  EXPECT_EQ(replies[10].status, 401);
  EXPECT_FALSE(authorization_visible);
}

TEST_F(AdminHttpServerTest, PublicPathsNeedNoTokenAndNothingElseOpensWithThem) {
  AdminHttpConfig config;
  config.bearer_token = "s3cret-token";
  config.public_paths = {"/tlsrpt"};
  auto& server = makeServer(config);
  server.addRoute("POST", "/tlsrpt",
                  [](const HttpRequest& req) { return HttpResponse::text(201, req.body); });
  server.addRoute(
      "POST", "/tlsrpt/", [](const HttpRequest&) { return HttpResponse::text(200, "below"); },
      AdminHttpServer::Match::kPrefix);
  startServer();
  const std::string report = "{}";
  auto replies = whileServing([&] {
    CurlRequest post{url("/tlsrpt"), "POST", &report}, below{url("/tlsrpt/x"), "POST", &report};
    return std::vector{fetch(post), fetch(below)};
  });
  EXPECT_EQ(replies[0].status, 201);
  EXPECT_EQ(replies[0].body, "{}");
  EXPECT_EQ(replies[1].status, 401);  // exact paths only: nothing below one is opened
}

TEST_F(AdminHttpServerTest, BodiesOverTheLimitGet413) {
  AdminHttpConfig config;
  config.max_body_bytes = 1000;
  auto& server = makeServer(config);
  size_t largest_seen = 0;
  server.addRoute("POST", "/upload", [&](const HttpRequest& req) {
    largest_seen = std::max(largest_seen, req.body.size());
    return HttpResponse::text(200, "stored " + std::to_string(req.body.size()));
  });
  startServer();
  const uint16_t port = server.port();
  auto replies = whileServing([&] {
    auto request = [](size_t length, const std::string& body) {
      return "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
             std::to_string(length) + "\r\n\r\n" + body;
    };
    std::string chunked =
        "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) chunked += "190\r\n" + std::string(400, 'c') + "\r\n";  // 1200 bytes
    chunked += "0\r\n\r\n";
    std::string chunked_ok =
        "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    chunked_ok += "3e8\r\n" + std::string(1000, 'k') + "\r\n0\r\n\r\n";
    return std::vector{rawExchange(port, request(10 << 20, "")),                  // announced, never sent
                       rawExchange(port, request(1001, std::string(1001, 'b'))),  // one byte too many
                       rawExchange(port, chunked), rawExchange(port, request(1000, std::string(1000, 'a'))),
                       rawExchange(port, chunked_ok)};
  });
  EXPECT_EQ(statusLine(replies[0]), "HTTP/1.1 413 Request Entity Too Large");
  EXPECT_EQ(statusLine(replies[1]), "HTTP/1.1 413 Request Entity Too Large");  // ours, same phrase as H2O's
  EXPECT_EQ(statusLine(replies[2]), "HTTP/1.1 413 Request Entity Too Large");
  EXPECT_EQ(statusLine(replies[3]), "HTTP/1.1 200 OK");
  EXPECT_NE(replies[3].find("stored 1000"), std::string::npos);
  EXPECT_EQ(statusLine(replies[4]), "HTTP/1.1 200 OK");
  EXPECT_EQ(largest_seen, 1000u);
}

TEST_F(AdminHttpServerTest, AsyncHandlerRepliesLaterFromATimer) {
  auto& server = makeServer();
  struct Later {
    uv_timer_t timer;
    AdminHttpServer::Reply reply;
    std::string body;
  };
  server.addAsyncRoute("POST", "/slow", [&](HttpRequest req, AdminHttpServer::Reply reply) {
    auto* later = new Later{{}, std::move(reply), std::move(req.body)};
    uv_timer_init(&loop_, &later->timer);
    later->timer.data = later;
    uv_timer_start(
        &later->timer,
        [](uv_timer_t* t) {
          auto* l = static_cast<Later*>(t->data);
          HttpResponse r = HttpResponse::text(202, "later: " + l->body);
          r.content_type = "application/x-later";
          l->reply(r);
          l->reply(HttpResponse::text(500, "twice"));  // a second call does nothing
          uv_close(reinterpret_cast<uv_handle_t*>(t),
                   [](uv_handle_t* h) { delete static_cast<Later*>(h->data); });
        },
        300, 0);
  });
  server.addRoute("GET", "/fast", [](const HttpRequest&) { return HttpResponse::text(200, "fast"); });
  startServer();
  struct Outcome {
    CurlReply slow, fast;
    long slow_ms, fast_ms;
  };
  auto outcome = whileServing([&] {
    const auto t0 = Clock::now();
    auto ms = [t0] { return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count(); };
    auto slow = std::async(std::launch::async, [&] {
      std::string body = "report";
      CurlRequest r{url("/slow"), "POST", &body};
      auto reply = fetch(r);
      return std::make_pair(reply, ms());
    });
    std::this_thread::sleep_for(milliseconds(50));
    CurlReply fast = fetch({url("/fast")});  // the loop serves others meanwhile
    long fast_ms = ms();
    auto [slow_reply, slow_ms] = slow.get();
    return Outcome{slow_reply, fast, slow_ms, fast_ms};
  });
  EXPECT_EQ(outcome.slow.status, 202);
  EXPECT_EQ(outcome.slow.body, "later: report");
  EXPECT_EQ(outcome.slow.headers["content-type"], "application/x-later");
  EXPECT_GE(outcome.slow_ms, 290);
  EXPECT_EQ(outcome.fast.status, 200);
  EXPECT_LT(outcome.fast_ms, outcome.slow_ms);
}

TEST_F(AdminHttpServerTest, PostedBinaryBodyArrivesIntact) {
  auto& server = makeServer();
  std::string received;
  std::string content_type;
  server.addAsyncRoute("POST", "/tlsrpt", [&](HttpRequest req, AdminHttpServer::Reply reply) {
    received = req.body;
    content_type = req.header("content-type") ? *req.header("content-type") : "";
    HttpResponse r;
    r.content_type = "application/octet-stream";
    r.body = std::move(req.body);
    reply(std::move(r));
  });
  startServer();
  std::string body;
  for (int round = 0; round < 300; ++round)
    for (int b = 0; b < 256; ++b) body.push_back(static_cast<char>((b * 7 + round) & 0xff));
  body.insert(0, std::string(5, '\0'));
  auto reply = whileServing([&] {
    CurlRequest r{url("/tlsrpt"), "POST", &body};
    r.headers = {"Content-Type: application/tlsrpt+gzip"};
    return fetch(r);
  });
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(received.size(), body.size());
  EXPECT_TRUE(received == body);
  EXPECT_TRUE(reply.body == body);  // and back out, NULs included
  EXPECT_EQ(content_type, "application/tlsrpt+gzip");
}

TEST_F(AdminHttpServerTest, HandlerExceptionIs500) {
  auto& server = makeServer();
  server.addRoute("GET", "/boom",
                  [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  server.addAsyncRoute("GET", "/boom-later",
                       [](HttpRequest, AdminHttpServer::Reply) { throw std::runtime_error("boom"); });
  startServer();
  auto replies = whileServing([&] {
    return std::vector{fetch({url("/boom")}), fetch({url("/boom-later")})};
  });
  EXPECT_EQ(replies[0].status, 500);
  EXPECT_EQ(replies[1].status, 500);
}

TEST_F(AdminHttpServerTest, ServesHttpsWithTheConfiguredCertificate) {
  std::string tmpl = (fs::temp_directory_path() / "tlsrelay-admin-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string cmd = "bash " + std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/test_ca.sh " +
                          (dir / "ca").string() + " localhost >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  AdminHttpConfig config;
  config.tls_certificate_file = (dir / "ca" / "localhost.pem").string();
  config.tls_key_file = (dir / "ca" / "localhost.key").string();
  config.bearer_token = "tls-token";
  auto& server = makeServer(config);
  server.addRoute("POST", "/echo",
                  [](const HttpRequest& req) { return HttpResponse::text(200, "tls:" + req.body); });
  startServer();
  const std::string ca = (dir / "ca" / "ca.pem").string();
  const std::string untrusted = (dir / "ca" / "untrusted-ca.pem").string();
  auto replies = whileServing([&] {
    std::string body = "over tls";
    CurlRequest secure{url("/echo", "https", "localhost"), "POST", &body};
    secure.ca_file = ca;
    secure.headers = {"Authorization: Bearer tls-token"};
    CurlRequest wrong_ca = secure;
    wrong_ca.ca_file = untrusted;
    CurlRequest plain{url("/echo"), "POST", &body};
    plain.headers = secure.headers;
    return std::vector{fetch(secure), fetch(wrong_ca), fetch(plain)};
  });
  EXPECT_EQ(replies[0].error, "");
  EXPECT_EQ(replies[0].status, 200);
  EXPECT_EQ(replies[0].body, "tls:over tls");
  EXPECT_NE(replies[1].error, "");  // the server really presents that certificate
  // No plaintext HTTP on a TLS port (the first request shows it is listening).
  EXPECT_EQ(replies[2].status, 0);
  EXPECT_NE(replies[2].error, "");
  EXPECT_EQ(finish(), 0);
  fs::remove_all(dir);
}

TEST_F(AdminHttpServerTest, StopClosesIdleKeepAliveConnectionsAndTheLoopCloses) {
  AdminHttpConfig config;
  config.shutdown_grace_ms = 10000;  // idle connections must not wait for it
  auto& server = makeServer(config);
  server.addRoute("GET", "/x", [](const HttpRequest&) { return HttpResponse::text(200, "x"); });
  startServer();
  const uint16_t port = server.port();
  struct Outcome {
    std::string first;
    bool eof = false;
    long close_ms = 0;
    CurlReply after_stop;
  };
  auto outcome = whileServing([&] {
    Outcome o;
    int fd = connectTo(port);
    sendAll(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    o.first = readUntil(fd, 5000, nullptr, completeResponse);
    const auto t0 = Clock::now();
    onLoop([&] { server_->stop(); });
    readUntil(fd, 5000, &o.eof, [](const std::string&) { return false; });
    o.close_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
    ::close(fd);
    o.after_stop = fetch({url("/x")});
    return o;
  });
  EXPECT_EQ(statusLine(outcome.first), "HTTP/1.1 200 OK");
  EXPECT_NE(outcome.first.find("Connection: keep-alive"), std::string::npos);
  EXPECT_TRUE(outcome.eof);
  EXPECT_LT(outcome.close_ms, 2000);
  EXPECT_EQ(outcome.after_stop.status, 0);  // not listening any more
  EXPECT_NE(outcome.after_stop.error, "");
  EXPECT_EQ(finish(), 0);
}

TEST_F(AdminHttpServerTest, StopLetsARequestInFlightFinish) {
  AdminHttpConfig config;
  config.shutdown_grace_ms = 5000;
  auto& server = makeServer(config);
  AdminHttpServer::Reply held;
  std::atomic<bool> arrived{false};
  server.addAsyncRoute("GET", "/work", [&](HttpRequest, AdminHttpServer::Reply reply) {
    held = std::move(reply);
    arrived = true;
  });
  startServer();
  uv_timer_t later;
  uv_timer_init(&loop_, &later);
  later.data = &held;
  auto reply = whileServing([&] {
    auto pending = std::async(std::launch::async, [&] { return fetch({url("/work")}); });
    if (!waitFor(arrived)) ADD_FAILURE() << "the request never reached its handler";
    onLoop([&] {
      server_->stop();
      EXPECT_FALSE(server_->closed());  // a request is still in flight
      uv_timer_start(
          &later,
          [](uv_timer_t* t) {
            (*static_cast<AdminHttpServer::Reply*>(t->data))(HttpResponse::text(200, "done"));
          },
          200, 0);
    });
    return pending.get();
  });
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "done");
  EXPECT_EQ(reply.headers["connection"], "close");
  uv_close(reinterpret_cast<uv_handle_t*>(&later), nullptr);
  EXPECT_EQ(finish(), 0);
}

TEST_F(AdminHttpServerTest, StopAnswers503WhenTheGraceEnds) {
  AdminHttpConfig config;
  config.shutdown_grace_ms = 200;
  auto& server = makeServer(config);
  AdminHttpServer::Reply held;
  std::atomic<bool> arrived{false};
  server.addAsyncRoute("GET", "/never", [&](HttpRequest, AdminHttpServer::Reply reply) {
    held = std::move(reply);
    arrived = true;
  });
  startServer();
  auto reply = whileServing([&] {
    auto pending = std::async(std::launch::async, [&] { return fetch({url("/never")}); });
    if (!waitFor(arrived)) ADD_FAILURE() << "the request never reached its handler";
    onLoop([&] { server_->stop(); });
    auto r = pending.get();
    onLoop([&] { held(HttpResponse::text(200, "too late")); });  // the request is gone: nothing happens
    return r;
  });
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(finish(), 0);
  // Still harmless: the ASan run of this test is what proves no freed memory is touched.
  held(HttpResponse::text(200, "after the server is gone"));
}

TEST_F(AdminHttpServerTest, StopCutsAClientThatNeverReads) {
  AdminHttpConfig config;
  config.shutdown_grace_ms = 100;
  auto& server = makeServer(config);
  server.addRoute("GET", "/huge",
                  [](const HttpRequest&) { return HttpResponse::text(200, std::string(64 << 20, 'h')); });
  startServer();
  const uint16_t port = server.port();
  std::atomic<int> fd{-1};
  const auto t0 = Clock::now();
  whileServing([&] {
    fd = connectTo(port);
    sendAll(fd, "GET /huge HTTP/1.1\r\nHost: a\r\n\r\n");
    std::this_thread::sleep_for(milliseconds(300));  // the response fills the socket buffers
    onLoop([&] { server_->stop(); });
    return 0;
  });
  EXPECT_EQ(finish(), 0);  // finish() fails if the loop does not run dry within 15 s
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count(), 5000);
  ::close(fd);
}

TEST_F(AdminHttpServerTest, SlowRequestsAndExtraConnectionsAreCut) {
  AdminHttpConfig config;
  config.request_timeout_ms = 200;
  config.max_connections = 1;
  auto& server = makeServer(config);
  server.addRoute("GET", "/x", [](const HttpRequest&) { return HttpResponse::text(200, "x"); });
  startServer();
  const uint16_t port = server.port();
  struct Outcome {
    bool slow_eof = false, extra_eof = false;
    long slow_ms = 0;
    std::string slow_got, extra_got, after;
  };
  auto o = whileServing([&] {
    Outcome out;
    int slow = connectTo(port);
    sendAll(slow, "GET /x HTTP/1.1\r\nHost: a\r\n");  // the head never ends
    std::this_thread::sleep_for(milliseconds(50));
    int extra = connectTo(port);  // over the limit while `slow` is open
    sendAll(extra, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    out.extra_got = readUntil(extra, 3000, &out.extra_eof, [](const std::string&) { return false; });
    ::close(extra);
    const auto t0 = Clock::now();
    out.slow_got = readUntil(slow, 3000, &out.slow_eof, [](const std::string&) { return false; });
    out.slow_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
    ::close(slow);
    std::this_thread::sleep_for(milliseconds(50));
    out.after = rawExchange(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    return out;
  });
  EXPECT_TRUE(o.extra_eof);
  EXPECT_EQ(o.extra_got, "");  // closed without an answer
  EXPECT_TRUE(o.slow_eof);
  EXPECT_EQ(o.slow_got, "");
  EXPECT_LT(o.slow_ms, 1500);
  EXPECT_EQ(statusLine(o.after), "HTTP/1.1 200 OK");  // a slot is free again
}

TEST_F(AdminHttpServerTest, StartReportsBindFailuresAndBadSettings) {
  int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(blocker, 1), 0);
  socklen_t len = sizeof sa;
  ::getsockname(blocker, reinterpret_cast<sockaddr*>(&sa), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));

  auto errorFor = [&](AdminHttpConfig config) {
    AdminHttpServer server(&loop_, std::move(config));
    auto st = server.start();
    EXPECT_EQ(server.port(), 0);
    return st.ok() ? std::string("started") : st.error().message;
  };
  EXPECT_EQ(AdminHttpConfig{}.max_body_bytes, 10u << 20);
  EXPECT_EQ(AdminHttpConfig{}.listen, "127.0.0.1:8025");  // loopback unless configured
  AdminHttpConfig busy;
  busy.listen = taken;
  EXPECT_EQ(errorFor(busy), "cannot listen on " + taken + ": address already in use");
  AdminHttpConfig no_port;
  no_port.listen = "127.0.0.1";
  EXPECT_EQ(errorFor(no_port), "admin listen address '127.0.0.1': a port is required");
  AdminHttpConfig two_ports;  // not "127.0.0.1:80" with ":0" cut off
  two_ports.listen = "127.0.0.1:80:0";
  EXPECT_EQ(errorFor(two_ports), "admin listen address '127.0.0.1:80:0': a port is required");
  AdminHttpConfig name;
  name.listen = "localhost:8025";
  EXPECT_EQ(errorFor(name), "admin listen address 'localhost:8025': the host must be an IP literal");
  AdminHttpConfig half_tls;
  half_tls.listen = "127.0.0.1:0";
  half_tls.tls_certificate_file = "/nonexistent/cert.pem";
  EXPECT_EQ(errorFor(half_tls), "admin TLS needs both a certificate and a key file");
  AdminHttpConfig missing_tls = half_tls;
  missing_tls.tls_key_file = "/nonexistent/key.pem";
  const std::string missing = errorFor(missing_tls);
  EXPECT_NE(missing.find("/nonexistent/cert.pem"), std::string::npos) << missing;
  ::close(blocker);
  // The failed listener's handle is closed too (TearDown checks uv_loop_close).
}

TEST_F(AdminHttpServerTest, ListensOnIpv6Loopback) {
  int probe = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool have_v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (probe >= 0) ::close(probe);
  if (!have_v6) GTEST_SKIP() << "no IPv6 loopback here";
  AdminHttpConfig config;
  config.listen = "[::1]:0";
  auto& server = makeServer(config);
  server.addRoute("GET", "/healthz",
                  [](const HttpRequest& req) { return HttpResponse::text(200, req.peer); });
  startServer();
  auto reply = whileServing([&] { return fetch({url("/healthz", "http", "[::1]")}); });
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body.rfind("[::1]:", 0), 0u) << reply.body;
}

}  // namespace
}  // namespace tlsrelay
