// Canonical form and syntax check for domain names (see dns_name.h).
#include "dnssec/dns_name.h"

#include "common/ascii.h"

namespace tlsrelay::dns {

namespace {

bool isLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string> normalizeDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // RFC 1035 §2.3.4: 255 octets on the wire, i.e. 253 characters in text.
  if (name.empty() || name.size() > kMaxDnsNameLength) return std::nullopt;
  std::string out;
  out.reserve(name.size());
  size_t label_length = 0;
  for (char c : name) {
    c = toLowerAscii(c);
    if (c == '.') {
      if (label_length == 0) return std::nullopt;  // empty label ("a..b", ".a")
      label_length = 0;
    } else {
      if (!isLabelChar(c)) return std::nullopt;
      if (++label_length > 63) return std::nullopt;  // RFC 1035 §2.3.4: labels <= 63 octets
    }
    out.push_back(c);
  }
  if (label_length == 0) return std::nullopt;
  return out;
}

}  // namespace tlsrelay::dns
