// Delivery counters for /metrics, kept by a DeliveryObserver on the observer
// thread (never on the loop): recipient attempts by result, outbound
// connections, and TLS sessions by RFC 8460 result type, verification and
// protocol, the same sessions the TLS reports count.
#pragma once

#include <vector>

#include "common/metric_family.h"
#include "reporting/delivery_events.h"

namespace tlsrelay {

class DeliveryMetrics : public DeliveryObserver {
 public:
  DeliveryMetrics();
  void onAttempt(const RecipientAttempt& attempt) override;
  void onSession(const SessionEvent& event) override;
  std::vector<MetricFamily> families() const;

  const LabelledCounter& attempts() const { return attempts_; }
  const LabelledCounter& tlsSessions() const { return tls_sessions_; }

 private:
  LabelledCounter attempts_;            // result
  LabelledCounter connections_;         // (none)
  LabelledCounter tls_sessions_;        // result_type, verification, protocol
  LabelledCounter handshake_failures_;  // result_type
};

}  // namespace tlsrelay
