// The configuration compiled into the binary, so that `tlsrelay serve` runs
// with no file at all. Its text is identical to etc/relay.toml (a unit test
// compares them byte for byte).
#pragma once

#include <string_view>

namespace tlsrelay {

std::string_view embeddedDefaultConfig();

}  // namespace tlsrelay
