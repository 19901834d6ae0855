// See smarthost_credentials.h.
#include "relay/config/smarthost_credentials.h"

#include "common/file_read.h"

namespace tlsrelay {

Result<SmtpCredentials> parseSmarthostCredentials(std::string_view text) {
  std::string_view line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return makeError("first line is not \"user:password\"");
  SmtpCredentials c{std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))};
  if (c.username.empty()) return makeError("the user name (before ':') is empty");
  if (c.password.empty()) return makeError("the password (after ':') is empty");
  // Anything below 0x20 would break the base64 SASL exchange or a log line of ours.
  for (std::string_view part : {std::string_view(c.username), std::string_view(c.password)})
    for (char ch : part)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        return makeError("control characters in the user name or password");
  return c;
}

Result<SmtpCredentials> readSmarthostCredentials(const std::string& path) {
  auto text = readWholeFile(path, 64 * 1024);
  if (!text.ok()) return makeError("cannot read " + path + ": " + text.error().message);
  auto c = parseSmarthostCredentials(text.value());
  if (!c.ok()) return makeError(path + ": " + c.error().message);
  return c;
}

}  // namespace tlsrelay
