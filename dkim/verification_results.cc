#include "dkim/verification_results.h"

namespace tlsrelay::dkim {

std::vector<AuthResult> toAuthResults(const std::vector<SignatureVerdict>& verdicts) {
  std::vector<AuthResult> out;
  if (verdicts.empty()) {
    out.push_back(AuthResult{"dkim", "none", "", {}});
    return out;
  }
  for (const SignatureVerdict& v : verdicts) {
    AuthResult r;
    r.method = "dkim";
    r.result = verdictName(v.verdict);
    r.reason = v.reason;
    if (v.testing) r.reason += r.reason.empty() ? "key in test mode (t=y)" : "; key in test mode (t=y)";
    auto add = [&r](const char* name, const std::string& value) {
      if (!value.empty()) r.properties.emplace_back(name, value);
    };
    add("header.d", v.domain);
    add("header.i", v.identity);
    add("header.s", v.selector);
    add("header.a", v.algorithm);
    add("header.b", v.signature_prefix);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace tlsrelay::dkim
