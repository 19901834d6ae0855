// ASCII case helpers; see ascii.h.
#include "common/ascii.h"

#include <algorithm>

namespace tlsrelay {

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = toLowerAscii(c);
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) return false;
  return true;
}

std::string normalizeDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  return lowerAscii(domain);
}

std::string_view trimWsp(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string printableAscii(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

namespace {

bool isAlnumAscii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool isAtext(char c) {
  return isAlnumAscii(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool isLdhDomain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= d.size(); ++i) {
    if (i == d.size() || d[i] == '.') {
      if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-') return false;
      label = 0;
    } else if (isAlnumAscii(d[i]) || d[i] == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

bool isTxtRecordFieldName(std::string_view name) {
  if (name.empty() || name.size() > 32 || !isAlnumAscii(name.front())) return false;
  for (char c : name)
    if (!isAlnumAscii(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

bool isPlainMailbox(std::string_view m) {
  const size_t at = m.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  std::string_view local = m.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (char c : local)
    if (!isAtext(c) && c != '.') return false;
  return isLdhDomain(m.substr(at + 1));
}

bool isFieldNameToken(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace tlsrelay
