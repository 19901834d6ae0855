// Domain-name hygiene for names we query and names that come back in answers:
// one canonical form (lower case, no trailing dot) and a strict syntax check,
// so hostile or malformed names never reach MX plans, caches or logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsrelay::dns {

// Longest presentation-form name (without the trailing dot) that fits the
// 255-octet wire limit of RFC 1035 §2.3.4.
inline constexpr size_t kMaxDnsNameLength = 253;

// Lower-cases, strips one trailing dot and checks: 1..253 characters, labels of
// 1..63 characters made of letters, digits, '-' and '_' (for _25._tcp and
// _mta-sts style owners). Returns nullopt for anything else, including the root
// name, escapes (\032), empty labels and non-ASCII bytes.
std::optional<std::string> normalizeDnsName(std::string_view name);

}  // namespace tlsrelay::dns
