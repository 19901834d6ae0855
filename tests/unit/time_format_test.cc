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

}  // namespace
}  // namespace tlsrelay
