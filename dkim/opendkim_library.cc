#include "dkim/opendkim_library.h"

#include <vector>

#include "message/header_section.h"

namespace tlsrelay::dkim {

Result<Library> openLibrary() {
  Library lib(dkim_init(nullptr, nullptr));
  if (!lib) return makeError("libopendkim could not be initialised");
  unsigned int flags = 0;
  if (dkim_options(lib.get(), DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK)
    return makeError("libopendkim: cannot read its flags");
  flags |= DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
  if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK)
    return makeError("libopendkim: cannot set its flags");
  return lib;
}

DKIM_STAT feedMessage(DKIM* handle, std::string_view message) {
  RawHeaderFields split = splitRawHeaderFields(message);
  std::string field;
  for (std::string_view raw : split.fields) {
    field.assign(raw);  // libopendkim's API takes a mutable buffer
    DKIM_STAT st = dkim_header(handle, reinterpret_cast<u_char*>(field.data()), field.size());
    if (st != DKIM_STAT_OK) return st;
  }
  DKIM_STAT st = dkim_eoh(handle);
  if (st != DKIM_STAT_OK) return st;
  if (split.body.empty()) return DKIM_STAT_OK;
  // dkim_body does not write to its input despite the non-const signature.
  auto* body = reinterpret_cast<u_char*>(const_cast<char*>(split.body.data()));
  return dkim_body(handle, body, split.body.size());
}

std::string statusText(DKIM* handle, DKIM_STAT status) {
  const char* detail = handle != nullptr ? dkim_geterror(handle) : nullptr;
  const char* name = dkim_getresultstr(status);
  std::string out = name != nullptr ? name : "unknown libopendkim status";
  if (detail != nullptr && *detail != '\0') out += std::string(": ") + detail;
  return out;
}

}  // namespace tlsrelay::dkim
