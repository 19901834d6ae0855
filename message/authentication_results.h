// The Authentication-Results header field (RFC 8601): what this relay found
// when it checked a message (DKIM now, SPF for RKEY later), written for the
// next reader, and the check that a received field claims to come from us
// (such fields are forgeries and are removed, §5). Pure.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsrelay {

struct AuthResult {
  std::string method;  // "dkim"
  std::string result;  // "pass", "none", …
  std::string reason;  // optional free text; quoted on output
  // ptype.property = value, e.g. {"header.d", "example.com"}; quoted when needed.
  std::vector<std::pair<std::string, std::string>> properties;
};

// "Authentication-Results: <authserv-id>;\r\n\t<result>;\r\n\t<result>\r\n",
// one result per line; "none" (§2.2) when `results` is empty.
std::string authenticationResultsField(std::string_view authserv_id, const std::vector<AuthResult>& results);

// True when an Authentication-Results value (unfolded) names `authserv_id`
// as its author (case-insensitive; a version number after it allowed).
bool claimsAuthservId(std::string_view value, std::string_view authserv_id);

}  // namespace tlsrelay
