// Shared by the two files of the TLS layer (tls_context.cc, tls_engine.cc):
// the text of OpenSSL's queued errors, without exposing OpenSSL types.
#pragma once

#include <string>

namespace tlsrelay {

// The reason text of the first (root-cause) queued OpenSSL error, or "" when
// none; clears the thread's error queue so the next operation starts clean.
std::string takeOpenSslError();

}  // namespace tlsrelay
