// Turns message bytes into the DATA payload sent after a 354 reply: line ends
// normalised to CRLF, lines beginning with '.' stuffed, ".\r\n" appended.
// A pure function so the transparency rule is tested apart from any session.
#pragma once

#include <string>
#include <string_view>

namespace tlsrelay {

// RFC 5321 §4.5.2: before sending a line of mail text the client checks the
// first character; if it is a period, one additional period is inserted.
// Line ends: CRLF stays; a bare LF or a bare CR becomes CRLF, so no stray CR or
// LF can reach the next hop (SMTP smuggling, "\n.\r\n" end-of-data tricks).
// A final line without a line end gets CRLF. The result ends with ".\r\n".
std::string dotStuffForData(std::string_view message);

// Appends the same payload to out (avoids one copy for large messages).
void appendDotStuffed(std::string_view message, std::string& out);

}  // namespace tlsrelay
