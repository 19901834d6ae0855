// Comparing secrets (passwords hashes, bearer tokens) without an early exit,
// so the time taken says nothing about how much of a guess was right.
#pragma once

#include <string_view>

namespace tlsrelay {

// True when `given` equals `expected`. Runs in time proportional to the
// length of `expected` whatever `given` is; only that length can leak.
bool constantTimeEquals(std::string_view expected, std::string_view given);

}  // namespace tlsrelay
