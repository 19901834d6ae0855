// Queue ids: the name of a message in the spool, in logs and in `tlsrelay
// queue`. They must be unique (across restarts and across two processes on one
// spool), sort in arrival order (so recovery and `queue list` show the oldest
// first) and be safe as file names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlsrelay {

// 26 upper-case hex digits: 14 of microseconds since the epoch, 4 of a
// sequence number within that microsecond, 8 random. Thread-safe; strictly
// increasing within one process even if the clock steps back.
std::string newQueueId();

// Builds an id from its parts (what newQueueId uses; exposed for tests).
std::string formatQueueId(uint64_t micros, uint16_t sequence, uint32_t random);

// True for names the spool accepts as ids: 1..64 characters of [0-9A-Za-z].
// Every id that reaches a file path passes this check first, so "../x" or
// "a/b" from the CLI can never escape the spool directory.
bool isValidQueueId(std::string_view id);

}  // namespace tlsrelay
