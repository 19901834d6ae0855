// Accounting log writer and reader; see accounting_log.h.
#include "reporting/accounting_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/time_format.h"
#include "reporting/daily_append_file.h"

namespace tlsrelay {
namespace {

constexpr std::string_view kStage = "accounting";

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// Backs `cut` up so it does not split a UTF-8 sequence.
size_t utf8Boundary(std::string_view s, size_t cut) {
  if (cut >= s.size()) return s.size();
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace

const std::vector<std::string>& AccountingLog::columns() {
  static const std::vector<std::string> kColumns = {
      "time",         "queue_id",      "sender",      "recipient",   "domain",         "mx_host",
      "ip",           "result",        "dsn_status",  "response",    "tls_protocol",   "tls_cipher",
      "verification", "policy_source", "result_type", "policy_type", "failure_reason", "requiretls_reason",
      "session_id"};
  return kColumns;
}

std::string sanitizeAccountingField(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  bool pending_space = false;
  for (char ch : text) {
    if (isControl(static_cast<unsigned char>(ch))) {
      // A multi-line SMTP reply arrives as "250-a\r\n250 b": one space keeps it readable.
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty() && out.back() != ' ' && ch != ' ') out.push_back(' ');
    pending_space = false;
    out.push_back(ch);
  }
  if (out.size() > max_bytes) out.resize(utf8Boundary(out, max_bytes));
  return out;
}

std::string csvQuote(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out;
  out.reserve(field.size() + 2);
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');  // RFC 4180 §2 rule 7: a quote inside is doubled
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string formatAccountingRow(const RecipientAttempt& a, int64_t time) {
  static const SessionRecord kNoSession;
  static const ReportPolicy kNoPolicy;
  const SessionRecord& s = a.session ? *a.session : kNoSession;
  const ReportPolicy& policy = s.policy ? *s.policy : kNoPolicy;
  const std::string status = a.status.toString();
  const std::string_view fields[] = {a.queue_id,
                                     a.sender,
                                     a.recipient,
                                     s.domain,
                                     s.mx_host,
                                     s.ip,
                                     toString(a.result),
                                     status,
                                     a.response,
                                     s.protocol,
                                     s.cipher,
                                     toString(s.verified_by),
                                     s.policy_source,
                                     s.result ? toString(*s.result) : "",
                                     toString(policy.type),
                                     s.failure_reason,
                                     toString(s.requiretls_refusal),
                                     s.session_id};
  std::string row = iso8601Utc(time);
  for (std::string_view f : fields) {
    row.push_back(',');
    row += csvQuote(sanitizeAccountingField(f));
  }
  return row;
}

namespace {
std::string headerRow() {
  std::string header;
  for (const auto& c : AccountingLog::columns()) {
    if (!header.empty()) header.push_back(',');
    header += c;
  }
  return header + "\r\n";
}
}  // namespace

AccountingLog::AccountingLog(std::string directory, UnixClock clock)
    : file_(std::move(directory), "acct-", ".csv", headerRow(), std::string(kStage)),
      clock_(std::move(clock)) {}

std::string AccountingLog::pathFor(int64_t unix_seconds) const {
  return file_.pathFor(unix_seconds);
}

void AccountingLog::onAttempt(const RecipientAttempt& attempt) {
  int64_t time = attempt.time != 0 ? attempt.time : clock_();
  std::string row = formatAccountingRow(attempt, time);
  row += "\r\n";  // RFC 4180 §2 rule 1: records end with CRLF
  // Rows go straight to the kernel with one write(2) each, so a crash of the
  // relay loses nothing already reported, and rows from this process and a
  // concurrently running CLI never interleave.
  file_.append(time, row);
}

Result<std::vector<std::map<std::string, std::string>>> parseAccountingCsv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  size_t line = 1;
  size_t record_line = 1;
  std::vector<size_t> record_lines;

  auto endField = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
  };
  auto endRecord = [&] {
    bool blank_line = record.empty() && field.empty() && !field_was_quoted;
    endField();
    if (!blank_line) {  // tolerate empty lines (e.g. a trailing one)
      records.push_back(std::move(record));
      record_lines.push_back(record_line);
    }
    record.clear();
  };

  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || field_was_quoted) {
        return makeError("line " + std::to_string(line) + ": quote inside an unquoted field");
      }
      in_quotes = true;
      field_was_quoted = true;
    } else if (c == ',') {
      endField();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      endRecord();
      record_line = ++line;
    } else if (c == '\n') {
      endRecord();
      record_line = ++line;
    } else {
      if (field_was_quoted) {
        return makeError("line " + std::to_string(line) + ": text after a closing quote");
      }
      field.push_back(c);
    }
  }
  if (in_quotes) return makeError("line " + std::to_string(record_line) + ": unterminated quoted field");
  // A last record without a line break still counts.
  if (!field.empty() || field_was_quoted || !record.empty()) endRecord();

  std::vector<std::map<std::string, std::string>> rows;
  if (records.empty()) return rows;
  const std::vector<std::string>& header = records.front();
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != header.size()) {
      return makeError("line " + std::to_string(record_lines[r]) + ": " + std::to_string(records[r].size()) +
                       " fields, header has " + std::to_string(header.size()));
    }
    std::map<std::string, std::string> row;
    for (size_t f = 0; f < header.size(); ++f) row[header[f]] = std::move(records[r][f]);
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<std::vector<std::map<std::string, std::string>>> readAccountingCsv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return makeError("cannot read " + path);
  auto rows = parseAccountingCsv(buf.str());
  if (!rows.ok()) return makeError(path + ": " + rows.error().message);
  return rows;
}

}  // namespace tlsrelay
