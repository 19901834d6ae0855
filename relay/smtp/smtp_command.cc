// Pure SMTP command-line parsing; see smtp_command.h for what is owned here.
#include "relay/smtp/smtp_command.h"

#include <array>
#include <cctype>
#include <optional>

#include "common/cidr.h"
#include "common/hex.h"

namespace tlsrelay::smtp {
namespace {

char upper(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (upper(s[i]) != upper(prefix[i])) return false;
  }
  return true;
}

bool isAlpha(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool isDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool isLetDig(unsigned char c) {
  return isAlpha(c) || isDigit(c);
}

// RFC 5322 §3.2.3 atext (ASCII part).
bool isAtext(unsigned char c) {
  if (isLetDig(c)) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

// Length of the UTF-8 sequence starting at s[i] if well formed, else 0.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF)
    return 0;                                  // overlong / out of range
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;  // surrogates
  return len;
}

// Dot-string or Quoted-string (RFC 5321 §4.1.2), UTF-8 allowed (RFC 6531 §3.3).
Status validateLocalPart(std::string_view local, bool& non_ascii) {
  if (local.empty()) return makeError("empty local part");
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return makeError("unterminated quoted local part");
    for (size_t i = 1; i + 1 < local.size();) {
      unsigned char c = static_cast<unsigned char>(local[i]);
      if (c == '\\') {  // quoted-pairSMTP = %d92 %d32-126
        if (i + 2 >= local.size()) return makeError("dangling backslash in quoted local part");
        unsigned char n = static_cast<unsigned char>(local[i + 1]);
        if (n < 32 || n > 126) return makeError("bad quoted pair");
        i += 2;
      } else if (c >= 0x80) {
        size_t len = utf8SequenceLength(local, i);
        if (len == 0) return makeError("invalid UTF-8 in local part");
        non_ascii = true;
        i += len;
      } else if (c == '"' || c < 32 || c > 126) {  // qtextSMTP excludes DQUOTE and controls
        return makeError("bad character in quoted local part");
      } else {
        ++i;
      }
    }
    return okStatus();
  }
  bool atom_empty = true;
  for (size_t i = 0; i < local.size();) {
    unsigned char c = static_cast<unsigned char>(local[i]);
    if (c == '.') {
      if (atom_empty) return makeError("empty atom in local part");
      atom_empty = true;
      ++i;
    } else if (c >= 0x80) {
      size_t len = utf8SequenceLength(local, i);
      if (len == 0) return makeError("invalid UTF-8 in local part");
      non_ascii = true;
      atom_empty = false;
      i += len;
    } else if (isAtext(c)) {
      atom_empty = false;
      ++i;
    } else {
      return makeError("bad character in local part");
    }
  }
  if (atom_empty) return makeError("local part ends with a dot");
  return okStatus();
}

// Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str];
// U-labels allowed (RFC 6531 §3.3). Address literals are handled separately.
Status validateDomainName(std::string_view domain, bool& non_ascii) {
  if (domain.empty()) return makeError("empty domain");
  if (domain.size() > 255) return makeError("domain too long");
  size_t label_start = 0;
  for (size_t i = 0; i <= domain.size();) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(label_start, i - label_start);
      if (label.empty()) return makeError("empty domain label");
      if (label.size() > 63) return makeError("domain label too long");
      if (label.back() == '-' || label.front() == '-')
        return makeError("domain label starts or ends with '-'");
      ++i;
      label_start = i;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(domain[i]);
    if (c >= 0x80) {
      size_t len = utf8SequenceLength(domain, i);
      if (len == 0) return makeError("invalid UTF-8 in domain");
      non_ascii = true;
      i += len;
    } else if (isLetDig(c) || c == '-') {
      ++i;
    } else {
      return makeError("bad character in domain");
    }
  }
  return okStatus();
}

// address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General-address-literal ) "]"
Status validateAddressLiteral(std::string_view literal) {
  if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']')
    return makeError("bad address literal");
  std::string_view inner = literal.substr(1, literal.size() - 2);
  if (startsWithNoCase(inner, "IPv6:")) {
    std::string_view v6 = inner.substr(5);
    if (v6.find(':') == std::string_view::npos) return makeError("bad IPv6 address literal");
    auto ip = IpAddress::parse(v6);
    if (!ip || ip->is_v4) return makeError("bad IPv6 address literal");
    return okStatus();
  }
  size_t colon = inner.find(':');
  if (colon == std::string_view::npos) {
    if (inner.find_first_not_of("0123456789.") != std::string_view::npos)
      return makeError("bad IPv4 address literal");
    auto ip = IpAddress::parse(inner);
    if (!ip || !ip->is_v4) return makeError("bad IPv4 address literal");
    return okStatus();
  }
  // General-address-literal = Standardized-tag ":" 1*dcontent (dcontent = %d33-90 / %d94-126)
  std::string_view tag = inner.substr(0, colon);
  std::string_view content = inner.substr(colon + 1);
  if (tag.empty() || content.empty()) return makeError("bad general address literal");
  for (unsigned char c : tag) {
    if (!isLetDig(c) && c != '-') return makeError("bad address literal tag");
  }
  for (unsigned char c : content) {
    if (c < 33 || c > 126 || (c >= 91 && c <= 93)) return makeError("bad address literal content");
  }
  return okStatus();
}

// Splits the path "<...>" off the front of `text`; returns the inside and the rest.
Result<std::pair<std::string_view, std::string_view>> splitPath(std::string_view text) {
  if (text.empty() || text.front() != '<') return makeError("path must be enclosed in <>");
  // '>' may appear inside a quoted local part, so scan with quote awareness.
  bool quoted = false;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      std::string_view rest = text.substr(i + 1);
      return std::make_pair(text.substr(1, i - 1), rest);
    }
  }
  return makeError("unterminated path");
}

// Removes a source route "@a,@b:" (RFC 5321 §4.1.2 A-d-l; §3.3 says it MUST be
// accepted and SHOULD be ignored).
Result<std::string_view> stripSourceRoute(std::string_view inside) {
  if (inside.empty() || inside.front() != '@') return inside;
  size_t colon = inside.find(':');
  if (colon == std::string_view::npos) return makeError("bad source route");
  std::string_view route = inside.substr(0, colon);
  size_t start = 0;
  while (start < route.size()) {
    size_t comma = route.find(',', start);
    std::string_view hop =
        route.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (hop.size() < 2 || hop.front() != '@') return makeError("bad source route");
    bool ignored = false;
    if (!validateDomainName(hop.substr(1), ignored).ok()) return makeError("bad source route domain");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return inside.substr(colon + 1);
}

// RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
// esmtp-value = 1*(%d33-60 / %d62-126), UTF-8 allowed (RFC 6531 §3.3).
}  // namespace

Result<std::vector<EsmtpParam>> parseEsmtpParams(std::string_view text) {
  std::vector<EsmtpParam> params;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view token = text.substr(i, end - i);
    i = end;
    EsmtpParam param;
    size_t eq = token.find('=');
    std::string_view keyword = token.substr(0, eq);
    if (keyword.empty() || !isLetDig(static_cast<unsigned char>(keyword[0])))
      return makeError("bad parameter keyword");
    for (unsigned char c : keyword) {
      if (!isLetDig(c) && c != '-') return makeError("bad parameter keyword");
    }
    param.keyword = toUpper(keyword);
    if (eq != std::string_view::npos) {
      std::string_view value = token.substr(eq + 1);
      if (value.empty()) return makeError("empty parameter value");
      for (size_t k = 0; k < value.size();) {
        unsigned char c = static_cast<unsigned char>(value[k]);
        if (c >= 0x80) {
          size_t len = utf8SequenceLength(value, k);
          if (len == 0) return makeError("invalid UTF-8 in parameter value");
          k += len;
        } else if (c < 33 || c > 126 || c == '=') {
          return makeError("bad character in parameter value");
        } else {
          ++k;
        }
      }
      param.value = std::string(value);
      param.has_value = true;
    }
    params.push_back(std::move(param));
  }
  return params;
}

namespace {

Result<PathArgument> parsePathArgument(std::string_view argument, std::string_view prefix, bool allow_null,
                                       bool allow_bare_postmaster) {
  if (!startsWithNoCase(argument, prefix)) return makeError("expected " + std::string(prefix));
  std::string_view rest = argument.substr(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // tolerate "FROM: <a@b>"
  auto split = splitPath(rest);
  if (!split.ok()) return split.error();
  auto [inside, after] = split.value();
  if (!after.empty() && after.front() != ' ') return makeError("missing space after path");

  PathArgument out;
  if (inside.empty()) {
    if (!allow_null) return makeError("null path not allowed here");
    out.is_null = true;
  } else {
    auto mailbox = stripSourceRoute(inside);
    if (!mailbox.ok()) return mailbox.error();
    if (mailbox->size() > kMaxAddressLength) return makeError("address too long");
    bool bare_postmaster =
        allow_bare_postmaster && mailbox->size() == 10 && startsWithNoCase(*mailbox, "postmaster");
    if (!bare_postmaster) {
      auto valid = validateMailbox(*mailbox, out.non_ascii);
      if (!valid.ok()) return valid.error();
    }
    out.address = std::string(*mailbox);
  }
  while (!after.empty() && after.front() == ' ') after.remove_prefix(1);
  out.params = std::string(after);
  return out;
}

constexpr std::array<std::pair<std::string_view, Verb>, 13> kVerbs{{
    {"HELO", Verb::Helo},
    {"EHLO", Verb::Ehlo},
    {"MAIL", Verb::Mail},
    {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},
    {"RSET", Verb::Rset},
    {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},
    {"VRFY", Verb::Vrfy},
    {"EXPN", Verb::Expn},
    {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls},
    {"AUTH", Verb::Auth},
}};

int hexValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // RFC 3461 §4: hexchar is upper case only
}

}  // namespace

Command parseCommandLine(std::string_view line) {
  Command cmd;
  size_t space = line.find(' ');
  std::string_view verb = line.substr(0, space);
  cmd.verb_text = toUpper(verb.substr(0, 16));
  if (space != std::string_view::npos) {
    std::string_view arg = line.substr(space);
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    while (!arg.empty() && arg.back() == ' ') arg.remove_suffix(1);
    cmd.argument = std::string(arg);
  }
  for (const auto& [name, v] : kVerbs) {
    if (verb.size() == name.size() && startsWithNoCase(verb, name)) {
      cmd.verb = v;
      break;
    }
  }
  return cmd;
}

Status validateMailbox(std::string_view mailbox, bool& non_ascii) {
  if (mailbox.size() > kMaxAddressLength) return makeError("address too long");
  size_t at = mailbox.rfind('@');
  if (at == std::string_view::npos) return makeError("address has no domain");
  std::string_view local = mailbox.substr(0, at);
  std::string_view domain = mailbox.substr(at + 1);
  auto local_ok = validateLocalPart(local, non_ascii);
  if (!local_ok.ok()) return local_ok;
  if (!domain.empty() && domain.front() == '[') return validateAddressLiteral(domain);
  return validateDomainName(domain, non_ascii);
}

Result<PathArgument> parseMailArgument(std::string_view argument) {
  return parsePathArgument(argument, "FROM:", /*allow_null=*/true, /*allow_bare_postmaster=*/false);
}

Result<PathArgument> parseRcptArgument(std::string_view argument) {
  return parsePathArgument(argument, "TO:", /*allow_null=*/false, /*allow_bare_postmaster=*/true);
}

bool isValidXtext(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return false;
      if (hexValue(static_cast<unsigned char>(text[i + 1])) < 0 ||
          hexValue(static_cast<unsigned char>(text[i + 2])) < 0)
        return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {  // xchar = %d33-42 / %d44-60 / %d62-126
      return false;
    }
  }
  return true;
}

std::string xtextDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && i + 2 < text.size()) {
      int hi = hexValue(static_cast<unsigned char>(text[i + 1]));
      int lo = hexValue(static_cast<unsigned char>(text[i + 2]));
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string xtextEncode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out.push_back('+');
      appendHexByte(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

bool isValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8SequenceLength(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace tlsrelay::smtp
