// Reading a whole small file (a key, a message given on the command line)
// into memory, refusing one larger than the caller's limit so a wrong path
// (a device, a huge log) fails clearly instead of exhausting memory.
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace tlsrelay {

// The error names the path and says what went wrong; it never quotes content.
Result<std::string> readWholeFile(const std::string& path, size_t limit);

}  // namespace tlsrelay
