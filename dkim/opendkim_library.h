// The verifier's use of libopendkim: owning handles and feeding it a message.
// Private to dkim/ (its C header stays out of every other folder).
#pragma once

// dkim.h is C and spells its booleans _Bool, which C++ lacks; C's _Bool and
// C++'s bool share one ABI on every platform we build for.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay::dkim {

struct LibraryClose {
  void operator()(DKIM_LIB* lib) const { dkim_close(lib); }
};
struct HandleFree {
  void operator()(DKIM* handle) const { dkim_free(handle); }
};
using Library = std::unique_ptr<DKIM_LIB, LibraryClose>;
using Handle = std::unique_ptr<DKIM, HandleFree>;

// A library instance with the options every use wants: CRLF repair for
// LF-only input, and signatures with syntax errors kept so they can be reported.
Result<Library> openLibrary();

// Feeds header fields, end of header and body. The message has CRLF (or LF)
// line ends and is not dot-stuffed. Returns the status of the first step that
// did not succeed, DKIM_STAT_OK otherwise.
DKIM_STAT feedMessage(DKIM* handle, std::string_view message);

std::string statusText(DKIM* handle, DKIM_STAT status);

}  // namespace tlsrelay::dkim
