// Timestamps as mail and logs write them. Pure functions of unix seconds (UTC).
#pragma once

#include <cstdint>
#include <string>

namespace tlsrelay {

// RFC 5322 §3.3 date-time in UTC: "Mon, 23 Nov 2026 14:00:00 +0000".
std::string rfc5322Date(int64_t unix_seconds);

// RFC 3339 / ISO 8601 in UTC: "2026-11-23T14:00:00Z".
std::string iso8601Utc(int64_t unix_seconds);

}  // namespace tlsrelay
