// What the relay authenticates with to a smarthost (RFC 4954 AUTH). A secret:
// no log line, failure reason or reply text ever carries it.
#pragma once

#include <string>

namespace tlsrelay {

struct SmtpCredentials {
  std::string username;
  std::string password;
};

}  // namespace tlsrelay
