// Session ids (common/session_id.h): "<8 lower-case hex digits>-<counter>",
// the prefix the same for every id of the process, the counter (printed in
// lower-case hex) increasing with each id, and every id unique when many
// threads ask at once.
#include "common/session_id.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <latch>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tlsrelay {
namespace {

const std::regex kFormat("^[0-9a-f]{8}-[0-9a-f]+$");

std::string prefixOf(const std::string& id) {
  return id.substr(0, id.find('-'));
}
uint64_t counterOf(const std::string& id) {
  return std::stoull(id.substr(id.find('-') + 1), nullptr, 16);
}

TEST(SessionId, HasEightLowerHexDigitsADashAndACounter) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = newSessionId();
    EXPECT_TRUE(std::regex_match(id, kFormat)) << id;
    EXPECT_EQ(id.find('-'), 8u) << id;
    EXPECT_NE(id.back(), '-') << id;
  }
}

TEST(SessionId, PrefixIsTheSameWithinTheProcess) {
  const std::string first = prefixOf(newSessionId());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(prefixOf(newSessionId()), first);
}

TEST(SessionId, CounterIncreasesWithEachId) {
  uint64_t previous = counterOf(newSessionId());
  EXPECT_GE(previous, 1u);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t next = counterOf(newSessionId());
    EXPECT_GT(next, previous);
    previous = next;
  }
}

TEST(SessionId, UniqueAcrossManyThreadsCallingAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10000;
  const std::string prefix = prefixOf(newSessionId());
  std::vector<std::vector<std::string>> made(kThreads);
  std::latch start(kThreads);  // every thread starts calling at the same moment
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      made[t].reserve(kPerThread);
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(newSessionId());
    });
  }
  for (auto& th : threads) th.join();

  std::set<std::string> all;
  for (const auto& ids : made) {
    ASSERT_EQ(ids.size(), static_cast<size_t>(kPerThread));
    uint64_t previous = 0;
    for (const auto& id : ids) {
      ASSERT_TRUE(std::regex_match(id, kFormat)) << id;
      EXPECT_EQ(prefixOf(id), prefix);
      const uint64_t counter = counterOf(id);
      EXPECT_GT(counter, previous) << "the counter goes up within each thread too";
      previous = counter;
      all.insert(id);
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace tlsrelay
