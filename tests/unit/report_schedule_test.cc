#include "reporting/report_schedule.h"

#include <gtest/gtest.h>

#include <set>

namespace tlsrelay {
namespace {

constexpr int64_t kDec7 = 1796601600;  // 2026-12-07T00:00:00Z

TEST(ReportSchedule, SpreadOverTheWindowAfterMidnightAndStableForADomain) {
  std::set<int64_t> hours;
  for (int i = 0; i < 200; ++i) {
    std::string domain = "d" + std::to_string(i) + ".example";
    int64_t due = reportDueAt("2026-12-06", domain, 3600, 4 * 3600);
    EXPECT_GE(due, kDec7 + 3600);
    EXPECT_LT(due, kDec7 + 5 * 3600);
    EXPECT_EQ(due, reportDueAt("2026-12-06", domain, 3600, 4 * 3600)) << "same minute every time";
    EXPECT_EQ(reportDueAt("2026-12-07", domain, 3600, 4 * 3600) - due, 86400);
    hours.insert((due - kDec7) / 3600);
  }
  EXPECT_EQ(hours.size(), 4u) << "every hour of the window gets reports";
  EXPECT_EQ(reportDueAt("2026-12-06", "x.example", 0, 0), kDec7);
  EXPECT_EQ(reportDueAt("yesterday", "x.example", 0, 0), -1);
}

TEST(ReportSchedule, YesterdayAndTwoDaysBefore) {
  EXPECT_EQ(reportableDays(kDec7 + 7200),
            (std::vector<std::string>{"2026-12-06", "2026-12-05", "2026-12-04"}));
}

}  // namespace
}  // namespace tlsrelay
