// Timestamps for logs and mail headers: UTC regardless of the local zone, and
// the day boundary in the right place.
#include "common/time_format.h"

#include <gtest/gtest.h>

namespace tlsrelay {
namespace {

// 2026-11-23T23:59:58Z, a Monday
constexpr int64_t kBeforeMidnight = 1795478398;

TEST(TimeFormat, Iso8601UtcCrossesMidnight) {
  EXPECT_EQ(iso8601Utc(kBeforeMidnight), "2026-11-23T23:59:58Z");
  EXPECT_EQ(iso8601Utc(kBeforeMidnight + 2), "2026-11-24T00:00:00Z");
}

TEST(TimeFormat, Iso8601UtcPadsFields) {
  EXPECT_EQ(iso8601Utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(iso8601Utc(1767225661), "2026-01-01T00:01:01Z");
}

TEST(TimeFormat, Rfc5322DateCrossesMidnight) {
  EXPECT_EQ(rfc5322Date(kBeforeMidnight), "Mon, 23 Nov 2026 23:59:58 +0000");
  EXPECT_EQ(rfc5322Date(kBeforeMidnight + 2), "Tue, 24 Nov 2026 00:00:00 +0000");
}

TEST(TimeFormat, UtcDaysParseBackAndOnlyRealDatesDo) {
  EXPECT_EQ(utcDay(kBeforeMidnight), "2026-11-23");
  EXPECT_EQ(utcDay(kBeforeMidnight + 2), "2026-11-24");
  EXPECT_EQ(parseUtcDay("2026-11-23"), kBeforeMidnight - 86398);
  EXPECT_EQ(parseUtcDay("1970-01-01"), 0);
  EXPECT_EQ(parseUtcDay("2028-02-29"), 1835395200) << "leap day";
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-1-01", "2026/11/23",
                          "2026-11-23T00:00:00Z", "", "yesterday"})
    EXPECT_FALSE(parseUtcDay(bad).has_value()) << bad;
  for (int64_t t : {int64_t(0), kBeforeMidnight, int64_t(4102444800)})  // and 2100-01-01, not a leap year
    EXPECT_EQ(*parseUtcDay(utcDay(t)), t - t % 86400);
}

TEST(TimeFormat, Rfc3339OffsetsAndFractionsGiveUnixSeconds) {
  EXPECT_EQ(parseRfc3339("2026-11-23T23:59:58Z"), kBeforeMidnight);
  EXPECT_EQ(parseRfc3339("2026-11-23t23:59:58.123z"), kBeforeMidnight);
  // The same instant a sender one hour east of UTC writes: the next day locally.
  EXPECT_EQ(parseRfc3339("2026-11-24T00:59:58+01:00"), kBeforeMidnight);
  EXPECT_EQ(parseRfc3339("2026-11-23T18:29:58-05:30"), kBeforeMidnight);
  for (const char* bad :
       {"2026-11-23", "2026-11-23T24:00:00Z", "2026-11-23T23:59:58", "2026-11-23T23:59:58+0100",
        "2026-11-23T23:59:58.Z", "2026-02-30T00:00:00Z", "2026-11-23T23:60:00Z"})
    EXPECT_FALSE(parseRfc3339(bad).has_value()) << bad;
}

}  // namespace
}  // namespace tlsrelay
