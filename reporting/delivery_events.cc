// Names of delivery events as they appear in logs and the accounting log.
#include "reporting/delivery_events.h"

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

const char* toString(SessionEvent::Kind kind) {
  switch (kind) {
    case SessionEvent::Kind::Connected:
      return "connected";
    case SessionEvent::Kind::TlsOutcome:
      return "tls";
    case SessionEvent::Kind::TransactionBegin:
      return "begin";
    case SessionEvent::Kind::Recipient:
      return "recipient";
    case SessionEvent::Kind::Commit:
      return "commit";
    case SessionEvent::Kind::Rollback:
      return "rollback";
    case SessionEvent::Kind::Closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace tlsrelay
