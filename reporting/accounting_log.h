// The accounting log: one CSV row per delivery attempt, PowerMTA-style, in
// <directory>/acct-YYYY-MM-DD.csv (the UTC day of the attempt, so files rotate
// by day and each new file starts with a header row). It is an observer: it
// records what delivery did and never steers it. Remote responses are hostile
// input, so every field is sanitised before it is quoted (RFC 4180).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "reporting/daily_append_file.h"
#include "reporting/delivery_events.h"

namespace tlsrelay {

// Unix seconds; injected so tests can cross a UTC midnight.
using UnixClock = std::function<int64_t()>;

class AccountingLog : public DeliveryObserver {
 public:
  // Column names, in file order; also the header row.
  static const std::vector<std::string>& columns();

  // `directory` must exist. `clock` stamps attempts whose `time` is 0.
  AccountingLog(std::string directory, UnixClock clock);
  AccountingLog(const AccountingLog&) = delete;
  AccountingLog& operator=(const AccountingLog&) = delete;

  // Thread-safe. Failures to write are logged (once per file), never thrown.
  void onAttempt(const RecipientAttempt& attempt) override;

  // The file a row stamped `unix_seconds` goes to.
  std::string pathFor(int64_t unix_seconds) const;

 private:
  DailyAppendFile file_;
  UnixClock clock_;
};

// One CSV row (no line terminator) for an attempt stamped `time`.
std::string formatAccountingRow(const RecipientAttempt& attempt, int64_t time);

// Makes untrusted text safe for one CSV field: control characters (CR, LF,
// NUL, ESC, ...) become spaces, runs of them collapse to one, and the result
// is cut to `max_bytes` (on a UTF-8 character boundary).
std::string sanitizeAccountingField(std::string_view text, size_t max_bytes = 2048);

// RFC 4180 §2: a field holding a comma, quote, CR or LF is enclosed in double
// quotes and its quotes are doubled.
std::string csvQuote(std::string_view field);

// Reads an accounting file (or any RFC 4180 CSV with a header row) into one
// map per row, keyed by the header names. Quoted fields may hold commas,
// doubled quotes and line breaks; CRLF and bare LF both end a record. An
// unterminated quote or a row whose field count differs from the header's is
// an error naming the line.
Result<std::vector<std::map<std::string, std::string>>> readAccountingCsv(const std::string& path);
Result<std::vector<std::map<std::string, std::string>>> parseAccountingCsv(std::string_view text);

}  // namespace tlsrelay
