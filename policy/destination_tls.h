// What the per-domain policy file (layer 4) and the built-in default (layer 5)
// of the TLS policy engine demand for one delivery attempt to one MX address.
// Pure: no I/O, no clock.
//
// Precedence design: this is the floor. Stronger sources (REQUIRETLS, DANE,
// MTA-STS — PRODUCT.md §TLS policy engine, items 1–3) take this decision as
// input and may only raise it (Never < Opportunistic < Required; None < Pkix),
// replacing policy_source when they do. Nothing layered on top lowers it.
#pragma once

#include "common/cidr.h"
#include "policy/domain_policy.h"
#include "policy/tls_decision.h"

namespace tlsrelay {

// Decision from the domain policy alone, ignoring the destination address.
TlsDecision decideFromDomainPolicy(const DomainPolicy& policy);

// Decision for one destination IP: the domain policy, then the DMail-style
// per-IP rule — TLS is required to an address inside require_tls_out unless it
// is also inside require_tls_except. The exception list only exempts from
// require_tls_out; it never weakens require_starttls written for the domain.
// A require_tls_out hit raises use_starttls = false to Required (the per-IP
// rule is the more specific and the safer one).
TlsDecision decideDestinationTls(const DomainPolicy& policy, const IpAddress& destination_ip);

}  // namespace tlsrelay
