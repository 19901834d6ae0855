// FNV-1a 64 (draft-eastlake-fnv): a hash that is the same on every machine,
// build and run, for names derived from content (report ids, attachment
// names) and for spreading work by key. Not cryptographic: never for
// anything an adversary may choose to collide.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tlsrelay {

inline constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ull;

// Continue a hash by passing the previous result as `h`.
constexpr uint64_t fnv1a64(std::string_view data, uint64_t h = kFnv1a64Offset) {
  for (char c : data) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

// 16 lower-case hex digits.
std::string hex64(uint64_t value);

}  // namespace tlsrelay
