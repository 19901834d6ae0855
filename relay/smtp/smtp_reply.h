// One SMTP reply as a value (code, RFC 3463 enhanced code, text lines) and the
// incremental parser that turns server bytes into replies. Owned here so the
// client session, logs, DSNs and the accounting log all see replies the same way.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay {

struct SmtpReply {
  int code = 0;                    // 3 digits
  std::string enhanced;            // "4.7.0" if present (RFC 3463), else ""
  std::vector<std::string> lines;  // text of each line without code/separator (and without the enhanced code)

  bool isPositive() const { return code >= 200 && code < 300; }
  bool isIntermediate() const { return code >= 300 && code < 400; }
  bool isTransient() const { return code >= 400 && code < 500; }
  bool isPermanent() const { return code >= 500 && code < 600; }
  // "250 2.0.0 Ok" style single line for logs and DSNs: all lines joined with " ".
  std::string text() const;

  // A reply we make up ourselves (e.g. "552 5.3.4 message too big for the peer")
  // so local failures flow through the same code paths as remote ones.
  static SmtpReply local(int code, std::string enhanced, std::string text);
};

// Incremental parser: feed bytes as they arrive, pop complete replies.
// Accepts CRLF and (tolerantly) bare LF line ends. Once failed it stays failed:
// a malformed reply leaves the client unable to match replies to commands.
// Replies completed before the malformed line are still returned by next().
class SmtpReplyParser {
 public:
  static constexpr size_t kMaxLineLength = 4096;  // bytes per reply line, without CRLF
  static constexpr size_t kMaxLinesPerReply = 1000;

  void feed(std::string_view bytes);
  std::optional<SmtpReply> next();
  bool failed() const { return !error_.empty(); }
  std::string error() const { return error_; }
  // True when bytes were received that next() has not handed out yet (a
  // complete reply or part of one). Used to detect data a server pipelined
  // after its STARTTLS reply.
  bool hasPendingData() const { return consumed_ < buffer_.size() || partial_ || !complete_.empty(); }

 private:
  void parseAvailableLines();
  void parseLine(std::string_view line);
  void fail(std::string why);

  std::string buffer_;
  size_t consumed_ = 0;               // prefix of buffer_ already parsed into lines
  size_t scanned_ = 0;                // buffer_ before this offset holds no unparsed LF
  std::optional<SmtpReply> partial_;  // multi-line reply still waiting for its last line
  std::deque<SmtpReply> complete_;
  std::string error_;
};

}  // namespace tlsrelay
