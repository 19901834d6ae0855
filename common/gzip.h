// gzip (RFC 1952) through zlib: TLS reports travel gzip-compressed (RFC 8460
// §5.1) and arrive that way. Decompression has an output limit, because a
// received report is untrusted and a few KiB of gzip can expand to gigabytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace tlsrelay {

std::string gzipCompress(std::string_view data);

// The whole uncompressed stream; an error when it is not gzip, is truncated
// or corrupt, or would exceed `limit` bytes. Concatenated members are read
// as one (RFC 1952 §2.2).
Result<std::string> gzipDecompress(std::string_view data, size_t limit);

inline bool looksGzipped(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

}  // namespace tlsrelay
