// MTA-STS fetch and provider against a real HTTPS peer: a private nginx
// (tests/fixtures/mta_sts_nginx.sh) on 127.0.2.1:8443 serving one vhost per
// policy host, with certificates from tests/fixtures/test_ca.sh. DNS is a fake
// (TXT records and the policy host's address); HTTPS, PKIX, redirects, sizes
// and status codes are real. Fetches are counted in nginx's access log.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "dnssec/resolver.h"
#include "relay/mta_sts/mta_sts_cache.h"
#include "relay/mta_sts/mta_sts_fetcher.h"
#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;
using dns::Outcome;
using dns::Security;

constexpr const char* kIp = "127.0.2.1";
constexpr uint16_t kPort = 8443;
constexpr const char* kNginx = "/usr/sbin/nginx";

std::string policyText(const std::string& mode, const std::string& mx, uint32_t max_age = 86400) {
  return "version: STSv1\nmode: " + mode + "\nmx: " + mx + "\nmax_age: " + std::to_string(max_age) + "\n";
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class FakeResolver : public dns::Resolver {
 public:
  std::map<std::string, dns::TxtAnswer> txt;
  std::map<std::string, int> txt_calls;
  std::mutex mutex;

  void setTxt(const std::string& domain, std::vector<std::string> records, Security s = Security::Insecure) {
    std::lock_guard lock(mutex);
    dns::TxtAnswer a;
    a.outcome = records.empty() ? Outcome::NoData : Outcome::Found;
    a.security = s;
    a.records = std::move(records);
    txt["_mta-sts." + domain] = a;
  }
  void setTxtFailure(const std::string& domain, Outcome o, Security s = Security::Insecure) {
    std::lock_guard lock(mutex);
    dns::TxtAnswer a;
    a.outcome = o;
    a.security = s;
    a.why = "scripted failure";
    txt["_mta-sts." + domain] = a;
  }

  dns::MxAnswer lookupMx(const std::string&) override { return {}; }
  dns::TlsaAnswer lookupTlsa(const std::string&) override { return {}; }
  dns::AddressAnswer lookupAddresses(const std::string& host) override {
    dns::AddressAnswer a;
    if (host.rfind("mta-sts.", 0) == 0 && host.find("nodns") == std::string::npos) {
      a.outcome = Outcome::Found;
      a.records = {kIp};
    } else {
      a.outcome = Outcome::NxDomain;
    }
    return a;
  }
  dns::TxtAnswer lookupTxt(const std::string& name) override {
    std::lock_guard lock(mutex);
    ++txt_calls[name];
    auto it = txt.find(name);
    if (it != txt.end()) return it->second;
    dns::TxtAnswer a;
    a.outcome = Outcome::NxDomain;
    return a;
  }
};

class MtaStsFetchTest : public ::testing::Test {
 protected:
  // ctest runs each test in its own process, possibly in parallel: one nginx
  // on 127.0.2.1:8443 at a time, serialised by a lock file.
  static void SetUpTestSuite() {
    if (::access(kNginx, X_OK) != 0) return;
    lock_fd_ = ::open((fs::temp_directory_path() / "tlsrelay-mta-sts-nginx-8443.lock").c_str(),
                      O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(lock_fd_, 0);
    ASSERT_EQ(::flock(lock_fd_, LOCK_EX), 0);

    const std::string src = TLSRELAY_SOURCE_DIR;
    const std::string ca_script = src + "/tests/fixtures/test_ca.sh";
    ca_dir_ = fs::temp_directory_path() / ("tlsrelay-sts-test-ca-" + std::to_string(::getuid()) + "-" +
                                           std::to_string(std::hash<std::string>{}(readFile(ca_script))));
    work_ = fs::temp_directory_path() / ("tlsrelay-sts-nginx-" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_ / "sites");

    std::string hosts = " mta-sts.untrusted.test";
    for (const char* d : kDomains) hosts += std::string(" mta-sts.") + d;
    std::string cmd = "bash " + ca_script + " " + ca_dir_.string() + hosts + " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

    for (const char* d : kDomains) addSite(d, "mta-sts." + std::string(d));
    // PKIX failures: a certificate from an untrusted CA, and a trusted one for another name.
    addSite("untrusted.test", "untrusted-mta-sts.untrusted.test");
    addSite("mismatch.test", "mta-sts.good.test");
    setPolicy("good.test", policyText("enforce", "mx.good.test"));
    setPolicy("untrusted.test", policyText("enforce", "mx.untrusted.test"));
    setPolicy("mismatch.test", policyText("enforce", "mx.mismatch.test"));
    setPolicy("redirect.test", policyText("enforce", "mx.redirect.test"));
    std::ofstream(work_ / "sites/mta-sts.redirect.test.redirect")
        << "https://mta-sts.good.test:8443/.well-known/mta-sts.txt\n";
    // missing.test: no policy file, a 404.
    setPolicy("big.test", policyText("enforce", "mx.big.test") + "x: " + std::string(70 * 1024, 'y') + "\n");
    setPolicy("bad.test", "version: STSv1\nmode: enforce\nmx: mx.bad.test\n");  // no max_age
    setPolicy("html.test", policyText("enforce", "mx.html.test"));
    std::ofstream(work_ / "sites/mta-sts.html.test.extra.conf") << "types { text/html txt; }\n";
    setPolicy("none.test", "version: STSv1\nmode: none\nmax_age: 86400\n");
    setPolicy("change.test", policyText("enforce", "mx1.change.test"));
    setPolicy("refresh.test", policyText("testing", "mx.refresh.test", 7200));
    setPolicy("many.test", policyText("enforce", "*.many.test"));

    cmd = "bash " + script() + " start " + work_.string() + " " + kIp + " " + std::to_string(kPort);
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    started_ = true;
  }

  static void TearDownTestSuite() {
    if (started_) {
      std::string cmd = "bash " + script() + " stop " + work_.string();
      EXPECT_EQ(std::system(cmd.c_str()), 0);
      started_ = false;
    }
    if (!work_.empty()) fs::remove_all(work_);
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
  }

  void SetUp() override {
    if (!started_) GTEST_SKIP() << "nginx not available at " << kNginx;
    cache_dir_ =
        work_ / ("cache-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(cache_dir_);
    config_.cache_directory = cache_dir_.string();
    config_.ca_bundle = (ca_dir_ / "ca.pem").string();
    config_.https_port = kPort;
    config_.connect_timeout = std::chrono::seconds(5);
    config_.fetch_timeout = std::chrono::seconds(10);
    config_.refresh_before = std::chrono::seconds(3600);
  }

  static std::string script() {
    return std::string(TLSRELAY_SOURCE_DIR) + "/tests/fixtures/mta_sts_nginx.sh";
  }

  static void addSite(const std::string& domain, const std::string& cert) {
    const std::string host = "mta-sts." + domain;
    fs::create_directories(work_ / "sites" / host / ".well-known");
    fs::copy_file(ca_dir_ / (cert + ".pem"), work_ / "sites" / (host + ".pem"),
                  fs::copy_options::overwrite_existing);
    fs::copy_file(ca_dir_ / (cert + ".key"), work_ / "sites" / (host + ".key"),
                  fs::copy_options::overwrite_existing);
  }

  static void setPolicy(const std::string& domain, const std::string& text) {
    std::ofstream(work_ / "sites" / ("mta-sts." + domain) / ".well-known" / "mta-sts.txt", std::ios::binary)
        << text;
  }

  // Requests nginx logged for the policy host of `domain`.
  static int fetches(const std::string& domain) {
    std::istringstream log(readFile(work_ / "nginx" / "access.log"));
    const std::string prefix = "mta-sts." + domain + " ";
    int n = 0;
    for (std::string line; std::getline(log, line);) n += line.rfind(prefix, 0) == 0;
    return n;
  }

  // nginx writes the access-log line after the response has gone out, so a
  // count read right after a fetch can lag behind it: wait until the log holds
  // `expected` lines (at most 3 s), then return what it holds.
  static int fetchesReaching(const std::string& domain, int expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int n = fetches(domain);
    while (n < expected && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      n = fetches(domain);
    }
    return n;
  }

  std::unique_ptr<MtaStsProvider> provider() {
    return makeMtaStsProvider(config_, &resolver_, [this] { return now_.load(); });
  }

  // A valid cached policy under id "old" (so a TXT id "new" triggers a fetch).
  void seedCache(const std::string& domain, const std::string& id = "old", int64_t fetched_at = 0,
                 uint32_t max_age = 86400) {
    StsCache cache(config_.cache_directory);
    auto p = parseStsPolicy(policyText("enforce", "cached.mx." + domain, max_age));
    ASSERT_TRUE(p.ok());
    StsCacheEntry e{domain, id, fetched_at ? fetched_at : now_ - 100, 0, *p};
    e.expires_at = e.fetched_at + max_age;
    ASSERT_TRUE(cache.put(e).ok());
  }

  static constexpr const char* kDomains[] = {"good.test",    "redirect.test", "missing.test", "big.test",
                                             "bad.test",     "html.test",     "none.test",    "change.test",
                                             "refresh.test", "many.test"};
  static inline int lock_fd_ = -1;
  static inline bool started_ = false;
  static inline fs::path ca_dir_;
  static inline fs::path work_;

  fs::path cache_dir_;
  MtaStsConfig config_;
  FakeResolver resolver_;
  std::atomic<int64_t> now_{1'800'000'000};
};

TEST_F(MtaStsFetchTest, FetcherGetsPolicyBody) {
  auto fetcher = makeCurlStsFetcher(config_, &resolver_);
  auto r = fetcher->fetch("good.test");
  ASSERT_EQ(r.kind, StsFetchResult::Kind::Ok) << r.error;
  EXPECT_EQ(r.body, policyText("enforce", "mx.good.test"));
}

TEST_F(MtaStsFetchTest, FetcherErrorsAreClassified) {
  auto fetcher = makeCurlStsFetcher(config_, &resolver_);
  struct Case {
    const char* domain;
    StsFetchResult::Kind kind;
    const char* contains;
  };
  const Case cases[] = {
      {"untrusted.test", StsFetchResult::Kind::WebPkiError, "certificate"},
      {"mismatch.test", StsFetchResult::Kind::WebPkiError, "certificate"},
      {"redirect.test", StsFetchResult::Kind::FetchError, "301 redirect"},
      {"missing.test", StsFetchResult::Kind::FetchError, "HTTP status 404"},
      {"big.test", StsFetchResult::Kind::FetchError, "64 KiB"},
      {"html.test", StsFetchResult::Kind::FetchError, "text/html"},
      {"nodns.test", StsFetchResult::Kind::FetchError, "DNS"},
  };
  for (const auto& c : cases) {
    auto r = fetcher->fetch(c.domain);
    EXPECT_EQ(r.kind, c.kind) << c.domain << ": " << r.error;
    EXPECT_NE(r.error.find(c.contains), std::string::npos) << c.domain << ": " << r.error;
  }
  // Without our test CA, the good host is not trusted either.
  MtaStsConfig no_ca = config_;
  no_ca.ca_bundle = (ca_dir_ / "untrusted-ca.pem").string();
  auto r = makeCurlStsFetcher(no_ca, &resolver_)->fetch("good.test");
  EXPECT_EQ(r.kind, StsFetchResult::Kind::WebPkiError) << r.error;
}

TEST_F(MtaStsFetchTest, FetcherConnectFailure) {
  MtaStsConfig closed = config_;
  closed.https_port = kPort + 1;  // nothing listens there
  auto r = makeCurlStsFetcher(closed, &resolver_)->fetch("good.test");
  EXPECT_EQ(r.kind, StsFetchResult::Kind::FetchError);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(MtaStsFetchTest, FetcherTimesOut) {
  // A listener that never accepts: TCP connects (the kernel's backlog), TLS never starts.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ASSERT_EQ(::inet_pton(AF_INET, kIp, &addr.sin_addr), 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  MtaStsConfig silent = config_;
  silent.https_port = ntohs(addr.sin_port);
  silent.fetch_timeout = std::chrono::seconds(1);
  const auto start = std::chrono::steady_clock::now();
  auto r = makeCurlStsFetcher(silent, &resolver_)->fetch("good.test");
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_EQ(r.kind, StsFetchResult::Kind::FetchError);
  EXPECT_NE(r.error.find("imeout"), std::string::npos) << r.error;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(MtaStsFetchTest, GoodPolicyIsFetchedCachedAndReused) {
  resolver_.setTxt("good.test", {"v=STSv1; id=1"});
  auto p = provider();
  const int before = fetches("good.test");
  StsTrace trace;
  auto in = p->lookup("Good.Test.", &trace);
  ASSERT_EQ(in.status, StsStatus::Policy) << in.why;
  EXPECT_FALSE(in.from_cache);
  ASSERT_TRUE(in.policy.has_value());
  EXPECT_EQ(in.policy->mode, StsMode::Enforce);
  EXPECT_EQ(in.policy->mx, std::vector<std::string>{"mx.good.test"});
  EXPECT_TRUE(trace.fetched);
  EXPECT_EQ(trace.fetch_result, "ok");
  EXPECT_EQ(trace.txt, "v=STSv1; id=1");
  EXPECT_EQ(fetchesReaching("good.test", before + 1), before + 1);

  // Stored for later, expiring after max_age.
  auto cached = StsCache(config_.cache_directory).get("good.test");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->id, "1");
  EXPECT_EQ(cached->expires_at, now_ + 86400);

  // Same id: the cache answers, no request reaches nginx — also after a restart.
  now_ += 60;
  StsTrace again;
  auto second = p->lookup("good.test", &again);
  EXPECT_EQ(second.status, StsStatus::Policy);
  EXPECT_TRUE(second.from_cache);
  EXPECT_FALSE(again.fetched);
  EXPECT_EQ(again.cached_id, "1");
  auto restarted = provider()->lookup("good.test");
  EXPECT_EQ(restarted.status, StsStatus::Policy);
  EXPECT_TRUE(restarted.from_cache);
  EXPECT_EQ(fetchesReaching("good.test", before + 1), before + 1);

  // After max_age the cached policy is dead: fetched again.
  now_ += 86400;
  auto expired = p->lookup("good.test");
  EXPECT_EQ(expired.status, StsStatus::Policy);
  EXPECT_FALSE(expired.from_cache);
  EXPECT_EQ(fetchesReaching("good.test", before + 2), before + 2);
}

TEST_F(MtaStsFetchTest, IdChangeTriggersRefetch) {
  setPolicy("change.test", policyText("enforce", "mx1.change.test"));
  resolver_.setTxt("change.test", {"v=STSv1; id=first"});
  auto p = provider();
  const int before = fetches("change.test");
  auto a = p->lookup("change.test");
  ASSERT_EQ(a.status, StsStatus::Policy) << a.why;
  EXPECT_EQ(a.policy->mx, std::vector<std::string>{"mx1.change.test"});

  setPolicy("change.test", policyText("testing", "mx2.change.test"));
  resolver_.setTxt("change.test", {"v=STSv1; id=second"});
  auto b = p->lookup("change.test");
  ASSERT_EQ(b.status, StsStatus::Policy) << b.why;
  EXPECT_FALSE(b.from_cache);
  EXPECT_EQ(b.policy->mode, StsMode::Testing);
  EXPECT_EQ(b.policy->mx, std::vector<std::string>{"mx2.change.test"});
  EXPECT_EQ(fetchesReaching("change.test", before + 2), before + 2);
  EXPECT_EQ(StsCache(config_.cache_directory).get("change.test")->id, "second");
  setPolicy("change.test", policyText("enforce", "mx1.change.test"));
}

struct FailureCase {
  const char* domain;
  StsStatus status;
  const char* why_contains;
};

const FailureCase kFailures[] = {
    {"untrusted.test", StsStatus::WebPkiInvalid, "certificate"},
    {"mismatch.test", StsStatus::WebPkiInvalid, "certificate"},
    {"redirect.test", StsStatus::FetchError, "redirect"},
    {"missing.test", StsStatus::FetchError, "404"},
    {"big.test", StsStatus::FetchError, "64 KiB"},
    {"bad.test", StsStatus::Invalid, "max_age"},
    {"html.test", StsStatus::FetchError, "Content-Type"},
    {"nodns.test", StsStatus::FetchError, "DNS"},
};

TEST_F(MtaStsFetchTest, FailuresWithoutCache) {
  auto p = provider();
  for (const auto& c : kFailures) {
    resolver_.setTxt(c.domain, {"v=STSv1; id=new"});
    StsTrace trace;
    auto in = p->lookup(c.domain, &trace);
    EXPECT_EQ(in.status, c.status) << c.domain << ": " << in.why;
    EXPECT_FALSE(in.policy.has_value()) << c.domain;
    EXPECT_NE(in.why.find(c.why_contains), std::string::npos) << c.domain << ": " << in.why;
    EXPECT_TRUE(trace.fetched) << c.domain;
    EXPECT_EQ(trace.fetch_result, in.why) << c.domain;
    EXPECT_FALSE(StsCache(config_.cache_directory).get(c.domain).has_value()) << c.domain;
  }
}

TEST_F(MtaStsFetchTest, FailuresWithCacheUseTheCachedPolicy) {
  auto p = provider();
  for (const auto& c : kFailures) {
    seedCache(c.domain);
    resolver_.setTxt(c.domain, {"v=STSv1; id=new"});
    StsTrace trace;
    auto in = p->lookup(c.domain, &trace);
    ASSERT_EQ(in.status, StsStatus::Policy) << c.domain << ": " << in.why;
    EXPECT_TRUE(in.from_cache) << c.domain;
    EXPECT_EQ(in.policy->mx, std::vector<std::string>{"cached.mx." + std::string(c.domain)});
    EXPECT_NE(in.why.find(c.why_contains), std::string::npos) << c.domain << ": " << in.why;
    // A fetch was tried (nginx logs no request when the handshake fails, so the trace says).
    EXPECT_TRUE(trace.fetched) << c.domain;
    EXPECT_EQ(trace.fetch_result, in.why) << c.domain;
    // The cache keeps the old entry.
    EXPECT_EQ(StsCache(config_.cache_directory).get(c.domain)->id, "old") << c.domain;
  }
}

TEST_F(MtaStsFetchTest, ProactiveRefreshBeforeExpiry) {
  // Cached under the current id, 30 minutes left of a 2 hour life: refresh_before (1 h) says refetch.
  seedCache("refresh.test", "same", now_ - 7200 + 1800, 7200);
  resolver_.setTxt("refresh.test", {"v=STSv1; id=same"});
  auto p = provider();
  const int before = fetches("refresh.test");
  auto in = p->lookup("refresh.test");
  ASSERT_EQ(in.status, StsStatus::Policy) << in.why;
  EXPECT_FALSE(in.from_cache);
  EXPECT_EQ(in.policy->mode, StsMode::Testing);  // the served policy, not the seeded one
  EXPECT_EQ(fetchesReaching("refresh.test", before + 1), before + 1);
  auto cached = StsCache(config_.cache_directory).get("refresh.test");
  EXPECT_EQ(cached->fetched_at, now_);
  EXPECT_EQ(cached->expires_at, now_ + 7200);
  // Fresh again: no further fetch.
  EXPECT_TRUE(p->lookup("refresh.test").from_cache);
  EXPECT_EQ(fetchesReaching("refresh.test", before + 1), before + 1);
}

TEST_F(MtaStsFetchTest, FailedRefreshKeepsTheCache) {
  seedCache("untrusted.test", "same", now_ - 86400 + 600);
  resolver_.setTxt("untrusted.test", {"v=STSv1; id=same"});
  StsTrace trace;
  auto in = provider()->lookup("untrusted.test", &trace);
  ASSERT_EQ(in.status, StsStatus::Policy) << in.why;
  EXPECT_TRUE(in.from_cache);
  EXPECT_NE(in.why.find("refresh failed"), std::string::npos) << in.why;
  EXPECT_TRUE(trace.fetched);  // nginx logs nothing for a failed handshake
  EXPECT_EQ(StsCache(config_.cache_directory).get("untrusted.test")->fetched_at, now_ - 86400 + 600);
}

TEST_F(MtaStsFetchTest, ExemptDomainIsNeverLookedUp) {
  config_.exempt = {"good.test"};
  resolver_.setTxt("good.test", {"v=STSv1; id=1"});
  const int before = fetches("good.test");
  auto in = provider()->lookup("GOOD.test");
  EXPECT_EQ(in.status, StsStatus::Exempt);
  EXPECT_EQ(resolver_.txt_calls["_mta-sts.good.test"], 0);
  EXPECT_EQ(fetchesReaching("good.test", before), before);
}

TEST_F(MtaStsFetchTest, DisabledIsNoPolicy) {
  config_.enabled = false;
  resolver_.setTxt("good.test", {"v=STSv1; id=1"});
  EXPECT_EQ(provider()->lookup("good.test").status, StsStatus::NoPolicy);
}

TEST_F(MtaStsFetchTest, NoTxtRecord) {
  auto p = provider();
  resolver_.setTxt("good.test", {"v=spf1 -all"});
  StsTrace trace;
  auto in = p->lookup("good.test", &trace);
  EXPECT_EQ(in.status, StsStatus::NoPolicy);
  EXPECT_FALSE(trace.fetched);
  // RFC 8461 §5.1: a vanished TXT record does not end an unexpired cached policy.
  seedCache("good.test");
  auto cached = p->lookup("good.test");
  EXPECT_EQ(cached.status, StsStatus::Policy);
  EXPECT_TRUE(cached.from_cache);
  resolver_.txt.erase("_mta-sts.good.test");  // NXDOMAIN
  EXPECT_EQ(p->lookup("good.test").status, StsStatus::Policy);
  // Expired: gone.
  now_ += 86400;
  EXPECT_EQ(p->lookup("good.test").status, StsStatus::NoPolicy);
}

TEST_F(MtaStsFetchTest, TxtTempFailOrBogusIsNeverNoPolicy) {
  auto p = provider();
  for (auto [outcome, security] :
       {std::pair{Outcome::TempFail, Security::Insecure}, std::pair{Outcome::Found, Security::Bogus}}) {
    fs::remove_all(cache_dir_);
    resolver_.setTxtFailure("good.test", outcome, security);
    auto in = p->lookup("good.test");
    EXPECT_EQ(in.status, StsStatus::FetchError) << in.why;
    EXPECT_NE(in.why.find("TXT"), std::string::npos) << in.why;
    seedCache("good.test");
    auto cached = p->lookup("good.test");
    EXPECT_EQ(cached.status, StsStatus::Policy);
    EXPECT_TRUE(cached.from_cache);
  }
}

TEST_F(MtaStsFetchTest, MalformedTxtIsInvalidUnlessCached) {
  auto p = provider();
  resolver_.setTxt("good.test", {"v=STSv1; id=a", "v=STSv1; id=b"});
  const int before = fetches("good.test");
  auto in = p->lookup("good.test");
  EXPECT_EQ(in.status, StsStatus::Invalid);
  EXPECT_EQ(fetchesReaching("good.test", before), before);
  seedCache("good.test");
  EXPECT_EQ(p->lookup("good.test").status, StsStatus::Policy);
}

TEST_F(MtaStsFetchTest, ModeNoneIsNoPolicyButCached) {
  resolver_.setTxt("none.test", {"v=STSv1; id=n1"});
  auto p = provider();
  const int before = fetches("none.test");
  auto in = p->lookup("none.test");
  EXPECT_EQ(in.status, StsStatus::NoPolicy);
  EXPECT_FALSE(in.policy.has_value());
  auto cached = StsCache(config_.cache_directory).get("none.test");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->policy.mode, StsMode::None);
  EXPECT_EQ(p->lookup("none.test").status, StsStatus::NoPolicy);
  EXPECT_EQ(fetchesReaching("none.test", before + 1), before + 1);
}

TEST_F(MtaStsFetchTest, ParallelLookupsFetchOnce) {
  resolver_.setTxt("many.test", {"v=STSv1; id=m1"});
  auto p = provider();
  const int before = fetches("many.test");
  constexpr int kThreads = 10;
  std::latch go(kThreads);
  std::atomic<int> policies{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      policies += p->lookup("many.test").status == StsStatus::Policy;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(policies.load(), kThreads);
  EXPECT_EQ(fetchesReaching("many.test", before + 1), before + 1);
}

// Failures are not cached, so only coalescing keeps ten lookups at one fetch:
// a fake fetcher that is slow enough for all of them to arrive meanwhile.
class SlowFailingFetcher : public StsFetcher {
 public:
  explicit SlowFailingFetcher(std::atomic<int>* calls) : calls_(calls) {}
  StsFetchResult fetch(const std::string&) override {
    ++*calls_;
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return StsFetchResult::fetchError("scripted failure");
  }
  std::atomic<int>* calls_;
};

TEST(MtaStsProviderCoalescing, ConcurrentFailingFetchesShareOne) {
  FakeResolver resolver;
  resolver.setTxt("slow.test", {"v=STSv1; id=s1"});
  std::atomic<int> calls{0};
  MtaStsConfig config;  // memory-only cache
  auto p = makeMtaStsProvider(
      config, &resolver, [] { return int64_t{1000}; }, std::make_unique<SlowFailingFetcher>(&calls));
  constexpr int kThreads = 10;
  std::latch go(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      auto in = p->lookup("slow.test");
      errors += in.status == StsStatus::FetchError && in.why == "scripted failure";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), kThreads);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace tlsrelay
