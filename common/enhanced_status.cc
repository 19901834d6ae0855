// RFC 3463 status values; see enhanced_status.h.
#include "common/enhanced_status.h"

#include <charconv>

namespace tlsrelay {

std::string EnhancedStatus::toString() const {
  return std::to_string(klass) + "." + std::to_string(subject) + "." + std::to_string(detail);
}

std::optional<EnhancedStatus> EnhancedStatus::parse(std::string_view text) {
  // RFC 3463 §2: status-code = class "." subject "." detail; class = "2"/"4"/"5",
  // subject and detail 1*3digit.
  unsigned parts[3] = {};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    const char* start = p;
    auto [next, ec] = std::from_chars(p, end, parts[i]);
    if (ec != std::errc{} || next == start || next - start > 3) return std::nullopt;
    p = next;
  }
  if (p != end) return std::nullopt;
  if (parts[0] != 2 && parts[0] != 4 && parts[0] != 5) return std::nullopt;
  return EnhancedStatus{static_cast<uint8_t>(parts[0]), static_cast<uint16_t>(parts[1]),
                        static_cast<uint16_t>(parts[2])};
}

}  // namespace tlsrelay
