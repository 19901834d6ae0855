// The parts of an RFC 5321 mailbox that routing decisions look at. The domain
// is what follows the last '@': a quoted local part may itself contain '@'
// (and "@["), so a substring search would misread it.
#pragma once

#include <string_view>

namespace tlsrelay {

// The domain of "local@domain", or "" when there is no '@'.
inline std::string_view addressDomain(std::string_view mailbox) {
  size_t at = mailbox.rfind('@');
  return at == std::string_view::npos ? std::string_view() : mailbox.substr(at + 1);
}

// "local@[192.0.2.1]" or "local@[IPv6:…]" (RFC 5321 §4.1.3).
inline bool isAddressLiteral(std::string_view mailbox) {
  std::string_view domain = addressDomain(mailbox);
  return !domain.empty() && domain.front() == '[';
}

}  // namespace tlsrelay
