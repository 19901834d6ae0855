// One delivery attempt for one recipient, as the relay reports it upward.
// Delivery code fills it in and hands it to every DeliveryObserver; observers
// (the accounting log now, the TLS-RPT store later) record it and never steer
// delivery.
#pragma once

#include <cstdint>
#include <string>

namespace tlsrelay {

enum class AttemptResult { Delivered, Deferred, Bounced };

const char* toString(AttemptResult r);

struct DeliveryAttempt {
  int64_t time = 0;  // unix seconds when the attempt finished
  std::string queue_id;
  std::string sender;
  std::string recipient;
  std::string domain;   // destination domain (policy domain)
  std::string mx_host;  // empty when no connection was made
  std::string ip;       // remote IP, empty when no connection was made
  AttemptResult result = AttemptResult::Deferred;
  std::string dsn_status;     // enhanced status, e.g. "2.0.0", "4.7.5", "5.1.1"
  std::string response;       // remote reply text or local reason
  std::string tls_protocol;   // e.g. "TLSv1.3"; empty when plaintext
  std::string tls_cipher;     // e.g. "TLS_AES_256_GCM_SHA384"
  std::string verification;   // "none" / "pkix" (issue 3 adds "dane", "mta-sts")
  std::string policy_source;  // which rule decided TLS: "default", "policy.d/x.toml", ...
  std::string result_type;    // RFC 8460 result type, e.g. "success", "starttls-not-supported"
};

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void onAttempt(const DeliveryAttempt& attempt) = 0;
};

}  // namespace tlsrelay
