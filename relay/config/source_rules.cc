// First-match source rules; see source_rules.h.
#include "relay/config/source_rules.h"

namespace tlsrelay {
namespace {

SourceRule ruleFor(const char* cidr_text, bool relay) {
  SourceRule rule;
  rule.cidr = Cidr::parse(cidr_text).value();  // constant input: cannot fail
  rule.relay = relay;
  return rule;
}

}  // namespace

std::vector<SourceRule> builtinSourceRules() {
  return {ruleFor("127.0.0.0/8", true), ruleFor("::1", true), ruleFor("0/0", false)};
}

bool coversWholeFamily(const Cidr& cidr) {
  if (cidr.prefix_bits == 0) return true;
  return cidr.network.is_v4 && cidr.prefix_bits == 96;  // 0.0.0.0/0 in the mapped form
}

const SourceRule& matchSource(const std::vector<SourceRule>& rules, const IpAddress& address) {
  for (const auto& rule : rules)
    if (rule.cidr.contains(address)) return rule;
  static const SourceRule deny_all = ruleFor("0/0", false);
  return deny_all;
}

}  // namespace tlsrelay
