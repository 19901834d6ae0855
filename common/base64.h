// Base64 (RFC 4648 §4), strict: SASL exchanges, DKIM keys and signatures,
// TLS report attachments all use the same alphabet with padding.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace tlsrelay {

// Padding required, no whitespace; "" decodes to "".
Result<std::string> base64Decode(std::string_view text);
std::string base64Encode(std::string_view bytes);

}  // namespace tlsrelay
