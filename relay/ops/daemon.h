// `tlsrelay serve`: wires config, spool, resolver, policy, listeners and the
// delivery engine onto one libuv loop, and handles SIGHUP (reload) and
// SIGTERM/SIGINT (graceful drain).
#pragma once

#include <string>

namespace tlsrelay {

// `config_path` empty = the embedded default configuration. Returns the exit code.
int runServe(const std::string& config_path);

}  // namespace tlsrelay
