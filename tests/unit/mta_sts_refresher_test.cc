// The background MTA-STS refresher: every pass looks up each cached domain
// through the provider (which decides whether to refetch), off the loop thread,
// and stopping ends the passes.
#include "relay/mta_sts/mta_sts_refresher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "relay/mta_sts/mta_sts_cache.h"
#include "relay/mta_sts/mta_sts_provider.h"

namespace tlsrelay {
namespace {

class CountingProvider : public MtaStsProvider {
 public:
  StsInput lookup(const std::string& domain, StsTrace*) override {
    std::lock_guard<std::mutex> lock(mutex);
    ++lookups[domain];
    threads.insert(std::this_thread::get_id());
    return {};
  }
  std::mutex mutex;
  std::map<std::string, int> lookups;
  std::set<std::thread::id> threads;
};

StsCacheEntry entry(const std::string& domain) {
  StsCacheEntry e;
  e.domain = domain;
  e.id = "id1";
  e.fetched_at = 1000;
  e.expires_at = 1000 + 86400;
  e.policy.mode = StsMode::Enforce;
  e.policy.mx = {"mx." + domain};
  e.policy.max_age = 86400;
  e.policy.text = "version: STSv1\r\nmode: enforce\r\nmx: mx." + domain + "\r\nmax_age: 86400\r\n";
  return e;
}

TEST(MtaStsRefresher, LooksUpEveryCachedDomainEachPassOffTheLoopThread) {
  auto dir = std::filesystem::temp_directory_path() / ("sts-refresh-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  StsCache cache(dir.string());
  ASSERT_TRUE(cache.put(entry("a.example")).ok());
  ASSERT_TRUE(cache.put(entry("b.example")).ok());

  uv_loop_t loop;
  uv_loop_init(&loop);
  CountingProvider provider;
  MtaStsRefresher refresher(&loop, &provider, dir.string(), std::chrono::milliseconds(20));
  refresher.start();
  uv_timer_t guard;  // stops the loop once two passes are done (or after 5 s)
  uv_timer_init(&loop, &guard);
  guard.data = &refresher;
  uv_timer_start(
      &guard,
      [](uv_timer_t* t) {
        auto* r = static_cast<MtaStsRefresher*>(t->data);
        static int ticks = 0;
        if ((r->passes() >= 2 && !r->busy()) || ++ticks > 500) {
          r->stop();
          uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
        }
      },
      10, 10);
  uv_run(&loop, UV_RUN_DEFAULT);  // returns when both handles are closed
  EXPECT_GE(refresher.passes(), 2u);
  EXPECT_GE(provider.lookups["a.example"], 2);
  EXPECT_GE(provider.lookups["b.example"], 2);
  EXPECT_EQ(provider.lookups.size(), 2u);
  EXPECT_EQ(provider.threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(uv_loop_close(&loop), 0);
  std::filesystem::remove_all(dir);
}

TEST(MtaStsRefresher, IntervalIsAQuarterOfRefreshBeforeWithinBounds) {
  using std::chrono::hours, std::chrono::minutes, std::chrono::seconds;
  EXPECT_EQ(MtaStsRefresher::intervalFor(hours(1)), minutes(15));
  EXPECT_EQ(MtaStsRefresher::intervalFor(seconds(10)), minutes(1));
  EXPECT_EQ(MtaStsRefresher::intervalFor(hours(24)), hours(1));
}

}  // namespace
}  // namespace tlsrelay
