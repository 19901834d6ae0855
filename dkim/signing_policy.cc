#include "dkim/signing_policy.h"

#include "common/wildcard.h"

namespace tlsrelay::dkim {
namespace {

bool anyMatches(const std::vector<std::string>& patterns, const std::vector<std::string>& addresses) {
  for (const std::string& a : addresses) {
    for (const std::string& p : patterns) {
      if (wildcardMatch(p, a)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<std::string> fromPatterns(const SigningEntry& entry) {
  if (!entry.from.empty()) return entry.from;
  return {"*@" + entry.domain, "*@*." + entry.domain};
}

std::vector<size_t> eligibleEntries(const std::vector<SigningEntry>& entries,
                                    const std::vector<std::string>& from_addresses,
                                    const std::vector<std::string>& recipients) {
  std::vector<size_t> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (anyMatches(fromPatterns(entries[i]), from_addresses) || anyMatches(entries[i].to, recipients))
      out.push_back(i);
  }
  return out;
}

}  // namespace tlsrelay::dkim
