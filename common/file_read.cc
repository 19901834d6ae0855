#include "common/file_read.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace tlsrelay {

Result<std::string> readWholeFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("cannot read " + path + ": " + std::strerror(errno));
  std::string out;
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    if (out.size() + static_cast<size_t>(in.gcount()) > limit)
      return makeError(path + " is larger than " + std::to_string(limit) + " bytes");
    out.append(buf, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return makeError("cannot read " + path + ": read error");
  return out;
}

}  // namespace tlsrelay
