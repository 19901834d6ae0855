#include "dkim/canonicalization.h"

#include "common/ascii.h"

namespace tlsrelay::dkim {
namespace {

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

// Appends `text` with WSP runs squeezed to one space and trailing WSP dropped.
void appendSqueezed(std::string& out, std::string_view text) {
  bool space = false;
  for (char c : text) {
    if (isWsp(c)) {
      space = true;
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
}

}  // namespace

std::string_view fieldName(std::string_view raw_field) {
  size_t colon = raw_field.find(':');
  std::string_view name = raw_field.substr(0, colon == std::string_view::npos ? raw_field.size() : colon);
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  return name;
}

std::string canonicalHeader(std::string_view raw_field, Canonicalization c) {
  if (c == Canonicalization::Simple) return std::string(raw_field) + "\r\n";
  size_t colon = raw_field.find(':');
  std::string out = lowerAscii(fieldName(raw_field));
  out.push_back(':');
  if (colon == std::string_view::npos) return out + "\r\n";
  // Unfold (drop the line breaks, keep the WSP after them), squeeze WSP,
  // drop WSP at both ends of the value.
  std::string unfolded;
  for (char ch : raw_field.substr(colon + 1))
    if (ch != '\r' && ch != '\n') unfolded.push_back(ch);
  size_t start = 0;
  while (start < unfolded.size() && isWsp(unfolded[start])) ++start;
  appendSqueezed(out, std::string_view(unfolded).substr(start));
  return out + "\r\n";
}

std::string canonicalBody(std::string_view body, Canonicalization c) {
  std::string out;
  out.reserve(body.size() + 2);
  size_t pending_empty = 0;  // empty lines seen but not written: dropped if nothing follows
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? body.size() : nl + 1;
    std::string canonical;
    if (c == Canonicalization::Relaxed) {
      appendSqueezed(canonical, line);
    } else {
      canonical.assign(line);
    }
    if (canonical.empty()) {
      ++pending_empty;
      continue;
    }
    for (; pending_empty > 0; --pending_empty) out += "\r\n";
    out += canonical;
    out += "\r\n";
  }
  if (out.empty() && c == Canonicalization::Simple) return "\r\n";
  return out;
}

std::vector<int> selectSignedFields(const std::vector<std::string_view>& fields,
                                    const std::vector<std::string>& signed_names) {
  std::vector<bool> taken(fields.size(), false);
  std::vector<int> out;
  out.reserve(signed_names.size());
  for (const std::string& name : signed_names) {
    int chosen = -1;
    for (size_t i = fields.size(); i-- > 0;) {
      if (!taken[i] && equalsIgnoreCase(fieldName(fields[i]), name)) {
        chosen = static_cast<int>(i);
        taken[i] = true;
        break;
      }
    }
    out.push_back(chosen);
  }
  return out;
}

}  // namespace tlsrelay::dkim
