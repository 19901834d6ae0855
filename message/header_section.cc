// RFC 5322 header-section reader; see header_section.h.
#include "message/header_section.h"

namespace tlsrelay {
namespace {

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

// §2.2: a field name of printable ASCII but the colon, optionally followed
// by WSP (§4.5), then the colon.
bool startsField(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) return false;
  }
  return true;
}

std::string_view withoutLineEnd(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<HeaderField> HeaderSectionReader::line(std::string_view text) {
  if (!in_header_) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  // §2.2.3: a line starting with WSP continues the previous field; unfolding
  // removes only the line break, so the WSP stays in the value.
  if (!text.empty() && isWsp(text.front())) {
    if (in_field_) appendValue(text);
    return std::nullopt;
  }
  std::optional<HeaderField> done = finishField();
  // §2.1: an empty line ends the header section. A line that is not a field
  // (no name before a colon) ends it too: from there on it is body.
  size_t colon = text.find(':');
  if (text.empty() || colon == std::string_view::npos || colon == 0) {
    in_header_ = false;
    return done;
  }
  // §2.2 field-name: printable ASCII except colon; §4.5 (obsolete syntax)
  // allows WSP between the name and the colon.
  std::string_view name = text.substr(0, colon);
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) {
      in_header_ = false;
      return done;
    }
  }
  in_field_ = true;
  if (name.size() > max_value_) {
    name = name.substr(0, max_value_);
    field_.truncated = true;
  }
  field_.name.assign(name);
  appendValue(text.substr(colon + 1));
  return done;
}

std::optional<HeaderField> HeaderSectionReader::end() {
  std::optional<HeaderField> done = finishField();
  in_header_ = false;
  return done;
}

void HeaderSectionReader::appendValue(std::string_view text) {
  for (char c : text) {
    if (isWsp(c)) {
      space_pending_ = !field_.value.empty();
      continue;
    }
    if (field_.value.size() + (space_pending_ ? 2 : 1) > max_value_) {
      field_.truncated = true;
      return;
    }
    if (space_pending_) field_.value.push_back(' ');
    space_pending_ = false;
    field_.value.push_back(c);
  }
}

std::optional<HeaderField> HeaderSectionReader::finishField() {
  if (!in_field_) return std::nullopt;
  in_field_ = false;
  space_pending_ = false;
  HeaderField done = std::move(field_);
  field_ = HeaderField{};
  return done;
}

std::vector<HeaderField> parseHeaderSection(std::string_view message, size_t max_value) {
  std::vector<HeaderField> fields;
  HeaderSectionReader reader(max_value);
  size_t pos = 0;
  while (pos < message.size() && reader.inHeader()) {
    size_t nl = message.find('\n', pos);
    size_t stop = nl == std::string_view::npos ? message.size() : nl + 1;
    if (auto f = reader.line(message.substr(pos, stop - pos))) fields.push_back(std::move(*f));
    pos = stop;
  }
  if (auto f = reader.end()) fields.push_back(std::move(*f));
  return fields;
}

RawHeaderFields splitRawHeaderFields(std::string_view message) {
  RawHeaderFields out;
  size_t pos = 0;
  size_t field_start = std::string_view::npos;
  size_t field_end = 0;  // end of the field's last line, line end excluded
  auto close = [&] {
    if (field_start != std::string_view::npos)
      out.fields.push_back(message.substr(field_start, field_end - field_start));
    field_start = std::string_view::npos;
  };
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    size_t stop = nl == std::string_view::npos ? message.size() : nl + 1;
    std::string_view line = withoutLineEnd(message.substr(pos, stop - pos));
    if (!line.empty() && isWsp(line.front()) && field_start != std::string_view::npos) {
      field_end = pos + line.size();
    } else if (!line.empty() && startsField(line)) {
      close();
      field_start = pos;
      field_end = pos + line.size();
    } else {
      close();
      // The blank line belongs to neither part; any other line is the body's first.
      out.body = message.substr(line.empty() ? stop : pos);
      return out;
    }
    pos = stop;
  }
  close();
  out.body = message.substr(message.size());
  return out;
}

std::string_view headerSection(std::string_view message) {
  if (message.substr(0, 2) == "\r\n") return message.substr(0, 2);
  if (message.substr(0, 1) == "\n") return message.substr(0, 1);
  size_t crlf = message.find("\r\n\r\n");
  size_t lf = message.find("\n\n");
  size_t end = std::string_view::npos;
  if (crlf != std::string_view::npos) end = crlf + 4;
  if (lf != std::string_view::npos && (end == std::string_view::npos || lf + 2 < end)) end = lf + 2;
  return end == std::string_view::npos ? message : message.substr(0, end);
}

}  // namespace tlsrelay
