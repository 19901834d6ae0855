// Names of DNS outcomes and security states, for logs and `policy explain`.
#include "dnssec/dns_answer.h"

namespace tlsrelay::dns {

const char* toString(Outcome o) {
  switch (o) {
    case Outcome::Found:
      return "found";
    case Outcome::NoData:
      return "nodata";
    case Outcome::NxDomain:
      return "nxdomain";
    case Outcome::TempFail:
      return "tempfail";
  }
  return "tempfail";
}

const char* toString(Security s) {
  switch (s) {
    case Security::Secure:
      return "secure";
    case Security::Insecure:
      return "insecure";
    case Security::Bogus:
      return "bogus";
  }
  return "insecure";
}

}  // namespace tlsrelay::dns
