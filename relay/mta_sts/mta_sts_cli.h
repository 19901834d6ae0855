// `tlsrelay policy sts-cache list|clear`: the operator's view of the MTA-STS policy
// cache, read straight from the cache directory (works with or without a
// running daemon; a cleared entry is refetched on the next delivery).
#pragma once

#include <string>

#include "relay/config/config.h"

namespace tlsrelay {

// Prints every cached policy (domain, id, mode, expiry, mx patterns) as a table
// or, with `json`, one JSON array. Returns the process exit code.
int runStsCacheList(const MtaStsConfig& config, bool json);

// Removes the cached policy of `domain`, or every cached policy when `domain`
// is "". Returns the process exit code.
int runStsCacheClear(const MtaStsConfig& config, const std::string& domain);

}  // namespace tlsrelay
