// A resolver whose servers and DNSSEC mode can change while the relay runs
// (SIGHUP with a new [dns]): every lookup goes to the resolver current when it
// starts, and a lookup in flight on the thread pool keeps the one it began
// with alive until it returns. Thread-safe.
#pragma once

#include <memory>

#include "common/swappable.h"
#include "dnssec/resolver.h"

namespace tlsrelay::dns {

class SwappableResolver final : public Resolver {
 public:
  explicit SwappableResolver(std::shared_ptr<Resolver> initial) : resolver_(std::move(initial)) {}

  // Later lookups use `next`; the old resolver goes when its last lookup ends.
  void replace(std::shared_ptr<Resolver> next) { resolver_.replace(std::move(next)); }
  std::shared_ptr<Resolver> current() const { return resolver_.current(); }

  MxAnswer lookupMx(const std::string& domain) override { return current()->lookupMx(domain); }
  AddressAnswer lookupAddresses(const std::string& host) override { return current()->lookupAddresses(host); }
  TxtAnswer lookupTxt(const std::string& name) override { return current()->lookupTxt(name); }
  TlsaAnswer lookupTlsa(const std::string& name) override { return current()->lookupTlsa(name); }

 private:
  Swappable<Resolver> resolver_;
};

}  // namespace tlsrelay::dns
