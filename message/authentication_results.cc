#include "message/authentication_results.h"

#include "common/ascii.h"

namespace tlsrelay {
namespace {

// RFC 2045 token characters: printable ASCII without space and tspecials.
bool isTokenChar(char c) {
  if (c <= ' ' || c >= 127) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\r' || c == '\n') c = ' ';
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// §2.2 pvalue: a token, an address ([local-part] "@" domain) or a quoted string.
std::string propertyValue(std::string_view value) {
  bool token = !value.empty();
  for (char c : value) token = token && isTokenChar(c);
  if (token) return std::string(value);
  size_t at = value.rfind('@');
  if (at != std::string_view::npos && value.find('@') == at) {
    bool address = at + 1 < value.size();
    for (size_t i = 0; i < value.size(); ++i) {
      if (i != at) address = address && (isTokenChar(value[i]) || value[i] == '.');
    }
    if (address) return std::string(value);
  }
  return quoted(value);
}

}  // namespace

std::string authenticationResultsField(std::string_view authserv_id, const std::vector<AuthResult>& results) {
  std::string out = "Authentication-Results: ";
  out += authserv_id;
  if (results.empty()) return out + "; none\r\n";
  for (const AuthResult& r : results) {
    out += ";\r\n\t" + r.method + "=" + r.result;
    if (!r.reason.empty()) out += " reason=" + quoted(r.reason);
    for (const auto& [name, value] : r.properties) out += " " + name + "=" + propertyValue(value);
  }
  return out + "\r\n";
}

bool claimsAuthservId(std::string_view value, std::string_view authserv_id) {
  size_t start = 0;
  while (start < value.size() && (value[start] == ' ' || value[start] == '\t')) ++start;
  size_t end = start;
  while (end < value.size() && value[end] != ';' && value[end] != ' ' && value[end] != '\t' &&
         value[end] != '(')
    ++end;
  return equalsIgnoreCase(value.substr(start, end - start), authserv_id);
}

}  // namespace tlsrelay
