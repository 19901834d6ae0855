// Reading a request's query string: percent-decoded values (RFC 3986 §2.1,
// '+' a space as in application/x-www-form-urlencoded, which browsers send).
// The path needs no decoding: H2O hands it over decoded (HttpRequest::path).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tlsrelay {

// The first value of `name` in a query string ("a=1&b=x+y"); nullopt when absent.
std::optional<std::string> queryValue(std::string_view query, std::string_view name);

}  // namespace tlsrelay
