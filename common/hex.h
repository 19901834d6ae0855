// Hexadecimal spelling of bytes, for the places that write it: xtext and
// URL escapes, JSON \u00XX, TLSA data, certificate fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace tlsrelay {

enum class HexCase { Lower, Upper };

// Two hex digits of `byte` appended to `out`.
void appendHexByte(std::string& out, unsigned char byte, HexCase letters = HexCase::Upper);
// Every byte as two digits, `separator` between bytes when not '\0' ("AB:CD").
std::string hexBytes(std::string_view bytes, HexCase letters, char separator = '\0');

}  // namespace tlsrelay
