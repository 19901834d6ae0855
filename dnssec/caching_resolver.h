// A TTL cache in front of any Resolver, shared by all delivery threads, so a
// queue run does not repeat the same MX/A/AAAA/TXT/TLSA lookups. Positive answers live
// min(TTL, cap); NoData/NxDomain min(SOA-derived TTL, negative cap); TempFail
// and Bogus at most a few seconds, so a resolver hiccup does not stick.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>

#include "dnssec/resolver.h"

namespace tlsrelay::dns {

struct CachePolicy {
  int64_t max_positive_seconds = 3600;
  int64_t max_negative_seconds = 300;
  int64_t failure_seconds = 5;  // TempFail / Bogus; 0 = never cached
  size_t max_entries = 10000;
};

class CachingResolver : public Resolver {
 public:
  CachingResolver(std::unique_ptr<Resolver> inner, std::function<int64_t()> now_seconds,
                  CachePolicy policy = {});

  MxAnswer lookupMx(const std::string& domain) override;
  AddressAnswer lookupAddresses(const std::string& host) override;
  TxtAnswer lookupTxt(const std::string& name) override;
  TlsaAnswer lookupTlsa(const std::string& name) override;

  size_t size() const;  // entries currently held (expired ones included until purged)
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;  // asked the inner resolver
  };
  Stats stats() const;

 private:
  enum class Kind { Mx, Addresses, Txt, Tlsa };
  using Key = std::pair<Kind, std::string>;
  // AddressAnswer and TxtAnswer are the same type (Answer<std::string>).
  using Stored = std::variant<MxAnswer, AddressAnswer, TlsaAnswer>;
  struct Entry {
    Stored answer;
    int64_t stored_at = 0;
    int64_t expires_at = 0;
  };

  template <class AnswerT, class Lookup>
  AnswerT lookup(Kind kind, const std::string& name, Lookup&& ask_inner);
  template <class AnswerT>
  int64_t lifetime(const AnswerT& answer) const;
  void insertLocked(Key key, Entry entry, int64_t now);

  std::unique_ptr<Resolver> inner_;
  std::function<int64_t()> now_seconds_;
  CachePolicy policy_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
  uint64_t hits_ = 0, misses_ = 0;  // under mutex_
};

}  // namespace tlsrelay::dns
