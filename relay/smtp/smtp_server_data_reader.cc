// DATA-phase stream reader of the SMTP server; see smtp_server_data_reader.h.
#include "relay/smtp/smtp_server_data_reader.h"

#include "common/ascii.h"

namespace tlsrelay::smtp {
void HeaderWatch::onLine(std::string_view line) {
  if (auto f = reader_.line(line)) field(*f);
}

void HeaderWatch::onEnd() {
  if (auto f = reader_.end()) field(*f);
}

void HeaderWatch::field(const HeaderField& f) {
  if (equalsIgnoreCase(f.name, "Received")) {
    ++received_;
  } else if (equalsIgnoreCase(f.name, "TLS-Required")) {
    // RFC 8689 §3: tls-required = "TLS-Required:" [FWS] "No" CRLF; the keyword
    // is case-insensitive. Anything else leaves the sender's TLS request intact.
    if (!f.truncated && equalsIgnoreCase(f.value, "No")) {
      saw_no_ = true;
    } else {
      saw_other_ = true;
    }
  }
}

void DataReader::begin(size_t max_line_length, uint64_t max_size) {
  *this = DataReader{};
  max_line_length_ = max_line_length;
  max_size_ = max_size;
}

size_t DataReader::consume(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size() && !finished_) {
    size_t nl = bytes.find('\n', pos);
    size_t segment_end = nl == std::string_view::npos ? bytes.size() : nl;
    std::string_view segment = bytes.substr(pos, segment_end - pos);
    if (!segment.empty()) {
      // A CR is bare unless the very next byte is LF (RFC 5321 §2.3.8: CR and
      // LF MUST only occur together as CRLF). Inside a segment no byte is LF.
      if (prev_cr_) bare_line_end_ = true;
      if (segment.substr(0, segment.size() - 1).find('\r') != std::string_view::npos) bare_line_end_ = true;
      prev_cr_ = segment.back() == '\r';
      appendToLine(segment);
    }
    if (nl == std::string_view::npos) return bytes.size();
    pos = nl + 1;
    endLine();
  }
  return pos;
}

void DataReader::appendToLine(std::string_view segment) {
  if (line_overflow_) return;
  if (line_.size() + segment.size() + 1 > max_line_length_) {  // +1: the LF still to come
    line_overflow_ = true;
    line_too_long_ = true;
    line_.clear();
    dropData();
    return;
  }
  line_.append(segment);
}

void DataReader::endLine() {
  bool crlf = prev_cr_;
  prev_cr_ = false;
  if (!crlf) {
    bare_line_end_ = true;  // a bare LF: never a line end we agree on
    dropData();
  }
  if (line_overflow_) {
    line_overflow_ = false;
    prev_line_crlf_ = crlf;
    return;
  }
  // RFC 5321 §4.1.1.4: the end is CRLF "." CRLF, and nothing else.
  if (crlf && prev_line_crlf_ && line_ == ".\r") {
    finished_ = true;
    headers_.onEnd();
    line_.clear();
    return;
  }
  prev_line_crlf_ = crlf;
  std::string_view content = line_;
  // RFC 5321 §4.5.2: a leading period on a line with more characters is removed.
  if (!content.empty() && content.front() == '.') content.remove_prefix(1);
  headers_.onLine(content);
  if (!bare_line_end_ && !line_too_long_ && !too_big_) {
    size_ += content.size() + 1;
    if (size_ > max_size_) {
      too_big_ = true;  // keep reading to the end marker, store nothing more
      dropData();
    } else {
      data_.append(content);
      data_.push_back('\n');
    }
  }
  line_.clear();
}

void DataReader::dropData() {
  data_.clear();
  data_.shrink_to_fit();
}

DataReader::Rejection DataReader::rejection() const {
  if (bare_line_end_) return Rejection::BareLineEnd;
  if (line_too_long_) return Rejection::LineTooLong;
  if (too_big_) return Rejection::TooBig;
  return Rejection::None;
}

std::string DataReader::takeData() {
  if (rejection() != Rejection::None) return {};
  return std::move(data_);
}

}  // namespace tlsrelay::smtp
