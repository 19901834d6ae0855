// EHLO keyword parsing; see ehlo_capabilities.h.
#include "relay/smtp/ehlo_capabilities.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace tlsrelay {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// RFC 1870 §4: "SIZE" [SP number]; a missing or unparsable value means no
// declared limit. Overflowing numbers saturate (a huge limit is no limit).
uint64_t parseSize(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - d) / 10) return UINT64_MAX;
    value = value * 10 + d;
  }
  return value;
}

}  // namespace

EhloCapabilities EhloCapabilities::parse(const SmtpReply& ehlo_reply) {
  EhloCapabilities caps;
  for (size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    auto parts = words(ehlo_reply.lines[i]);
    if (parts.empty()) continue;
    std::string keyword = upper(parts[0]);
    std::vector<std::string_view> params(parts.begin() + 1, parts.end());
    // Old servers announce "AUTH=PLAIN LOGIN" (pre-RFC 4954 syntax).
    if (keyword.rfind("AUTH=", 0) == 0) {
      params.insert(params.begin(), std::string_view(parts[0]).substr(5));
      keyword = "AUTH";
    }
    if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "SIZE") {
      caps.size_known = true;
      caps.max_size = params.empty() ? 0 : parseSize(params[0]);
    } else if (keyword == "8BITMIME") {
      caps.eightbitmime = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhancedstatuscodes = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "REQUIRETLS") {
      caps.requiretls = true;
    } else if (keyword == "CHUNKING") {
      caps.chunking = true;
    } else if (keyword == "AUTH") {
      for (auto p : params) {
        std::string mech = upper(p);
        if (!mech.empty() && std::find(caps.auth.begin(), caps.auth.end(), mech) == caps.auth.end()) {
          caps.auth.push_back(std::move(mech));
        }
      }
    }
  }
  return caps;
}

}  // namespace tlsrelay
