// Streaming reader for the DATA phase of the SMTP server (RFC 5321 §4.1.1.4,
// §4.5.2): finds the CRLF.CRLF end marker, removes dot-stuffing, and enforces
// the line-length and message-size limits without unbounded buffering. Also
// the SMTP-smuggling defence: a bare CR or bare LF anywhere rejects the message,
// and only a real CRLF "." CRLF ends it (never LF.LF, LF.CRLF or CRLF.LF), so
// what we think is the end of data is what every other MTA thinks too.
// Chunk-invariant: the result never depends on how the bytes were split.
// While the lines stream past it also watches the header section (HeaderWatch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "message/header_section.h"

namespace tlsrelay::smtp {

// Watches the header section of a message, one unstuffed line at a time, for
// what changes how we relay: RFC 8689 §3 "TLS-Required: No" and the number of
// Received fields (RFC 5321 §6.3 loop detection). Only whole lines are fed, so
// the verdict never depends on how the bytes arrived; memory stays bounded
// whatever the sender writes (values are cut at a few bytes: only "No" matters).
class HeaderWatch {
 public:
  // One line of message content, with or without its CR/CRLF.
  void onLine(std::string_view line);
  // The message ended (also without a blank line after the header section).
  void onEnd();
  // True when the header section had a TLS-Required field whose value is "No"
  // (case-insensitive, folding and surrounding whitespace ignored) and no
  // TLS-Required field saying anything else: a contradiction keeps TLS policy.
  bool tlsRequiredNo() const { return saw_no_ && !saw_other_; }
  int receivedCount() const { return received_; }

 private:
  void field(const HeaderField& f);

  HeaderSectionReader reader_{16};
  bool saw_no_ = false;
  bool saw_other_ = false;
  int received_ = 0;
};

class DataReader {
 public:
  // Why the message must be refused once the end marker arrives; the first
  // listed wins when several apply.
  enum class Rejection { None, BareLineEnd, LineTooLong, TooBig };

  // max_line_length counts CRLF (RFC 5321 §4.5.3.1.6: at least 1000).
  void begin(size_t max_line_length, uint64_t max_size);
  // Consumes message bytes; returns how many were used. Stops right after the
  // end marker, so the rest of `bytes` belongs to the command stream again.
  size_t consume(std::string_view bytes);
  bool finished() const { return finished_; }
  Rejection rejection() const;
  // The unstuffed content with CRLF line ends, without the end marker.
  // Empty when the message was rejected (nothing is kept once it is doomed).
  std::string takeData();
  // RFC 8689 §3: the header section said "TLS-Required: No" (see TlsRequiredScanner).
  bool tlsRequiredNo() const { return headers_.tlsRequiredNo(); }
  int receivedCount() const { return headers_.receivedCount(); }

 private:
  void appendToLine(std::string_view segment);
  void endLine();
  void dropData();

  size_t max_line_length_ = 1000;
  uint64_t max_size_ = 0;
  std::string line_;            // current line without its LF (ends with CR when well formed)
  bool line_overflow_ = false;  // current line exceeded the limit; its bytes are not kept
  bool prev_cr_ = false;        // the last byte seen was CR
  bool prev_line_crlf_ = true;  // the previous line ended with CRLF (the DATA line did)
  bool bare_line_end_ = false;
  bool line_too_long_ = false;
  bool too_big_ = false;
  bool finished_ = false;
  uint64_t size_ = 0;
  std::string data_;
  HeaderWatch headers_;
};

}  // namespace tlsrelay::smtp
