// TLS result records as JSON lines; see tls_result_log.h.
#include "reporting/tls_result_log.h"

#include <nlohmann/json.hpp>

namespace tlsrelay {

bool worthRecording(const SessionRecord& s) {
  return s.result.has_value();
}

std::string formatTlsResult(const SessionRecord& s, int64_t time) {
  static const ReportPolicy kNoPolicy;
  const ReportPolicy& p = s.policy ? *s.policy : kNoPolicy;
  const bool failed = s.result && isFailure(*s.result);
  nlohmann::json j = {
      {"time", time},
      {"session-id", s.session_id},
      {"recipient-domain", s.domain},
      {"policy-type", toString(p.type)},
      {"policy-domain", p.domain.empty() ? s.domain : p.domain},
      {"policy-string", p.strings},
      {"mx-host", p.mx_host},
      {"result-type", s.result ? toString(*s.result) : ""},
      {"receiving-mx-hostname", s.mx_host},
      {"receiving-ip", s.ip},
      {"sending-mta-ip", s.sending_ip},
      {"failure-reason-code", failed ? s.failure_reason : std::string()},
      {"requiretls-reason", toString(s.requiretls_refusal)},
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
    r.session_id = j.value("session-id", "");
    r.recipient_domain = j.value("recipient-domain", "");
    auto policy_type = parseTlsPolicyType(j.at("policy-type").get<std::string>());
    if (!policy_type) return makeError("bad TLS result record: unknown policy-type");
    r.policy_type = *policy_type;
    r.policy_domain = j.at("policy-domain").get<std::string>();
    r.policy_strings = j.value("policy-string", std::vector<std::string>{});
    r.mx_host = j.value("mx-host", std::vector<std::string>{});
    auto result = parseTlsResultType(j.at("result-type").get<std::string>());
    if (!result) return makeError("bad TLS result record: unknown result-type");
    r.result_type = *result;
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

void TlsResultLog::onSession(const SessionEvent& event) {
  if (event.kind != SessionEvent::Kind::TlsOutcome || !event.session || !worthRecording(*event.session))
    return;
  int64_t time = event.time != 0 ? event.time : clock_();
  file_.append(time, formatTlsResult(*event.session, time) + "\n");
}

}  // namespace tlsrelay
