// Delivery status notifications: the bounce (RFC 3464 "failed") and delay
// notice ("delayed") the relay sends to a message's sender, as one complete
// RFC 5322 message — multipart/report with a human-readable part, a
// message/delivery-status part and the returned message or its header. Pure:
// text in, text out; the caller spools it with the null reverse-path and the
// transport flags returned beside it. Also the rule for whether to notify at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "message/envelope.h"
#include "message/header_section.h"  // headerSection()

namespace tlsrelay {

struct DsnRecipient {
  std::string address;       // final recipient (RCPT TO)
  std::string orcpt;         // RFC 3461 ORCPT as received ("rfc822;bob@x"), may be empty
  std::string action;        // "failed" | "delayed"
  std::string status;        // RFC 3463 enhanced code, e.g. "5.1.1"
  std::string remote_mta;    // MX host name, may be empty
  std::string diagnostic;    // "smtp; 550 5.1.1 no such user", or local text without a type
  int64_t last_attempt = 0;  // unix seconds; 0 = DsnInput::now
};

struct DsnInput {
  std::string reporting_mta;                                   // our hostname
  std::string original_queue_id, original_sender, envid, ret;  // ret: RFC 3461 "FULL" / "HDRS" / ""
  int64_t arrival_date = 0;                                    // unix seconds the original was received
  int64_t now = 0;               // unix seconds: Date, and default Last-Attempt-Date
  int64_t will_retry_until = 0;  // for delayed recipients: when we give up (0 = omit)
  std::vector<DsnRecipient> recipients;
  std::string_view original_message;  // as spooled (CRLF or LF line ends)
  std::string boundary_seed;          // random text from the caller, makes the boundary unique
  bool requiretls_original = false;   // the original carried REQUIRETLS (RFC 8689)
};

struct DsnMessage {
  std::string data;           // the complete message, CRLF line ends, not dot-stuffed
  bool requiretls = false;    // RFC 8689 §5: send this DSN with MAIL FROM:<> REQUIRETLS
  bool body_8bit = false;     // returned content has 8-bit octets: send with BODY=8BITMIME
  bool smtputf8 = false;      // a non-ASCII address: needs SMTPUTF8 on the way back
  bool headers_only = false;  // the original is returned as text/rfc822-headers
};

// Above this size only the original's header section is returned.
inline constexpr size_t kDsnMaxReturnedMessage = 1024 * 1024;

DsnMessage buildDsn(const DsnInput& in);

// RFC 5321 §6.1 / RFC 3461 §6.2: a message with the null reverse-path (which
// every DSN has) or one we generated as a bounce must never be bounced, or two
// failing systems would mail each other forever.
bool shouldBounce(const Envelope& envelope);

// RFC 3461 §4.1 NOTIFY: whether `recipient` asked for a failure (delay=false)
// or delay (delay=true) notice. No NOTIFY means failures yes, delays yes
// (§4.1 leaves delays to the MTA; we send them). NEVER means nothing.
bool recipientWantsNotice(const Recipient& recipient, bool delay);

// RFC 3461 §4: decodes xtext ("+2B" → "+"); malformed escapes are kept as is.
std::string decodeXtext(std::string_view text);

}  // namespace tlsrelay
