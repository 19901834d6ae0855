// Names of the TLS decision enums, as used in logs, the accounting log and config.
#include "policy/tls_decision.h"

namespace tlsrelay {

const char* toString(StartTlsMode m) {
  switch (m) {
    case StartTlsMode::Never:
      return "never";
    case StartTlsMode::Opportunistic:
      return "opportunistic";
    case StartTlsMode::Required:
      return "required";
  }
  return "unknown";
}

const char* toString(VerifyMode m) {
  switch (m) {
    case VerifyMode::None:
      return "none";
    case VerifyMode::Pkix:
      return "pkix";
    case VerifyMode::Dane:
      return "dane";
    case VerifyMode::Sts:
      return "sts";
  }
  return "unknown";
}

}  // namespace tlsrelay
