// Every outbound session's TLS outcome, kept for TLS reporting (RFC 8460
// counts sessions): one JSON object per line in
// <directory>/tls-results-YYYY-MM-DD.jsonl (UTC day), written when the
// session's TLS record is final. It stores what a report needs (policy, result
// type, MX, receiving IP, failure reason) and the session id, nothing about
// message content.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "reporting/accounting_log.h"  // UnixClock
#include "reporting/daily_append_file.h"
#include "reporting/delivery_events.h"

namespace tlsrelay {

// One stored result as read back; field names follow RFC 8460 §4.4.
struct TlsResultRecord {
  int64_t time = 0;
  std::string session_id;
  std::string recipient_domain;
  TlsPolicyType policy_type = TlsPolicyType::NoPolicyFound;
  std::string policy_domain;
  std::vector<std::string> policy_strings;
  std::vector<std::string> mx_host;  // STS mx patterns
  TlsResultType result_type = TlsResultType::Success;
  std::string receiving_mx_hostname;
  std::string receiving_ip;
  std::string failure_reason_code;  // free text
  std::string requiretls_reason;
};

// Nothing to report when no TLS rule had anything to say (clear text where
// nothing wanted TLS, a DNS failure before any next hop was known).
bool worthRecording(const SessionRecord& session);
std::string formatTlsResult(const SessionRecord& session, int64_t time);  // one JSON line, no newline
Result<TlsResultRecord> parseTlsResult(const std::string& line);

class TlsResultLog : public DeliveryObserver {
 public:
  TlsResultLog(std::string directory, UnixClock clock);
  void onSession(const SessionEvent& event) override;  // writes on TlsOutcome
  std::string pathFor(int64_t unix_seconds) const { return file_.pathFor(unix_seconds); }

 private:
  DailyAppendFile file_;
  UnixClock clock_;
};

}  // namespace tlsrelay
