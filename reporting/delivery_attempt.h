// One delivery attempt for one recipient, as the relay reports it upward.
// Delivery code fills it in and hands it to every DeliveryObserver; observers
// (the accounting log now, the TLS-RPT store later) record it and never steer
// delivery.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsrelay {

enum class AttemptResult { Delivered, Deferred, Bounced };

const char* toString(AttemptResult r);

// How TLS went on one attempt and which policy governed it: what the accounting
// log prints and what a TLS-RPT report (RFC 8460 §4.4) aggregates.
struct AttemptTls {
  std::string protocol;                   // e.g. "TLSv1.3"; empty when plaintext
  std::string cipher;                     // e.g. "TLS_AES_256_GCM_SHA384"
  std::string verification = "none";      // how the peer was authenticated: none / pkix / dane / sts
  std::string policy_source = "default";  // which rule decided TLS: "default", "policy.d/x.toml", "dane", ...
  std::string result_type;                // RFC 8460 result type: "success", "starttls-not-supported", ...
  std::string policy_type = "no-policy-found";  // RFC 8460 policy-type: sts / tlsa / no-policy-found
  std::string policy_domain;                    // the domain the policy belongs to
  std::vector<std::string> policy_strings;      // the STS policy lines or TLSA records
  std::vector<std::string> mx_patterns;         // STS mx patterns
  std::string failure_reason;                   // human text when result_type is a failure
  std::string requiretls_reason;  // why a REQUIRETLS message was not sent: "requiretls:noext", ...
};

struct DeliveryAttempt {
  int64_t time = 0;  // unix seconds when the attempt finished
  std::string queue_id;
  std::string sender;
  std::string recipient;
  std::string domain;   // destination domain (policy domain)
  std::string mx_host;  // empty when no connection was made
  std::string ip;       // remote IP, empty when no connection was made
  AttemptResult result = AttemptResult::Deferred;
  std::string dsn_status;  // enhanced status, e.g. "2.0.0", "4.7.5", "5.1.1"
  std::string response;    // remote reply text or local reason
  AttemptTls tls;
};

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void onAttempt(const DeliveryAttempt& attempt) = 0;
};

}  // namespace tlsrelay
