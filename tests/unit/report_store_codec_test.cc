// The row layout and input checks both report stores share.
#include "reporting/report_store_codec.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

TEST(ReportStoreCodec, ListsRoundTripAndDistinctListsNeverCollide) {
  const std::vector<std::vector<std::string>> lists = {
      {}, {""}, {"a", "b"}, {"a,1:b"}, {std::string("\0\xff", 2), "mode: enforce"}};
  for (const auto& list : lists) EXPECT_EQ(decodeList(encodeList(list)), list);
  EXPECT_NE(encodeList({"a", "b"}), encodeList({"a,1:b"}));
  EXPECT_EQ(encodeList({}), "");
  EXPECT_EQ(encodeList({""}), "0:,");
}

TEST(ReportStoreCodec, MalformedListsAreRefused) {
  for (std::string_view bad : {"1:a", "x:a,", ":a,", "2:a,", "99999999999:a,", "1:ab"})
    EXPECT_FALSE(decodeList(bad).has_value()) << bad;
}

SessionCount count(const std::string& domain, uint64_t sessions) {
  SessionCount c;
  c.key.day = "2026-12-06";
  c.key.policy_domain = domain;
  c.sessions = sessions;
  return c;
}

TEST(ReportStoreCodec, ABatchIsSummedPerKeyAndEmptyRowsDropped) {
  auto rows =
      sumSessionCounts({count("b.test", 2), count("a.test", 1), count("b.test", 3), count("c.test", 0)});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  std::vector<std::string> order;
  for (const auto& [key, row] : *rows)
    order.push_back(row.key.policy_domain + "=" + std::to_string(row.sessions));
  EXPECT_EQ(order, (std::vector<std::string>{"a.test=1", "b.test=5"}));
}

TEST(ReportStoreCodec, ABatchPastTheStoredRangeOrWithABadDayIsRefused) {
  EXPECT_FALSE(sumSessionCounts({count("a.test", kMaxStoredCount), count("a.test", 1)}).ok());
  EXPECT_FALSE(sumSessionCounts({count("a.test", kMaxStoredCount + 1)}).ok());
  SessionCount bad = count("a.test", 1);
  bad.key.day = "2026-13-01";
  EXPECT_FALSE(sumSessionCounts({bad}).ok());
}

TEST(ReportStoreCodec, RowsWithUnknownNamesOrNegativeCountsAreCorrupt) {
  std::vector<std::string> cols = {"sts", "", "", "success", "", "", "", ""};
  int64_t sessions = 4;
  auto text = [&](int i) { return cols[static_cast<size_t>(i)]; };
  auto integer = [&](int) { return sessions; };
  auto good = sessionCountFromRow(text, integer, "2026-12-06", "a.test");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->sessions, 4u);
  sessions = -1;
  EXPECT_FALSE(sessionCountFromRow(text, integer, "2026-12-06", "a.test").ok());
  sessions = 4;
  cols[3] = "no-such-result";
  EXPECT_FALSE(sessionCountFromRow(text, integer, "2026-12-06", "a.test").ok());
}

TEST(ReportStoreCodec, TheRefusedFinishNamesTheHolder) {
  ReportState held;
  held.state = ReportSendState::Claimed;
  held.node = "node-b";
  EXPECT_EQ(notClaimedReason("2026-12-06", "a.test", "node-a", std::optional<ReportState>(held)),
            "report for a.test on 2026-12-06 is not claimed by node-a (claimed, node node-b)");
  EXPECT_EQ(notClaimedReason("2026-12-06", "a.test", "node-a", std::optional<ReportState>()),
            "report for a.test on 2026-12-06 is not claimed by node-a (never claimed)");
}

}  // namespace
}  // namespace tlsrelay
