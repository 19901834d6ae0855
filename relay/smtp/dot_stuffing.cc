// DATA payload production (RFC 5321 §4.5.2 transparency); see dot_stuffing.h.
#include "relay/smtp/dot_stuffing.h"

namespace tlsrelay {

void appendDotStuffed(std::string_view message, std::string& out) {
  out.reserve(out.size() + message.size() + message.size() / 64 + 8);
  bool at_line_start = true;
  size_t i = 0;
  while (i < message.size()) {
    // Copy a run of ordinary bytes in one go.
    size_t run_end = message.find_first_of("\r\n", i);
    if (run_end == std::string_view::npos) run_end = message.size();
    if (run_end > i) {
      // RFC 5321 §4.5.2: a line starting with "." gets one more "." in front.
      if (at_line_start && message[i] == '.') out += '.';
      out.append(message.substr(i, run_end - i));
      at_line_start = false;
      i = run_end;
      continue;
    }
    // message[i] is CR or LF: CRLF, bare LF and bare CR all end the line as CRLF.
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
      i += 2;
    } else {
      i += 1;
    }
    out += "\r\n";
    at_line_start = true;
  }
  if (!at_line_start) out += "\r\n";  // final line without a line end
  out += ".\r\n";
}

std::string dotStuffForData(std::string_view message) {
  std::string out;
  appendDotStuffed(message, out);
  return out;
}

}  // namespace tlsrelay
