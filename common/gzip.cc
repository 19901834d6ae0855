#include "common/gzip.h"

#include <zlib.h>

#include <cstring>

namespace tlsrelay {

std::string gzipCompress(std::string_view data) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  // windowBits 15 + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(rc == Z_STREAM_END ? z.total_out : 0);
  deflateEnd(&z);
  return out;
}

Result<std::string> gzipDecompress(std::string_view data, size_t limit) {
  if (!looksGzipped(data)) return makeError("not gzip data");
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16) != Z_OK) return makeError("zlib could not be initialised");
  std::string out;
  char chunk[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > limit) {
      inflateEnd(&z);
      return makeError("gzip data expands beyond " + std::to_string(limit) + " bytes");
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another member follows.
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (z.avail_in == 0 && z.avail_out != 0) break;  // input ended mid-stream
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return makeError("gzip data is truncated or corrupt");
  return out;
}

}  // namespace tlsrelay
