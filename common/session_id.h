// Session ids: one per SMTP connection, inbound and outbound, on every log line
// of that connection and in the accounting and TLS results records, so one
// grep finds a whole conversation. "<8 hex digits fixed per process>-<counter>":
// unique within a process, and across restarts with overwhelming probability.
#pragma once

#include <string>

namespace tlsrelay {

std::string newSessionId();  // thread-safe

}  // namespace tlsrelay
