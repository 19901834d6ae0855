// Per-source (client IP) rules for the inbound listener, PowerMTA <source> /
// DMail IP-list style: who may relay without AUTH, and the STARTTLS / AUTH
// requirements for that client. First match wins. Pure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/cidr.h"

namespace tlsrelay {

struct SourceRule {
  Cidr cidr;
  bool relay = false;                        // may relay without AUTH
  bool allow_starttls = true;                // advertise STARTTLS (only if a certificate is configured)
  bool require_starttls = false;             // MAIL refused until TLS is active
  bool require_starttls_before_auth = true;  // AUTH not advertised/accepted before TLS
  bool allow_plaintext_auth = false;         // AUTH PLAIN/LOGIN without TLS
  int max_connections = 0;                   // concurrent connections from this rule's clients; 0 = unlimited
  // Sender domains these clients may relay from; unset = [server]
  // allowed_sender_domains; empty = any.
  std::optional<std::vector<std::string>> allowed_sender_domains;
};

// The rules appended after every configured rule: loopback may relay, anybody
// else may not. Because the last one is 0/0 every address matches something.
std::vector<SourceRule> builtinSourceRules();

// True for a CIDR that covers every address of a family (0/0, ::/0, 0.0.0.0/0).
bool coversWholeFamily(const Cidr& cidr);

// First rule whose CIDR contains `address`. `rules` must end with the built-in
// 0/0 rule (RelayConfig::sources always does); if it does not, a static
// deny-relay rule is returned so the answer is never an open relay.
const SourceRule& matchSource(const std::vector<SourceRule>& rules, const IpAddress& address);

}  // namespace tlsrelay
