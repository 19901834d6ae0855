// TLS result records as JSON lines; see tls_result_log.h.
#include "reporting/tls_result_log.h"

#include <nlohmann/json.hpp>

namespace tlsrelay {

bool worthRecording(const DeliveryAttempt& a) {
  return !a.tls.result_type.empty();
}

TlsResultRecord tlsResultFrom(const DeliveryAttempt& a, int64_t time) {
  TlsResultRecord r;
  r.time = time;
  r.queue_id = a.queue_id;
  r.recipient_domain = a.domain;
  r.policy_type = a.tls.policy_type;
  r.policy_domain = a.tls.policy_domain.empty() ? a.domain : a.tls.policy_domain;
  r.policy_strings = a.tls.policy_strings;
  r.mx_host = a.tls.mx_patterns;
  r.result_type = a.tls.result_type;
  r.receiving_mx_hostname = a.mx_host;
  r.receiving_ip = a.ip;
  if (a.tls.result_type != "success") r.failure_reason_code = a.tls.failure_reason;
  r.requiretls_reason = a.tls.requiretls_reason;
  return r;
}

std::string formatTlsResult(const TlsResultRecord& r) {
  nlohmann::json j = {
      {"time", r.time},
      {"queue-id", r.queue_id},
      {"recipient-domain", r.recipient_domain},
      {"policy-type", r.policy_type},
      {"policy-domain", r.policy_domain},
      {"policy-string", r.policy_strings},
      {"mx-host", r.mx_host},
      {"result-type", r.result_type},
      {"receiving-mx-hostname", r.receiving_mx_hostname},
      {"receiving-ip", r.receiving_ip},
      {"failure-reason-code", r.failure_reason_code},
      {"requiretls-reason", r.requiretls_reason},
  };
  // Remote replies end up in failure reasons: replace invalid UTF-8 rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<TlsResultRecord> parseTlsResult(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("not a JSON object");
  try {
    TlsResultRecord r;
    r.time = j.at("time").get<int64_t>();
    r.queue_id = j.value("queue-id", "");
    r.recipient_domain = j.value("recipient-domain", "");
    r.policy_type = j.at("policy-type").get<std::string>();
    r.policy_domain = j.at("policy-domain").get<std::string>();
    r.policy_strings = j.value("policy-string", std::vector<std::string>{});
    r.mx_host = j.value("mx-host", std::vector<std::string>{});
    r.result_type = j.at("result-type").get<std::string>();
    r.receiving_mx_hostname = j.value("receiving-mx-hostname", "");
    r.receiving_ip = j.value("receiving-ip", "");
    r.failure_reason_code = j.value("failure-reason-code", "");
    r.requiretls_reason = j.value("requiretls-reason", "");
    return r;
  } catch (const nlohmann::json::exception& e) {
    return makeError(std::string("bad TLS result record: ") + e.what());
  }
}

TlsResultLog::TlsResultLog(std::string directory, UnixClock clock)
    : file_(std::move(directory), "tls-results-", ".jsonl", "", "tls-results"), clock_(std::move(clock)) {}

void TlsResultLog::onAttempt(const DeliveryAttempt& attempt) {
  if (!worthRecording(attempt)) return;
  int64_t time = attempt.time != 0 ? attempt.time : clock_();
  file_.append(time, formatTlsResult(tlsResultFrom(attempt, time)) + "\n");
}

}  // namespace tlsrelay
