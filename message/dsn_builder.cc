// RFC 3464 DSN composition; see dsn_builder.h. The parts are written here,
// the MIME structure by GMime (message/mime.h). Everything that comes from the
// network (addresses, remote replies, the returned message) is treated as
// hostile: header values lose control characters so nothing can add a header
// or a MIME part, and the boundary is checked against the content it encloses.
#include "message/dsn_builder.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "common/ascii.h"
#include "common/time_format.h"
#include "message/mime.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxFieldText = 900;  // keeps every generated line under RFC 5322's 998

bool isAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// One header line's worth of untrusted text: control characters (CR and LF
// above all) become spaces, runs collapse, and the result is cut short.
// RFC 5322 §2.2: a header field body must not contain CR or LF except when folding.
std::string headerText(std::string_view text, bool ascii_only, size_t max = kMaxFieldText) {
  std::string out;
  bool pending_space = false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == ' ') {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.push_back(ascii_only && c >= 0x80 ? '?' : ch);
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

// Decodes one UTF-8 sequence at s[i]; an invalid byte yields U+FFFD and advances by one.
uint32_t nextCodePoint(std::string_view s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  i += len;
  return cp;
}

// "rfc822; bob@example.net" — or, for an internationalised address, the RFC
// 6533 §3 "utf-8" type with non-ASCII and unsafe characters as \x{HEX}, so the
// delivery-status part stays 7-bit.
std::string typedAddress(std::string_view address) {
  std::string clean = headerText(address, /*ascii_only=*/false);
  if (isAscii(clean)) return "rfc822; " + clean;
  std::string out = "utf-8; ";
  for (size_t i = 0; i < clean.size();) {
    uint32_t cp = nextCodePoint(clean, i);
    if (cp > 0x20 && cp < 0x7f && cp != '\\' && cp != '+' && cp != '=') {
      out.push_back(static_cast<char>(cp));
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%X}", cp);
      out += buf;
    }
  }
  return out;
}

bool validStatus(std::string_view s) {
  // RFC 3463 §2: class "." subject "." detail, class 2/4/5, subject and detail 1–3 digits.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i - start > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

std::string diagnosticField(std::string_view diagnostic) {
  std::string clean = headerText(diagnostic, /*ascii_only=*/true);
  size_t semi = clean.find(';');
  if (semi != std::string::npos && semi > 0 && semi <= 20) {
    std::string_view type(clean.data(), semi);
    bool is_token = std::all_of(type.begin(), type.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
    if (is_token)
      return std::string(type) + "; " + std::string(trimWsp(std::string_view(clean).substr(semi + 1)));
  }
  // Local reasons ("no MX", "TLS required") have no registered type: RFC 3464
  // §2.3.6 allows an X- extension type.
  return "X-tlsrelay; " + clean;
}

std::string diagnosticText(std::string_view diagnostic) {
  std::string d = diagnosticField(diagnostic);
  size_t semi = d.find(';');
  return std::string(trimWsp(std::string_view(d).substr(semi + 1)));
}

// Only characters that need no quoting anywhere (RFC 2046 §5.1.1 bcharsnospace ∩ atext).
std::string tokenChars(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') out.push_back(c);
    if (out.size() >= max) break;
  }
  return out;
}

std::string hostName(std::string_view s) {
  std::string out = tokenChars(s, 253);
  return out.empty() ? "localhost" : out;
}

// Converts bare LF and bare CR to CRLF (RFC 5322 §2.3: lines end with CRLF)
// and makes sure the text ends with one.
std::string toCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 40 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) out += "\r\n";
  return out;
}

bool containsLine(const std::string& text, const std::string& line_prefix) {
  if (text.compare(0, line_prefix.size(), line_prefix) == 0) return true;
  return text.find("\n" + line_prefix) != std::string::npos;
}

// RFC 3464 §2.3.3 action values; anything else is reported as "failed".
std::string normalizedAction(std::string_view action) {
  static const char* kActions[] = {"failed", "delayed", "delivered", "relayed", "expanded"};
  for (const char* a : kActions) {
    if (equalsIgnoreCase(trimWsp(action), a)) return a;
  }
  return "failed";
}

}  // namespace

std::string decodeXtext(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      auto hex = [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10;
      };
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

bool shouldBounce(const Envelope& envelope) {
  // RFC 5321 §6.1: notifications go to the reverse-path and are never sent for
  // a message whose reverse-path is null; our own bounces are flagged as well,
  // in case one ever carries a sender.
  return !envelope.mail_from.empty() && !envelope.flags.is_bounce;
}

bool recipientWantsNotice(const Recipient& recipient, bool delay) {
  std::string_view notify = trimWsp(recipient.notify);
  if (notify.empty()) return true;
  bool wants = false;
  size_t start = 0;
  while (start <= notify.size()) {
    size_t comma = notify.find(',', start);
    std::string_view word =
        trimWsp(notify.substr(start, comma == std::string_view::npos ? notify.npos : comma - start));
    if (equalsIgnoreCase(word, "NEVER")) return false;  // RFC 3461 §4.1: NEVER excludes the others
    if (equalsIgnoreCase(word, delay ? "DELAY" : "FAILURE")) wants = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return wants;
}

DsnMessage buildDsn(const DsnInput& in) {
  DsnMessage out;
  const std::string mta = hostName(in.reporting_mta);
  bool any_failed = false;
  bool any_delayed = false;
  for (const auto& r : in.recipients) {
    if (normalizedAction(r.action) == "delayed") {
      any_delayed = true;
    } else {
      any_failed = true;
    }
  }

  // RFC 8689 §5: a bounce of a REQUIRETLS message MUST behave as if RET=HDRS
  // were given (RET=FULL is disregarded) and MUST itself be sent with REQUIRETLS.
  out.requiretls = in.requiretls_original;
  out.headers_only = in.requiretls_original || equalsIgnoreCase(trimWsp(in.ret), "HDRS") ||
                     in.original_message.size() > kDsnMaxReturnedMessage;

  const std::string sender = headerText(in.original_sender, /*ascii_only=*/false, 512);
  const bool utf8_addresses =
      !isAscii(sender) || std::any_of(in.recipients.begin(), in.recipients.end(),
                                      [](const DsnRecipient& r) { return !isAscii(r.address); });
  out.smtputf8 = !isAscii(sender);

  // Part 1: for people.
  std::string human = "This is the mail system at host " + mta + ".\r\n\r\n";
  if (any_failed) {
    human +=
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.";
    if (!in.original_message.empty()) {
      human += out.headers_only ? " Its header is attached below." : " It is attached below.";
    }
    human += "\r\n\r\n";
  }
  if (any_delayed) {
    human += "Your message could not be delivered yet to one or more recipients.\r\n";
    if (in.will_retry_until > 0) {
      human += "Delivery will be retried until " + rfc5322Date(in.will_retry_until) + ";\r\n";
    }
    human += "you do not need to send it again.\r\n\r\n";
  }
  for (const auto& r : in.recipients) {
    std::string addr = headerText(r.address, /*ascii_only=*/false, 512);
    human += "<" + addr + ">: " + normalizedAction(r.action);
    if (!r.remote_mta.empty()) human += " (host " + hostName(r.remote_mta) + ")";
    if (!r.diagnostic.empty()) human += "\r\n    " + diagnosticText(r.diagnostic);
    human += "\r\n\r\n";
  }

  // Part 2: for programs (RFC 3464 §2.2 per-message, §2.3 per-recipient fields).
  std::string status = "Reporting-MTA: dns; " + mta + "\r\n";
  if (!in.original_queue_id.empty()) {
    status += "X-Tlsrelay-Queue-ID: " + tokenChars(in.original_queue_id, 64) + "\r\n";
  }
  if (!in.envid.empty()) {
    // RFC 3461 §6.3: the ENVID is returned decoded from xtext.
    status += "Original-Envelope-Id: " + headerText(decodeXtext(in.envid), /*ascii_only=*/true, 200) + "\r\n";
  }
  if (in.arrival_date > 0) status += "Arrival-Date: " + rfc5322Date(in.arrival_date) + "\r\n";
  for (const auto& r : in.recipients) {
    std::string action = normalizedAction(r.action);
    std::string code = trimWsp(r.status).empty() || !validStatus(trimWsp(r.status))
                           ? (action == "delayed" ? "4.0.0" : "5.0.0")
                           : std::string(trimWsp(r.status));
    status += "\r\n";  // RFC 3464 §2.1: a blank line before each recipient's fields
    status += "Final-Recipient: " + typedAddress(r.address) + "\r\n";
    if (!r.orcpt.empty()) {
      std::string_view orcpt = r.orcpt;
      size_t semi = orcpt.find(';');
      std::string original =
          decodeXtext(semi == std::string_view::npos ? orcpt : trimWsp(orcpt.substr(semi + 1)));
      std::string type = semi == std::string_view::npos ? "" : tokenChars(orcpt.substr(0, semi), 20);
      if (type.empty() || equalsIgnoreCase(type, "rfc822")) {
        status += "Original-Recipient: " + typedAddress(original) + "\r\n";
      } else {
        status += "Original-Recipient: " + type + "; " + headerText(original, true) + "\r\n";
      }
    }
    status += "Action: " + action + "\r\n";
    status += "Status: " + code + "\r\n";
    if (!r.remote_mta.empty()) status += "Remote-MTA: dns; " + hostName(r.remote_mta) + "\r\n";
    if (!r.diagnostic.empty()) status += "Diagnostic-Code: " + diagnosticField(r.diagnostic) + "\r\n";
    status += "Last-Attempt-Date: " + rfc5322Date(r.last_attempt > 0 ? r.last_attempt : in.now) + "\r\n";
    if (action == "delayed" && in.will_retry_until > 0) {
      status += "Will-Retry-Until: " + rfc5322Date(in.will_retry_until) + "\r\n";
    }
  }

  // Part 3: the message, or only its header section.
  std::string returned = toCrlf(out.headers_only ? headerSection(in.original_message) : in.original_message);
  bool returned_8bit = !isAscii(returned);
  out.body_8bit = returned_8bit || utf8_addresses;

  // The boundary must not occur as a line in any part it separates (RFC 2046 §5.1.1).
  std::string seed = tokenChars(in.boundary_seed, 40);
  std::string boundary = "tlsrelay-" + (seed.empty() ? tokenChars(in.original_queue_id, 40) : seed);
  boundary = boundary.substr(0, 60);
  for (int n = 1; containsLine(returned, "--" + boundary) || containsLine(human, "--" + boundary) ||
                  containsLine(status, "--" + boundary);
       ++n) {
    boundary = boundary.substr(0, 60) + "=" + std::to_string(n);
  }

  MimeMultipartMessage m;
  m.fields = {
      {"From", "Mail Delivery System <MAILER-DAEMON@" + mta + ">"},
      {"To", "<" + sender + ">"},
      {"Subject", any_failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)"},
      {"Date", rfc5322Date(in.now)},
      {"Message-ID", "<" + tokenChars(in.original_queue_id, 64) + "." + std::to_string(in.now) + "." +
                         tokenChars(in.boundary_seed, 32) + "@" + mta + ">"},
      {"Auto-Submitted", "auto-replied"},  // RFC 3834 §5: keeps responders from answering
  };
  m.subtype = "report";
  m.params = {{"report-type", "delivery-status"}};
  m.boundary = boundary;
  m.prologue = "This is a MIME-encapsulated message.";

  MimeLeafPart notification{"text",
                            "plain",
                            {{"charset", utf8_addresses ? "utf-8" : "us-ascii"}},
                            {{"Content-Description", "Notification"}}};
  notification.content = std::move(human);
  notification.encoding = utf8_addresses ? MimeEncoding::EightBit : MimeEncoding::SevenBit;
  m.parts.push_back(std::move(notification));

  MimeLeafPart report{"message", "delivery-status", {}, {{"Content-Description", "Delivery report"}}};
  report.content = std::move(status);
  m.parts.push_back(std::move(report));

  if (!in.original_message.empty()) {
    // RFC 6522 §4: a header-only return is text/rfc822-headers.
    MimeLeafPart original{
        out.headers_only ? "text" : "message",
        out.headers_only ? "rfc822-headers" : "rfc822",
        {},
        {{"Content-Description", out.headers_only ? "Undelivered Message Headers" : "Undelivered Message"}}};
    original.content = std::move(returned);
    // RFC 2046 §5.2.1: message/rfc822 allows only 7bit, 8bit or binary encodings.
    original.encoding = returned_8bit ? MimeEncoding::EightBit : MimeEncoding::SevenBit;
    m.parts.push_back(std::move(original));
  }
  out.data = writeMimeMessage(m);
  return out;
}

}  // namespace tlsrelay
