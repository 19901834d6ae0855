// Reading what a request's URL carries: percent-decoded path segments and
// query values (RFC 3986 §2.1; '+' is a space only in a query, per the
// application/x-www-form-urlencoded rules browsers follow).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsrelay {

// "%2F" and the like decoded; a malformed escape stays as it is; '+' stays '+'.
std::string percentDecode(std::string_view text);
// The first value of `name` in a query string ("a=1&b=x+y"); nullopt when absent.
std::optional<std::string> queryValue(std::string_view query, std::string_view name);

}  // namespace tlsrelay
