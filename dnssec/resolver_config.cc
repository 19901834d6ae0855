// Names of the DNSSEC modes, shared by configuration parsing and logs.
#include "dnssec/resolver.h"

namespace tlsrelay::dns {

std::optional<DnssecMode> parseDnssecMode(std::string_view text) {
  if (text == "trust-ad") return DnssecMode::TrustAd;
  if (text == "validate") return DnssecMode::Validate;
  return std::nullopt;
}

const char* toString(DnssecMode mode) {
  switch (mode) {
    case DnssecMode::TrustAd:
      return "trust-ad";
    case DnssecMode::Validate:
      return "validate";
  }
  return "trust-ad";
}

}  // namespace tlsrelay::dns
