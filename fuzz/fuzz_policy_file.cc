// libFuzzer target: arbitrary bytes into the policy.d/*.toml parser (and, when
// they parse, into the set builder and matcher). Must never crash, hang or
// let an exception escape.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/destination_tls.h"
#include "policy/domain_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto file = tlsrelay::parsePolicyFile(text, "fuzz.toml", "/etc/tlsrelay/policy.d");
  if (!file.ok()) return 0;
  auto set = tlsrelay::PolicySet::build({*file});
  if (!set.ok()) return 0;
  const tlsrelay::DomainPolicy& policy =
      set->match(file->domain.size() > 2 ? "x" + file->domain.substr(1) : "x.example");
  static const auto address = tlsrelay::IpAddress::parse("192.0.2.1").value();
  tlsrelay::TlsDecision decision = tlsrelay::decideDestinationTls(policy, address);
  return decision.policy_source.empty() ? 1 : 0;
}
