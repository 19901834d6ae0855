// HTTPS report POSTs against a real local peer: tests/tools/tlsrpt_https_sink.py
// on 127.0.0.1 (port 0), with a private CA from tests/fixtures/test_ca.sh in a
// temporary directory. Checks what arrives (bytes, Content-Type), PKIX and
// host name verification, and which failures say "retry".
#include "reporting/https_report_poster.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "common/gzip.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The sink as a child process. Stopped (and its directory removed) by the
// destructor, so a failed assertion cannot leave either behind; if this
// process dies outright, PR_SET_PDEATHSIG and --parent-watch end the sink.
class Sink {
 public:
  fs::path dir;  // ca/ (certificates), posts/ (what the sink saved)
  int port = 0;

  ~Sink() { stop(); }

  // Returns "" or what went wrong.
  std::string start() {
    std::string tmpl = (fs::temp_directory_path() / "tlsrelay-tlsrpt-post-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return "mkdtemp failed";
    dir = tmpl;
    fs::create_directories(dir / "posts");
    const std::string src = TLSRELAY_SOURCE_DIR;
    const std::string cmd =
        "bash " + src + "/tests/fixtures/test_ca.sh " + (dir / "ca").string() + " localhost";
    if (std::system(cmd.c_str()) != 0) return "test_ca.sh failed: " + cmd;

    const std::vector<std::string> args = {"/usr/bin/python3",
                                           src + "/tests/tools/tlsrpt_https_sink.py",
                                           "--cert",
                                           (dir / "ca" / "localhost.pem").string(),
                                           "--key",
                                           (dir / "ca" / "localhost.key").string(),
                                           "--out-dir",
                                           (dir / "posts").string(),
                                           "--port",
                                           "0",
                                           "--parent-watch"};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return "pipe failed";
    pid_ = ::fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];

    // "port N\n" within 10 seconds.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return "sink did not start";
      char buf[64];
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) return "sink exited before listening";
      line.append(buf, static_cast<size_t>(n));
    }
    if (line.rfind("port ", 0) != 0) return "unexpected sink output: " + line;
    port = std::stoi(line.substr(5));
    return "";
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 50 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    for (int* fd : {&stdin_fd_, &stdout_fd_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
    if (!dir.empty()) {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
      dir.clear();
    }
  }

  struct Post {
    std::string path, content_type, body;
  };
  // What the sink saved for `path`, in arrival order.
  std::vector<Post> posts(const std::string& path) const {
    std::vector<fs::path> metas;
    for (const auto& e : fs::directory_iterator(dir / "posts"))
      if (e.path().extension() == ".json") metas.push_back(e.path());
    std::sort(metas.begin(), metas.end());
    std::vector<Post> out;
    for (const auto& m : metas) {
      auto j = nlohmann::json::parse(readFile(m));
      if (j.at("path") != path) continue;
      fs::path body = m;
      body.replace_extension(".body");
      out.push_back(
          {j.at("path").get<std::string>(), j.at("content_type").get<std::string>(), readFile(body)});
    }
    return out;
  }

  std::string url(const std::string& path, const std::string& host = "localhost") const {
    return "https://" + host + ":" + std::to_string(port) + path;
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1;
};

class HttpsReportPosterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sink_ = std::make_unique<Sink>();
    const std::string error = sink_->start();
    ASSERT_EQ(error, "");
  }
  static void TearDownTestSuite() { sink_.reset(); }

  void SetUp() override {
    if (!sink_ || sink_->port == 0) GTEST_SKIP() << "no sink";
    options_.ca_file = (sink_->dir / "ca" / "ca.pem").string();
    options_.connect_timeout = std::chrono::milliseconds(5000);
    options_.total_timeout = std::chrono::milliseconds(10000);
  }

  static std::string report() {
    std::mt19937 rng(8460);
    std::string bytes(4096, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);  // NULs and 8-bit octets survive
    return gzipCompress(bytes);
  }

  static std::unique_ptr<Sink> sink_;
  HttpsPostOptions options_;
};
std::unique_ptr<Sink> HttpsReportPosterTest::sink_;

TEST_F(HttpsReportPosterTest, DeliversTheBytesAsTlsrptGzip) {
  const std::string body = report();
  PostOutcome out = postTlsReport(sink_->url("/tlsrpt/deliver"), body, options_);
  EXPECT_TRUE(out.delivered) << out.detail;
  EXPECT_FALSE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::None);
  EXPECT_EQ(out.http_status, 200);
  auto posts = sink_->posts("/tlsrpt/deliver");
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].content_type, "application/tlsrpt+gzip");  // RFC 8460 §5.4
  EXPECT_EQ(posts[0].body, body);
}

TEST_F(HttpsReportPosterTest, AnyTwoHundredIsDelivered) {
  PostOutcome out = postTlsReport(sink_->url("/status/201"), report(), options_);
  EXPECT_TRUE(out.delivered) << out.detail;
  EXPECT_EQ(out.http_status, 201);
}

TEST_F(HttpsReportPosterTest, UntrustedCertificateIsNotRetried) {
  options_.ca_file.clear();  // the system store does not know our private CA
  PostOutcome out = postTlsReport(sink_->url("/tlsrpt/untrusted"), report(), options_);
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::Certificate) << out.detail;
  EXPECT_TRUE(sink_->posts("/tlsrpt/untrusted").empty());

  options_.ca_file = (sink_->dir / "ca" / "untrusted-ca.pem").string();  // some other CA
  out = postTlsReport(sink_->url("/tlsrpt/untrusted"), report(), options_);
  EXPECT_EQ(out.failure, PostFailure::Certificate) << out.detail;
}

TEST_F(HttpsReportPosterTest, CertificateMustNameTheHost) {
  // The certificate is for "localhost"; 127.0.0.1 is not among its names.
  PostOutcome out = postTlsReport(sink_->url("/tlsrpt/by-ip", "127.0.0.1"), report(), options_);
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::Certificate) << out.detail;
  EXPECT_TRUE(sink_->posts("/tlsrpt/by-ip").empty());
}

TEST_F(HttpsReportPosterTest, ServerErrorsAndThrottlingAreRetried) {
  for (long status : {500L, 503L, 429L, 408L}) {
    PostOutcome out = postTlsReport(sink_->url("/status/" + std::to_string(status)), report(), options_);
    EXPECT_FALSE(out.delivered) << status;
    EXPECT_TRUE(out.retry) << status;
    EXPECT_EQ(out.failure, PostFailure::Http);
    EXPECT_EQ(out.http_status, status);
    EXPECT_NE(out.detail.find("HTTP " + std::to_string(status)), std::string::npos) << out.detail;
    EXPECT_EQ(out.retry_after, status == 503 || status == 429 ? 120 : 0) << status;
  }
}

TEST_F(HttpsReportPosterTest, ClientErrorsAreNotRetried) {
  for (long status : {400L, 403L, 404L, 413L}) {
    PostOutcome out = postTlsReport(sink_->url("/status/" + std::to_string(status)), report(), options_);
    EXPECT_FALSE(out.delivered) << status;
    EXPECT_FALSE(out.retry) << status;
    EXPECT_EQ(out.http_status, status);
    EXPECT_NE(out.detail.find("sink answered"), std::string::npos) << out.detail;  // the error page's start
  }
}

TEST_F(HttpsReportPosterTest, RedirectsAreNotFollowed) {
  for (long status : {301L, 302L, 307L, 308L}) {
    const std::string path = "/status/" + std::to_string(status);
    PostOutcome out = postTlsReport(sink_->url(path), report(), options_);
    EXPECT_FALSE(out.delivered) << status;
    EXPECT_FALSE(out.retry) << status;
    EXPECT_NE(out.detail.find("redirect not followed"), std::string::npos) << out.detail;
    EXPECT_NE(out.detail.find("/moved"), std::string::npos) << out.detail;
    EXPECT_EQ(sink_->posts(path).size(), 1u);
  }
  EXPECT_TRUE(sink_->posts("/moved").empty());
}

TEST_F(HttpsReportPosterTest, PlainHttpIsRefusedBeforeAnyIo) {
  for (std::string url :
       {"http://localhost:" + std::to_string(sink_->port) + "/tlsrpt/http",
        std::string("mailto:a@example.net"), std::string("ftp://localhost/x"), std::string("")}) {
    PostOutcome out = postTlsReport(url, report(), options_);
    EXPECT_FALSE(out.delivered) << url;
    EXPECT_FALSE(out.retry) << url;
    EXPECT_EQ(out.failure, PostFailure::Refused) << url;
  }
  EXPECT_TRUE(sink_->posts("/tlsrpt/http").empty());
  // Upper-case schemes are still https (RFC 3986 §3.1).
  EXPECT_TRUE(
      postTlsReport("HTTPS://localhost:" + std::to_string(sink_->port) + "/tlsrpt/upper", report(), options_)
          .delivered);
}

TEST_F(HttpsReportPosterTest, NonGzipBodyIsRefused) {
  PostOutcome out = postTlsReport(sink_->url("/tlsrpt/plain"), "{\"not\":\"gzip\"}", options_);
  EXPECT_EQ(out.failure, PostFailure::Refused);
  EXPECT_FALSE(out.retry);
  EXPECT_TRUE(sink_->posts("/tlsrpt/plain").empty());
}

TEST_F(HttpsReportPosterTest, ConnectionRefusedIsRetried) {
  // A bound socket that does not listen: connecting to it is refused.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  PostOutcome out = postTlsReport(url, report(), options_);
  ::close(fd);
  EXPECT_FALSE(out.delivered);
  EXPECT_TRUE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::Network) << out.detail;
  EXPECT_EQ(out.http_status, 0);
}

TEST_F(HttpsReportPosterTest, TimeoutIsRetried) {
  options_.total_timeout = std::chrono::milliseconds(500);
  const auto begin = std::chrono::steady_clock::now();
  PostOutcome out = postTlsReport(sink_->url("/sleep/5"), report(), options_);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(4));
  EXPECT_FALSE(out.delivered);
  EXPECT_TRUE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::Timeout) << out.detail;
}

TEST_F(HttpsReportPosterTest, UnreadableCaFileIsOurProblem) {
  options_.ca_file = (sink_->dir / "no-such-ca.pem").string();
  PostOutcome out = postTlsReport(sink_->url("/tlsrpt/no-ca"), report(), options_);
  EXPECT_FALSE(out.delivered);
  EXPECT_FALSE(out.retry);
  EXPECT_EQ(out.failure, PostFailure::Local) << out.detail;
}

}  // namespace
}  // namespace tlsrelay
