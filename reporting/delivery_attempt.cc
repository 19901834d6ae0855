// Names of attempt results as they appear in the accounting log.
#include "reporting/delivery_attempt.h"

namespace tlsrelay {

const char* toString(AttemptResult r) {
  switch (r) {
    case AttemptResult::Delivered:
      return "delivered";
    case AttemptResult::Deferred:
      return "deferred";
    case AttemptResult::Bounced:
      return "bounced";
  }
  return "deferred";
}

}  // namespace tlsrelay
