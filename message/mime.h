// MIME building and parsing, through GMime (never by hand): the DSN builder
// uses it today; TLS report mail (multipart/report with a gzip attachment),
// report ingest, PGP/MIME and key attachments will. GMime stays behind this
// header, so callers see plain C++ values and GLib never leaks into them.
// Output always has CRLF line ends and is ready for the spool (not dot-stuffed).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tlsrelay {

// A header field as written. `value` is the field body after "Name:", already
// valid header text; CR, LF and NUL in it are turned into spaces on output,
// so no value can end the field and start another.
struct MimeField {
  std::string name;
  std::string value;
};

enum class MimeEncoding {
  SevenBit,         // content is written as it is (CRLF line ends, 7-bit)
  EightBit,         // as it is, with 8-bit octets
  Base64,           // content is binary; GMime encodes it
  QuotedPrintable,  // mostly-ASCII text with a few 8-bit octets
};

struct MimeLeafPart {
  std::string type, subtype;                                // "text", "plain"
  std::vector<std::pair<std::string, std::string>> params;  // Content-Type parameters, e.g. charset
  std::vector<MimeField> fields;                            // Content-Description and the like
  std::string filename;  // non-empty: Content-Disposition: attachment; filename=…
  std::string content;   // the decoded bytes
  MimeEncoding encoding = MimeEncoding::SevenBit;
};

struct MimeMultipartMessage {
  std::vector<MimeField> fields;                            // top-level fields, in this order
  std::string subtype = "mixed";                            // multipart/<subtype>
  std::vector<std::pair<std::string, std::string>> params;  // e.g. report-type
  // Empty: GMime picks a random one. A caller that passes one must make sure
  // it occurs as a line in no part (RFC 2046 §5.1.1).
  std::string boundary;
  std::string prologue;  // text before the first part, for readers without MIME
  std::vector<MimeLeafPart> parts;
};

// The whole message: the fields, MIME-Version, the multipart Content-Type, the parts.
std::string writeMimeMessage(const MimeMultipartMessage& message);

// One leaf of a parsed message, depth first. A message/rfc822 part is a leaf
// whose content is the enclosed message (parse it again to look inside).
struct ParsedMimePart {
  std::string content_type;  // "type/subtype", lower case
  std::vector<std::pair<std::string, std::string>> params;
  std::string filename;  // from Content-Disposition or Content-Type name=; may be empty
  std::string content;   // transfer encoding removed
};

struct ParsedMimeMessage {
  std::vector<MimeField> fields;  // top-level fields as received, unfolded
  std::string content_type;       // of the top-level entity, lower case
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<ParsedMimePart> leaves;
};

// nullopt when the bytes are not a message GMime can read at all; MIME
// defects that readers forgive (a missing closing boundary) are forgiven.
std::optional<ParsedMimeMessage> parseMimeMessage(std::string_view bytes);

// The addr-specs of an address-list header value (From, To, Cc; RFC 5322
// §3.4), groups flattened, display names dropped: `"Bob" <bob@b.example>,
// carol@c.example` gives {"bob@b.example", "carol@c.example"}. Entries
// without an '@' are left out.
std::vector<std::string> parseMailboxList(std::string_view value);

}  // namespace tlsrelay
