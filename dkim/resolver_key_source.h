// Key records from our own DNS layer (dnssec/), so each key's DNSSEC status
// reaches the verdict and a bogus answer is never used as a key.
#pragma once

#include "dkim/dkim_verifier.h"
#include "dnssec/resolver.h"

namespace tlsrelay::dkim {

class ResolverKeySource : public KeySource {
 public:
  explicit ResolverKeySource(dns::Resolver& resolver) : resolver_(resolver) {}
  Lookup lookup(const std::string& name) override;  // BLOCKING

 private:
  dns::Resolver& resolver_;
};

}  // namespace tlsrelay::dkim
