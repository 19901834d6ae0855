// What the next hop announced in its EHLO reply (RFC 5321 §4.1.1.1): the
// extensions the client session may use. Parsed once per EHLO; after STARTTLS
// the old value is thrown away (RFC 3207 §4.2).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relay/smtp/smtp_reply.h"

namespace tlsrelay {

struct EhloCapabilities {
  bool pipelining = false;           // RFC 2920
  bool starttls = false;             // RFC 3207
  bool size_known = false;           // RFC 1870 SIZE offered
  bool eightbitmime = false;         // RFC 6152
  bool smtputf8 = false;             // RFC 6531
  bool enhancedstatuscodes = false;  // RFC 2034
  bool dsn = false;                  // RFC 3461
  bool requiretls = false;           // RFC 8689
  bool chunking = false;             // RFC 3030
  uint64_t max_size = 0;             // SIZE value; 0 = offered without a fixed limit
  std::vector<std::string> auth;     // mechanisms, upper case

  // Lines after the first (the greeting text) are "KEYWORD [params]";
  // keywords are case-insensitive. Unknown keywords are ignored.
  static EhloCapabilities parse(const SmtpReply& ehlo_reply);
};

}  // namespace tlsrelay
