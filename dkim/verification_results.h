// DKIM verdicts as Authentication-Results entries (RFC 8601 §2.7.1, with
// header.d / header.i / header.s / header.a and RFC 6008's header.b).
#pragma once

#include <vector>

#include "dkim/dkim_verifier.h"
#include "message/authentication_results.h"

namespace tlsrelay::dkim {

// One "dkim=…" entry per signature; a single "dkim=none" when there are none.
std::vector<AuthResult> toAuthResults(const std::vector<SignatureVerdict>& verdicts);

}  // namespace tlsrelay::dkim
