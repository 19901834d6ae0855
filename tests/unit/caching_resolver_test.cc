// CachingResolver with a scripted inner resolver and a manual clock: TTL
// expiry, caps, negative caching, short-lived failures, key normalization,
// size bound and concurrent use.
#include "dnssec/caching_resolver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace tlsrelay::dns {
namespace {

// Answers from a table; counts how often each name was asked.
class FakeResolver : public Resolver {
 public:
  std::map<std::string, MxAnswer> mx;
  std::map<std::string, AddressAnswer> addresses;
  std::map<std::string, TxtAnswer> txt;
  std::map<std::string, TlsaAnswer> tlsa;
  std::map<std::string, int> calls;
  std::mutex mutex;

  MxAnswer lookupMx(const std::string& d) override { return get(mx, "mx:" + d, d); }
  AddressAnswer lookupAddresses(const std::string& h) override { return get(addresses, "a:" + h, h); }
  TxtAnswer lookupTxt(const std::string& n) override { return get(txt, "txt:" + n, n); }
  TlsaAnswer lookupTlsa(const std::string& n) override { return get(tlsa, "tlsa:" + n, n); }

 private:
  template <class Map>
  typename Map::mapped_type get(Map& map, const std::string& key, const std::string& name) {
    std::lock_guard lock(mutex);
    ++calls[key];
    auto it = map.find(name);
    if (it == map.end()) {
      typename Map::mapped_type fail;
      fail.outcome = Outcome::TempFail;
      fail.why = "not scripted";
      return fail;
    }
    return it->second;
  }
};

MxAnswer mxAnswer(Outcome o, uint32_t ttl, Security s = Security::Secure) {
  MxAnswer a;
  a.outcome = o;
  a.security = s;
  a.ttl = ttl;
  if (o == Outcome::Found) a.records = {{10, "mx.example.test"}};
  return a;
}

class CachingResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = std::make_unique<FakeResolver>();
    fake_ = fake.get();
    cache_ = std::make_unique<CachingResolver>(std::move(fake), [this] { return now_.load(); });
  }
  int calls(const std::string& key) {
    std::lock_guard lock(fake_->mutex);
    return fake_->calls[key];
  }

  std::atomic<int64_t> now_{1000};
  FakeResolver* fake_ = nullptr;
  std::unique_ptr<CachingResolver> cache_;
};

TEST_F(CachingResolverTest, PositiveAnswerLivesForItsTtl) {
  fake_->mx["example.test"] = mxAnswer(Outcome::Found, 60);
  EXPECT_EQ(cache_->lookupMx("example.test").records.size(), 1u);
  now_ += 59;
  MxAnswer cached = cache_->lookupMx("example.test");
  EXPECT_EQ(cached.outcome, Outcome::Found);
  EXPECT_EQ(cached.security, Security::Secure);
  EXPECT_EQ(cached.ttl, 1u);  // remaining lifetime
  EXPECT_EQ(calls("mx:example.test"), 1);
  now_ += 1;
  cache_->lookupMx("example.test");
  EXPECT_EQ(calls("mx:example.test"), 2);
}

TEST_F(CachingResolverTest, PositiveTtlIsCapped) {
  fake_->mx["example.test"] = mxAnswer(Outcome::Found, 86400 * 7);
  cache_->lookupMx("example.test");
  now_ += 3599;
  cache_->lookupMx("example.test");
  EXPECT_EQ(calls("mx:example.test"), 1);
  now_ += 1;
  cache_->lookupMx("example.test");
  EXPECT_EQ(calls("mx:example.test"), 2);
}

TEST_F(CachingResolverTest, NegativeAnswersAreCachedAndCapped) {
  fake_->mx["nomx.test"] = mxAnswer(Outcome::NoData, 120);
  fake_->mx["gone.test"] = mxAnswer(Outcome::NxDomain, 86400);
  EXPECT_EQ(cache_->lookupMx("nomx.test").outcome, Outcome::NoData);
  EXPECT_EQ(cache_->lookupMx("gone.test").outcome, Outcome::NxDomain);
  now_ += 119;
  EXPECT_EQ(cache_->lookupMx("nomx.test").outcome, Outcome::NoData);
  EXPECT_EQ(cache_->lookupMx("gone.test").outcome, Outcome::NxDomain);
  EXPECT_EQ(calls("mx:nomx.test"), 1);
  EXPECT_EQ(calls("mx:gone.test"), 1);
  now_ += 1;  // 120 s: NoData expired by its SOA TTL
  cache_->lookupMx("nomx.test");
  EXPECT_EQ(calls("mx:nomx.test"), 2);
  now_ += 180;  // 300 s: NxDomain expired by the negative cap, not its day-long TTL
  cache_->lookupMx("gone.test");
  EXPECT_EQ(calls("mx:gone.test"), 2);
}

TEST_F(CachingResolverTest, TempFailIsCachedOnlyBriefly) {
  MxAnswer fail = mxAnswer(Outcome::TempFail, 3600, Security::Insecure);
  fail.why = "SERVFAIL";
  fake_->mx["flaky.test"] = fail;
  EXPECT_EQ(cache_->lookupMx("flaky.test").why, "SERVFAIL");
  now_ += 4;
  EXPECT_EQ(cache_->lookupMx("flaky.test").outcome, Outcome::TempFail);
  EXPECT_EQ(calls("mx:flaky.test"), 1);
  now_ += 1;
  fake_->mx["flaky.test"] = mxAnswer(Outcome::Found, 600);
  EXPECT_EQ(cache_->lookupMx("flaky.test").outcome, Outcome::Found);
  EXPECT_EQ(calls("mx:flaky.test"), 2);
}

TEST_F(CachingResolverTest, BogusIsCachedOnlyBrieflyEvenIfFound) {
  fake_->mx["bogus.test"] = mxAnswer(Outcome::Found, 3600, Security::Bogus);
  EXPECT_EQ(cache_->lookupMx("bogus.test").security, Security::Bogus);
  now_ += 5;
  cache_->lookupMx("bogus.test");
  EXPECT_EQ(calls("mx:bogus.test"), 2);
}

TEST_F(CachingResolverTest, ZeroTtlIsNotCached) {
  fake_->mx["zero.test"] = mxAnswer(Outcome::Found, 0);
  cache_->lookupMx("zero.test");
  cache_->lookupMx("zero.test");
  EXPECT_EQ(calls("mx:zero.test"), 2);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingResolverTest, TypesAreSeparateAndNamesNormalized) {
  fake_->mx["example.test"] = mxAnswer(Outcome::Found, 60);
  AddressAnswer a;
  a.outcome = Outcome::Found;
  a.records = {"127.0.1.1"};
  a.ttl = 60;
  fake_->addresses["example.test"] = a;
  TxtAnswer t;
  t.outcome = Outcome::Found;
  t.records = {"v=spf1 -all"};
  t.ttl = 60;
  fake_->txt["example.test"] = t;
  cache_->lookupMx("Example.Test.");
  cache_->lookupMx("example.test");
  EXPECT_EQ(cache_->lookupAddresses("EXAMPLE.test").records, std::vector<std::string>{"127.0.1.1"});
  EXPECT_EQ(cache_->lookupTxt("example.test").records, std::vector<std::string>{"v=spf1 -all"});
  EXPECT_EQ(cache_->lookupAddresses("example.test").records, std::vector<std::string>{"127.0.1.1"});
  EXPECT_EQ(calls("mx:example.test"), 1);
  EXPECT_EQ(calls("a:example.test"), 1);
  EXPECT_EQ(calls("txt:example.test"), 1);
  EXPECT_EQ(cache_->size(), 3u);
}

TEST_F(CachingResolverTest, InvalidNamesBypassTheCache) {
  cache_->lookupMx("bad name");
  cache_->lookupMx("bad name");
  EXPECT_EQ(calls("mx:bad name"), 2);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(CachingResolverTest, ClockGoingBackwardsDoesNotServeFromTheFuture) {
  fake_->mx["example.test"] = mxAnswer(Outcome::Found, 60);
  cache_->lookupMx("example.test");
  now_ -= 100;
  cache_->lookupMx("example.test");
  EXPECT_EQ(calls("mx:example.test"), 2);
}

TEST(CachingResolverBound, SizeStaysBounded) {
  auto fake = std::make_unique<FakeResolver>();
  for (int i = 0; i < 50; ++i)
    fake->mx["d" + std::to_string(i) + ".test"] = mxAnswer(Outcome::Found, 100 + i);
  int64_t now = 0;
  CachePolicy policy;
  policy.max_entries = 10;
  CachingResolver cache(
      std::move(fake), [&now] { return now; }, policy);
  for (int i = 0; i < 50; ++i) cache.lookupMx("d" + std::to_string(i) + ".test");
  EXPECT_LE(cache.size(), 10u);
  EXPECT_GE(cache.size(), 1u);
}

TEST_F(CachingResolverTest, ConcurrentLookups) {
  fake_->mx["example.test"] = mxAnswer(Outcome::Found, 60);
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (cache_->lookupMx("example.test").outcome != Outcome::Found) ++bad;
        if (i % 100 == 0) now_ += 61;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_LT(calls("mx:example.test"), 8 * 500);
}

}  // namespace
}  // namespace tlsrelay::dns
