// ASCII case handling for protocol text (domain names, header names, SMTP
// keywords, TOML keys). Never locale-dependent: std::tolower would fold
// bytes of UTF-8 names differently under another locale.
#pragma once

#include <string>
#include <string_view>

namespace tlsrelay {

constexpr char toLowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowerAscii(std::string_view text);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
// A header field name as configuration files and DKIM h= lists take it:
// 1..76 letters, digits and hyphens (RFC 5322 allows more; no real field uses it).
bool isFieldNameToken(std::string_view name);

// A domain as we compare and key it: ASCII lower case, no trailing root dot.
std::string normalizeDomain(std::string_view domain);

}  // namespace tlsrelay
