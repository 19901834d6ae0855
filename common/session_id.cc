// See session_id.h.
#include "common/session_id.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <random>

namespace tlsrelay {

std::string newSessionId() {
  static const uint32_t prefix = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x-%llx", prefix, static_cast<unsigned long long>(++counter));
  return buf;
}

}  // namespace tlsrelay
