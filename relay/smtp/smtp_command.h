// Pure parsers for what an SMTP client sends the server: the command line
// (verb + argument), MAIL/RCPT paths with their ESMTP parameters (RFC 5321
// §4.1.2, RFC 6531 UTF-8 addresses) and xtext (RFC 3461 §4). No state and
// no I/O, so the server session stays small and every rule here is tested
// (and fuzzed) on strings.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay::smtp {

enum class Verb {
  Helo,
  Ehlo,
  Mail,
  Rcpt,
  Data,
  Rset,
  Noop,
  Quit,
  Vrfy,
  Expn,
  Help,
  StartTls,
  Auth,
  Unknown,
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string verb_text;  // the verb as received, upper-cased (for logs)
  std::string argument;   // text after the verb and its separating space(s), trailing spaces removed
};

// `line` is one command line without its CRLF. Never fails: anything that is
// not a known verb followed by nothing or a space is Verb::Unknown.
Command parseCommandLine(std::string_view line);

struct EsmtpParam {
  std::string keyword;  // upper-cased (keywords are case-insensitive, RFC 5321 §4.1.2)
  std::string value;    // as received
  bool has_value = false;
};

struct PathArgument {
  std::string address;     // mailbox as received, without <> and without a source route; "" for <>
  bool is_null = false;    // the null reverse-path <>
  bool non_ascii = false;  // contains UTF-8 (needs SMTPUTF8, RFC 6531 §3.3)
  std::string params;      // the text after the path, for parseEsmtpParams()
};

// Longest mailbox we accept; RFC 5321 §4.5.3.1.3 asks for at least 256 octets
// of path and recommends not limiting, this only bounds memory.
inline constexpr size_t kMaxAddressLength = 512;

// "FROM:<a@b> SIZE=10 BODY=8BITMIME" (the argument of MAIL). A space after the
// colon is tolerated (widespread client bug); a missing <> is not.
Result<PathArgument> parseMailArgument(std::string_view argument);
// "TO:<a@b> NOTIFY=NEVER". Accepts <postmaster> without a domain (RFC 5321
// §4.1.1.3), which the caller may refuse; never accepts <>.
Result<PathArgument> parseRcptArgument(std::string_view argument);

// The parameters after a path: space-separated KEYWORD or KEYWORD=value
// (RFC 5321 §4.1.2 esmtp-param, UTF-8 values allowed by RFC 6531 §3.3).
Result<std::vector<EsmtpParam>> parseEsmtpParams(std::string_view text);

// Validates a bare mailbox "local@domain" (local may be a quoted string,
// domain may be an address literal). Sets `non_ascii` when UTF-8 appears.
Status validateMailbox(std::string_view mailbox, bool& non_ascii);

// RFC 3461 §4: xtext = *( xchar / "+" 2HEXCHAR-uppercase ).
bool isValidXtext(std::string_view text);
std::string xtextDecode(std::string_view text);  // caller validated
std::string xtextEncode(std::string_view text);

// Well-formed UTF-8 (RFC 3629), no overlongs or surrogates.
bool isValidUtf8(std::string_view text);

}  // namespace tlsrelay::smtp
