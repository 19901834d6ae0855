// The one reader of RFC 5322 header sections (§2.2): fed a message one line at
// a time (as the SMTP server streams DATA) or given a whole message, it yields
// each header field with its name and its unfolded value. Used for the
// Received count (loop detection), RFC 8689 TLS-Required and the header part
// of DSNs. Memory stays bounded whatever the sender writes: a value longer
// than the reader's limit is cut and marked truncated (a name too).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay {

struct HeaderField {
  std::string name;   // as written (compare with equalsIgnoreCase)
  std::string value;  // unfolded; runs of WSP squeezed to one space, none at either end
  bool truncated = false;
};

class HeaderSectionReader {
 public:
  explicit HeaderSectionReader(size_t max_value = 998) : max_value_(max_value) {}

  // One line of the message, with or without its CRLF/LF. Returns the field
  // this line completed (a field ends where the next unfolded line starts).
  std::optional<HeaderField> line(std::string_view text);
  // The message (or its header section) ended: returns the last field, if open.
  std::optional<HeaderField> end();
  // False once the blank line (or a line that is not a field) ended the header section.
  bool inHeader() const { return in_header_; }

 private:
  std::optional<HeaderField> finishField();
  void appendValue(std::string_view text);

  size_t max_value_;
  bool in_header_ = true;
  bool in_field_ = false;
  bool space_pending_ = false;
  HeaderField field_;
};

// Every field of the header section of `message` (CRLF or LF line ends).
std::vector<HeaderField> parseHeaderSection(std::string_view message, size_t max_value = 998);

// The header section as written, for code that must see the exact bytes (DKIM
// canonicalisation): each field with its folding line breaks but without the
// line end that closes it, and the body after the blank line. A line that is
// neither a field nor a continuation ends the header section there, as in
// HeaderSectionReader; it then starts the body.
struct RawHeaderFields {
  std::vector<std::string_view> fields;
  std::string_view body;
};
RawHeaderFields splitRawHeaderFields(std::string_view message);

// The header section of `message` including the blank line that ends it (the
// whole message when it has no body).
std::string_view headerSection(std::string_view message);

}  // namespace tlsrelay
