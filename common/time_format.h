// Timestamps as mail and logs write them. Pure functions of unix seconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsrelay {

// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 14:00:00 +0000".
std::string rfc5322Date(int64_t unix_seconds);

// RFC 3339 / ISO 8601 in UTC: "2026-11-23T14:00:00Z".
std::string iso8601Utc(int64_t unix_seconds);

// An uptime or an age, two units at most: "3d 4h", "2h 5m", "4m 10s", "12s";
// a negative span (a clock stepped back) is "0s".
std::string formatDuration(int64_t seconds);

// The UTC day: "2026-11-23". Daily files, report days and store keys use it.
std::string utcDay(int64_t unix_seconds);

// 00:00:00Z of a "YYYY-MM-DD" day; nullopt unless it is one (a real date,
// exactly that form).
std::optional<int64_t> parseUtcDay(std::string_view day);

// An RFC 3339 §5.6 date-time ("2026-12-06T00:00:00Z", "…T01:00:00.5+01:00",
// lower-case t/z allowed) as unix seconds, fractions dropped; nullopt when it
// is not one.
std::optional<int64_t> parseRfc3339(std::string_view text);

}  // namespace tlsrelay
