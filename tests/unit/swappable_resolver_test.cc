// Replacing the resolver or the MTA-STS provider behind the daemon's stable
// pointers (SIGHUP): later lookups use the new one, a lookup in flight keeps
// the old one alive until it returns.
#include "dnssec/swappable_resolver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "relay/mta_sts/swappable_mta_sts.h"

namespace tlsrelay {
namespace {

// Answers with its own name as the single TXT string; can hold a lookup open.
class NamedResolver : public dns::Resolver {
 public:
  NamedResolver(std::string name, std::atomic<int>* alive) : name_(std::move(name)), alive_(alive) {
    ++*alive_;
  }
  ~NamedResolver() override { --*alive_; }
  dns::MxAnswer lookupMx(const std::string&) override { return {}; }
  dns::AddressAnswer lookupAddresses(const std::string&) override { return {}; }
  dns::TxtAnswer lookupTxt(const std::string&) override {
    if (hold) release.get_future().wait();
    dns::TxtAnswer a;
    a.records.push_back(name_);
    return a;
  }
  dns::TlsaAnswer lookupTlsa(const std::string&) override { return {}; }
  bool hold = false;
  std::promise<void> release;

 private:
  std::string name_;
  std::atomic<int>* alive_;
};

TEST(SwappableResolver, LaterLookupsUseTheNewResolverAndOneInFlightKeepsTheOld) {
  std::atomic<int> alive{0};
  auto first = std::make_shared<NamedResolver>("first", &alive);
  first->hold = true;
  dns::SwappableResolver swappable(first);
  NamedResolver* first_raw = first.get();
  first.reset();
  auto in_flight = std::async(std::launch::async, [&] { return swappable.lookupTxt("x"); });
  // Wait until the lookup holds its resolver (the swappable's reference plus its own).
  while (swappable.current().use_count() < 3) std::this_thread::yield();
  swappable.replace(std::make_shared<NamedResolver>("second", &alive));
  EXPECT_EQ(alive, 2);  // the old one lives on for its lookup
  EXPECT_EQ(swappable.lookupTxt("x").records.at(0), "second");
  first_raw->release.set_value();
  EXPECT_EQ(in_flight.get().records.at(0), "first");
  EXPECT_EQ(alive, 1);  // and goes when it returns
}

class FixedSts : public MtaStsProvider {
 public:
  explicit FixedSts(StsStatus s) : status_(s) {}
  StsInput lookup(const std::string&, StsTrace*) override { return {status_, std::nullopt, "", false}; }
  CacheStats cacheStats() const override { return {7, 1}; }

 private:
  StsStatus status_;
};

TEST(SwappableMtaSts, OffMeansNoPolicyAndOnForwards) {
  SwappableMtaStsProvider sts(nullptr);
  EXPECT_FALSE(sts.enabled());
  EXPECT_EQ(sts.lookup("example.com").status, StsStatus::NoPolicy);
  EXPECT_EQ(sts.cacheStats().hits, 0u);
  sts.replace(std::make_shared<FixedSts>(StsStatus::Policy));
  EXPECT_TRUE(sts.enabled());
  EXPECT_EQ(sts.lookup("example.com").status, StsStatus::Policy);
  EXPECT_EQ(sts.cacheStats().hits, 7u);
  sts.replace(nullptr);
  EXPECT_EQ(sts.lookup("example.com").status, StsStatus::NoPolicy);
}

}  // namespace
}  // namespace tlsrelay
