// See hex.h.
#include "common/hex.h"

namespace tlsrelay {

void appendHexByte(std::string& out, unsigned char byte, HexCase letters) {
  const char* digits = letters == HexCase::Upper ? "0123456789ABCDEF" : "0123456789abcdef";
  out.push_back(digits[byte >> 4]);
  out.push_back(digits[byte & 0xf]);
}

std::string hexBytes(std::string_view bytes, HexCase letters, char separator) {
  std::string out;
  out.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0 && separator != '\0') out.push_back(separator);
    appendHexByte(out, static_cast<unsigned char>(bytes[i]), letters);
  }
  return out;
}

}  // namespace tlsrelay
