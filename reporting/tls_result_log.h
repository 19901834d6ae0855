// Every attempt's TLS outcome, kept for TLS reporting (RFC 8460): one JSON
// object per line in <directory>/tls-results-YYYY-MM-DD.jsonl (UTC day). This is
// the append-only record the daily report builder reads; it stores what a
// report needs (policy, result type, MX, receiving IP, failure reason) and
// nothing about message content beyond the queue id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "reporting/accounting_log.h"  // UnixClock
#include "reporting/daily_append_file.h"
#include "reporting/delivery_attempt.h"

namespace tlsrelay {

// One stored result; field names follow RFC 8460 §4.4 where one exists.
struct TlsResultRecord {
  int64_t time = 0;
  std::string queue_id;
  std::string recipient_domain;
  std::string policy_type;  // "sts", "tlsa", "no-policy-found"
  std::string policy_domain;
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_host;  // STS mx patterns
  std::string result_type;           // "success" or an RFC 8460 §4.3 failure type
  std::string receiving_mx_hostname;
  std::string receiving_ip;
  std::string failure_reason_code;  // free text
  std::string requiretls_reason;
};

// Nothing to report when no TLS decision was reached (e.g. a DNS failure
// before any next hop was known): result_type is empty then.
bool worthRecording(const DeliveryAttempt& attempt);
TlsResultRecord tlsResultFrom(const DeliveryAttempt& attempt, int64_t time);
std::string formatTlsResult(const TlsResultRecord& record);  // one JSON line, no newline
Result<TlsResultRecord> parseTlsResult(const std::string& line);

class TlsResultLog : public DeliveryObserver {
 public:
  TlsResultLog(std::string directory, UnixClock clock);
  void onAttempt(const DeliveryAttempt& attempt) override;  // thread-safe
  std::string pathFor(int64_t unix_seconds) const { return file_.pathFor(unix_seconds); }

 private:
  DailyAppendFile file_;
  UnixClock clock_;
};

}  // namespace tlsrelay
