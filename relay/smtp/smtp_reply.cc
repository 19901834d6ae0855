// SMTP reply parsing (RFC 5321 §4.2) and rendering; see smtp_reply.h.
#include "relay/smtp/smtp_reply.h"

#include <algorithm>
#include <utility>

namespace tlsrelay {
namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Length of a run of 1..3 digits at text[pos], or 0.
size_t digitRun(std::string_view text, size_t pos) {
  size_t n = 0;
  while (pos + n < text.size() && isDigit(text[pos + n]) && n < 4) ++n;
  return (n >= 1 && n <= 3) ? n : 0;
}

// RFC 3463 §2: status-code = class "." subject "." detail, class in {2,4,5}
// and it must agree with the reply's first digit. Returns the length of the
// code at the start of text (followed by a space or the end), or 0.
size_t enhancedCodeLength(std::string_view text, int reply_code) {
  if (text.empty()) return 0;
  char expected_class = static_cast<char>('0' + reply_code / 100);
  if (text[0] != expected_class || (text[0] != '2' && text[0] != '4' && text[0] != '5')) return 0;
  if (text.size() < 2 || text[1] != '.') return 0;
  size_t subject = digitRun(text, 2);
  if (subject == 0) return 0;
  size_t dot = 2 + subject;
  if (dot >= text.size() || text[dot] != '.') return 0;
  size_t detail = digitRun(text, dot + 1);
  if (detail == 0) return 0;
  size_t end = dot + 1 + detail;
  if (end < text.size() && text[end] != ' ') return 0;
  return end;
}

// Strips a leading enhanced code (and the space after it) from a reply line.
std::string stripEnhanced(std::string_view text, int reply_code, std::string* found) {
  size_t n = enhancedCodeLength(text, reply_code);
  if (n == 0) return std::string(text);
  if (found && found->empty()) *found = std::string(text.substr(0, n));
  text.remove_prefix(n);
  if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
  return std::string(text);
}

}  // namespace

std::string SmtpReply::text() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  for (const auto& line : lines) {
    if (line.empty()) continue;
    out += ' ';
    out += line;
  }
  return out;
}

SmtpReply SmtpReply::local(int code, std::string enhanced, std::string text) {
  SmtpReply reply;
  reply.code = code;
  reply.enhanced = std::move(enhanced);
  reply.lines.push_back(std::move(text));
  return reply;
}

void SmtpReplyParser::feed(std::string_view bytes) {
  if (failed()) return;
  buffer_.append(bytes);
  parseAvailableLines();
}

std::optional<SmtpReply> SmtpReplyParser::next() {
  // Replies completed before a malformed line are still handed out: they
  // answer commands the session did send (e.g. the 220 to STARTTLS).
  if (complete_.empty()) return std::nullopt;
  SmtpReply reply = std::move(complete_.front());
  complete_.pop_front();
  return reply;
}

void SmtpReplyParser::fail(std::string why) {
  error_ = std::move(why);
  buffer_.clear();
  consumed_ = 0;
  scanned_ = 0;
  partial_.reset();
}

void SmtpReplyParser::parseAvailableLines() {
  while (!failed()) {
    size_t lf = buffer_.find('\n', std::max(consumed_, scanned_));
    if (lf == std::string::npos) {
      scanned_ = buffer_.size();  // byte-at-a-time input must not rescan the line (O(n^2))
      if (buffer_.size() - consumed_ > kMaxLineLength + 1) {  // +1: a CR may still be followed by LF
        fail("reply line longer than " + std::to_string(kMaxLineLength) + " bytes");
      }
      break;
    }
    std::string_view line(buffer_.data() + consumed_, lf - consumed_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    consumed_ = lf + 1;
    if (line.size() > kMaxLineLength) {
      fail("reply line longer than " + std::to_string(kMaxLineLength) + " bytes");
      break;
    }
    parseLine(line);
  }
  if (failed()) return;
  // Compact once the parsed prefix dominates, keeping feed() amortised O(n).
  if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
    buffer_.erase(0, consumed_);
    scanned_ = scanned_ > consumed_ ? scanned_ - consumed_ : 0;
    consumed_ = 0;
  }
}

void SmtpReplyParser::parseLine(std::string_view line) {
  // RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
  //                             Reply-code [ SP textstring ] CRLF
  if (line.size() < 3 || !isDigit(line[0]) || !isDigit(line[1]) || !isDigit(line[2])) {
    fail("malformed reply line (no 3-digit code)");
    return;
  }
  if (line[0] < '2' || line[0] > '5') {
    fail("malformed reply line (code " + std::string(line.substr(0, 3)) + " outside 2xx-5xx)");
    return;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  bool last = true;
  std::string_view text;
  if (line.size() > 3) {
    if (line[3] == '-') {
      last = false;
    } else if (line[3] != ' ') {
      fail("malformed reply line (code not followed by space or hyphen)");
      return;
    }
    text = line.substr(4);
  }
  if (partial_ && partial_->code != code) {
    // RFC 5321 §4.2.1: every line of a multiline reply carries the same code.
    fail("malformed multiline reply (code changed from " + std::to_string(partial_->code) + " to " +
         std::to_string(code) + ")");
    return;
  }
  if (!partial_) {
    partial_.emplace();
    partial_->code = code;
  }
  if (partial_->lines.size() >= kMaxLinesPerReply) {
    fail("reply with more than " + std::to_string(kMaxLinesPerReply) + " lines");
    return;
  }
  partial_->lines.push_back(
      stripEnhanced(text, code, partial_->lines.empty() ? &partial_->enhanced : nullptr));
  if (last) {
    complete_.push_back(std::move(*partial_));
    partial_.reset();
  }
}

}  // namespace tlsrelay
