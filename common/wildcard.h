// Shell-style patterns for address and domain lists in configuration files
// ("*@example.com", "news-??@*.example.org"): '*' stands for any run of
// characters (also none), '?' for exactly one; everything else matches
// itself, ignoring ASCII case. Pure.
#pragma once

#include <string_view>

namespace tlsrelay {

bool wildcardMatch(std::string_view pattern, std::string_view text);

}  // namespace tlsrelay
