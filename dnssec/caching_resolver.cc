// TTL cache in front of a Resolver (see caching_resolver.h). The inner lookup
// runs outside the lock so one slow query never blocks other threads' hits.
#include "dnssec/caching_resolver.h"

#include <algorithm>

#include "dnssec/dns_name.h"

namespace tlsrelay::dns {

CachingResolver::CachingResolver(std::unique_ptr<Resolver> inner, std::function<int64_t()> now_seconds,
                                 CachePolicy policy)
    : inner_(std::move(inner)), now_seconds_(std::move(now_seconds)), policy_(policy) {}

MxAnswer CachingResolver::lookupMx(const std::string& domain) {
  return lookup<MxAnswer>(Kind::Mx, domain, [&](const std::string& n) { return inner_->lookupMx(n); });
}

AddressAnswer CachingResolver::lookupAddresses(const std::string& host) {
  return lookup<AddressAnswer>(Kind::Addresses, host,
                               [&](const std::string& n) { return inner_->lookupAddresses(n); });
}

TxtAnswer CachingResolver::lookupTxt(const std::string& name) {
  return lookup<TxtAnswer>(Kind::Txt, name, [&](const std::string& n) { return inner_->lookupTxt(n); });
}

TlsaAnswer CachingResolver::lookupTlsa(const std::string& name) {
  return lookup<TlsaAnswer>(Kind::Tlsa, name, [&](const std::string& n) { return inner_->lookupTlsa(n); });
}

size_t CachingResolver::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

template <class AnswerT>
int64_t CachingResolver::lifetime(const AnswerT& answer) const {
  const int64_t ttl = answer.ttl;
  if (answer.outcome == Outcome::TempFail || answer.security == Security::Bogus) {
    return policy_.failure_seconds;  // briefly, so a failing name is not hammered
  }
  if (answer.outcome == Outcome::NoData || answer.outcome == Outcome::NxDomain) {
    // RFC 2308 §5: the resolver put min(SOA TTL, SOA MINIMUM) into ttl.
    return std::clamp<int64_t>(ttl, 0, policy_.max_negative_seconds);
  }
  return std::clamp<int64_t>(ttl, 0, policy_.max_positive_seconds);
}

template <class AnswerT, class Lookup>
AnswerT CachingResolver::lookup(Kind kind, const std::string& name, Lookup&& ask_inner) {
  // Equivalent spellings (case, trailing dot) share one entry; names that do
  // not parse go straight to the inner resolver, which reports them.
  auto normalized = normalizeDnsName(name);
  if (!normalized) return ask_inner(name);
  Key key{kind, *normalized};
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      const int64_t now = now_seconds_();
      if (now < it->second.expires_at && now >= it->second.stored_at) {
        AnswerT answer = std::get<AnswerT>(it->second.answer);
        // Hand out the remaining lifetime, as a resolver cache does.
        answer.ttl = static_cast<uint32_t>(it->second.expires_at - now);
        ++hits_;
        return answer;
      }
      entries_.erase(it);
    }
    ++misses_;
  }
  AnswerT answer = ask_inner(*normalized);
  const int64_t keep = lifetime(answer);
  if (keep > 0) {
    std::lock_guard lock(mutex_);
    const int64_t now = now_seconds_();
    insertLocked(std::move(key), Entry{answer, now, now + keep}, now);
  }
  return answer;
}

CachingResolver::Stats CachingResolver::stats() const {
  std::lock_guard lock(mutex_);
  return {hits_, misses_};
}

void CachingResolver::insertLocked(Key key, Entry entry, int64_t now) {
  if (entries_.size() >= policy_.max_entries && entries_.find(key) == entries_.end()) {
    std::erase_if(entries_, [now](const auto& item) { return item.second.expires_at <= now; });
    // Still full of live entries: drop the ones closest to expiry first.
    while (!entries_.empty() && entries_.size() >= policy_.max_entries) {
      auto victim = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.expires_at < b.second.expires_at;
      });
      entries_.erase(victim);
    }
  }
  if (policy_.max_entries == 0) return;
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

}  // namespace tlsrelay::dns
