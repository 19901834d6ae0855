// `tlsrelay status`: asks the running daemon over its control socket how it
// is (running or draining, uptime, queue size, listeners). Exit 0 when it
// answers, 1 otherwise: the container HEALTHCHECK.
#pragma once

#include <string>

namespace tlsrelay {

// `config_path` (empty = embedded default) names the spool, where the socket is.
int runStatus(const std::string& config_path, bool json, int timeout_seconds);

}  // namespace tlsrelay
