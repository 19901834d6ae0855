// When each daily report goes out: not all at 00:00 UTC (every relay in the
// world would hit the receivers at once), but spread over a window after
// midnight by a hash of the policy domain, so a domain's report leaves at the
// same minute every day and a restart does not move it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsrelay {

// Unix seconds from which the report of `day` ("YYYY-MM-DD") for
// `policy_domain` may be sent; -1 for a malformed day.
int64_t reportDueAt(const std::string& day, const std::string& policy_domain, int64_t send_after,
                    int64_t send_window);

// The days whose reports may still be due at `now`: yesterday and the two
// before it (a relay that was down over a midnight catches up; older
// reports are stale and left alone).
std::vector<std::string> reportableDays(int64_t now);

}  // namespace tlsrelay
