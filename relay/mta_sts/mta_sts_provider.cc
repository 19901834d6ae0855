// RFC 8461 §5.1 policy discovery: TXT record, cache and HTTPS fetch put
// together; see mta_sts_provider.h.
#include "relay/mta_sts/mta_sts_provider.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "common/log.h"
#include "dnssec/resolver.h"
#include "policy/domain_policy.h"
#include "relay/mta_sts/mta_sts_cache.h"
#include "relay/mta_sts/mta_sts_fetcher.h"

namespace tlsrelay {
namespace {

// What one fetch produced, shared by every lookup that waited for it.
struct FetchOutcome {
  StsStatus status = StsStatus::FetchError;  // Policy, FetchError, Invalid or WebPkiInvalid
  StsCacheEntry entry;                       // when status == Policy
  std::string why;
};

struct Flight {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  FetchOutcome outcome;
};

StsInput fromEntry(const StsCacheEntry& e, bool from_cache, std::string why) {
  StsInput in;
  in.from_cache = from_cache;
  in.why = std::move(why);
  if (e.policy.mode == StsMode::None) {
    // RFC 8461 §5: mode none means the domain opts out; the policy stays cached.
    in.status = StsStatus::NoPolicy;
    if (in.why.empty()) in.why = "policy mode none";
    return in;
  }
  in.status = StsStatus::Policy;
  in.policy = e.policy;
  return in;
}

StsInput failure(StsStatus status, std::string why) {
  StsInput in;
  in.status = status;
  in.why = std::move(why);
  return in;
}

class Provider : public MtaStsProvider {
 public:
  Provider(const MtaStsConfig& config, dns::Resolver* resolver, std::function<int64_t()> clock,
           std::unique_ptr<StsFetcher> fetcher)
      : config_(config),
        resolver_(resolver),
        clock_(clock ? std::move(clock) : [] { return static_cast<int64_t>(std::time(nullptr)); }),
        fetcher_(std::move(fetcher)),
        cache_(config.cache_directory) {}

  StsInput lookup(const std::string& domain_in, StsTrace* trace) override {
    StsTrace scratch;
    StsTrace& tr = trace ? *trace : scratch;
    StsInput result = lookupTraced(domain_in, tr);
    if (tr.fetched)
      fetches_.fetch_add(1, std::memory_order_relaxed);
    else if (result.from_cache)
      hits_.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  CacheStats cacheStats() const override {
    return {hits_.load(std::memory_order_relaxed), fetches_.load(std::memory_order_relaxed)};
  }

 private:
  StsInput lookupTraced(const std::string& domain_in, StsTrace& tr) {
    const std::string domain = normalizeDomain(domain_in);
    if (!config_.enabled) return failure(StsStatus::NoPolicy, "MTA-STS disabled");
    if (std::find(config_.exempt.begin(), config_.exempt.end(), domain) != config_.exempt.end()) {
      StsInput in;
      in.status = StsStatus::Exempt;
      in.why = "exempt by configuration";
      return in;
    }

    // RFC 8461 §3.1: the TXT record at _mta-sts.<domain> announces a policy and its id.
    const dns::TxtAnswer txt = resolver_->lookupTxt("_mta-sts." + domain);
    tr.txt_security = dns::toString(txt.security);
    tr.txt_outcome = dns::toString(txt.outcome);
    for (const auto& r : txt.records) {
      if (r.rfind("v=STSv1", 0) == 0) tr.txt = r;
    }

    const int64_t now = clock_();
    std::optional<StsCacheEntry> cached = cache_.get(domain);
    if (cached) {
      tr.cached_id = cached->id;
      tr.cached_expires = cached->expires_at;
      if (cached->expired(now)) cached.reset();  // RFC 8461 §5.1: an expired policy is no policy
    }

    if (txt.security == dns::Security::Bogus || txt.outcome == dns::Outcome::TempFail) {
      // A failed or bogus lookup never means "no policy" (RFC 8461 §5.1: keep using the cache).
      std::string why = "TXT lookup failed: " + (txt.why.empty() ? std::string(tr.txt_outcome) : txt.why);
      if (txt.security == dns::Security::Bogus) why = "TXT answer bogus: " + txt.why;
      if (cached) return fromEntry(*cached, true, why);
      return failure(StsStatus::FetchError, why);
    }
    std::optional<std::string> id;
    if (txt.outcome == dns::Outcome::Found) {
      auto parsed = parseStsTxtId(txt.records);
      if (!parsed.ok()) {
        // A malformed STSv1 record: sts-policy-invalid unless a cached policy still holds.
        if (cached) return fromEntry(*cached, true, parsed.error().message);
        return failure(StsStatus::Invalid, parsed.error().message);
      }
      id = *parsed;
    }
    if (!id) {
      // RFC 8461 §5.1: a missing TXT record does not end an unexpired cached
      // policy (it might be an attacker hiding it).
      if (cached) return fromEntry(*cached, true, "");
      return failure(StsStatus::NoPolicy, "no STSv1 TXT record");
    }

    if (cached && cached->id == *id) {
      if (!needsRefresh(*cached, now)) return fromEntry(*cached, true, "");
      // Proactive refresh: whoever is already refreshing does it for all.
      auto outcome = fetchCoalesced(domain, *id, /*wait=*/false, tr);
      if (!outcome) return fromEntry(*cached, true, "");
      if (outcome->status == StsStatus::Policy) return fromEntry(outcome->entry, false, "");
      return fromEntry(*cached, true, "refresh failed: " + outcome->why);
    }

    auto outcome = fetchCoalesced(domain, *id, /*wait=*/true, tr);
    if (outcome->status == StsStatus::Policy) return fromEntry(outcome->entry, false, "");
    // RFC 8461 §5.1: a failed fetch keeps an unexpired cached policy.
    if (cached) return fromEntry(*cached, true, outcome->why);
    return failure(outcome->status, outcome->why);
  }

  // Within refresh_before of expiry, but not before half the policy's life has
  // passed, so a max_age shorter than refresh_before cannot cause a fetch per lookup.
  bool needsRefresh(const StsCacheEntry& e, int64_t now) const {
    const int64_t life = e.expires_at - e.fetched_at;
    return e.expires_at - now <= config_.refresh_before.count() && now - e.fetched_at >= life / 2;
  }

  // One fetch per domain at a time; concurrent lookups share its outcome.
  // With wait == false and a fetch already running, returns nullopt at once.
  std::optional<FetchOutcome> fetchCoalesced(const std::string& domain, const std::string& id, bool wait,
                                             StsTrace& tr) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(flights_mutex_);
      auto& slot = flights_[domain];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (!leader) {
      if (!wait) return std::nullopt;
      std::unique_lock lock(flight->mutex);
      flight->done_cv.wait(lock, [&] { return flight->done; });
      tr.fetched = true;
      tr.fetch_result = flight->outcome.status == StsStatus::Policy ? "ok" : flight->outcome.why;
      return flight->outcome;
    }
    FetchOutcome outcome = fetchAndStore(domain, id, tr);
    {
      std::lock_guard lock(flight->mutex);
      flight->outcome = outcome;
      flight->done = true;
    }
    flight->done_cv.notify_all();
    {
      std::lock_guard lock(flights_mutex_);
      flights_.erase(domain);
    }
    return outcome;
  }

  FetchOutcome fetchAndStore(const std::string& domain, const std::string& id, StsTrace& tr) {
    const int64_t now = clock_();
    // A fetch that finished just before we became the leader may already have
    // stored this very policy.
    if (auto fresh = cache_.get(domain);
        fresh && fresh->id == id && !fresh->expired(now) && !needsRefresh(*fresh, now)) {
      return FetchOutcome{StsStatus::Policy, *fresh, ""};
    }
    tr.fetched = true;
    StsFetchResult got = fetcher_->fetch(domain);
    FetchOutcome out;
    if (got.kind == StsFetchResult::Kind::WebPkiError) {
      out.status = StsStatus::WebPkiInvalid;
      out.why = got.error;
    } else if (got.kind == StsFetchResult::Kind::FetchError) {
      out.status = StsStatus::FetchError;
      out.why = got.error;
    } else if (auto policy = parseStsPolicy(got.body); !policy.ok()) {
      out.status = StsStatus::Invalid;
      out.why = policy.error().message;
    } else {
      out.status = StsStatus::Policy;
      out.entry.domain = domain;
      out.entry.id = id;
      out.entry.fetched_at = now;
      out.entry.expires_at = now + policy->max_age;
      out.entry.policy = std::move(policy).value();
      if (auto st = cache_.put(out.entry); !st.ok()) {
        log::warn("mta-sts", "cannot store policy in the cache",
                  {{"domain", domain}, {"error", st.error().message}});
      }
      log::info("mta-sts", "policy fetched",
                {{"domain", domain},
                 {"id", id},
                 {"mode", toString(out.entry.policy.mode)},
                 {"max_age", std::to_string(out.entry.policy.max_age)}});
    }
    tr.fetch_result = out.status == StsStatus::Policy ? "ok" : out.why;
    return out;
  }

  const MtaStsConfig config_;
  dns::Resolver* resolver_;
  std::function<int64_t()> clock_;
  std::unique_ptr<StsFetcher> fetcher_;
  StsCache cache_;
  std::atomic<uint64_t> hits_{0}, fetches_{0};
  std::mutex flights_mutex_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace

std::unique_ptr<MtaStsProvider> makeMtaStsProvider(const MtaStsConfig& config, dns::Resolver* resolver,
                                                   std::function<int64_t()> clock,
                                                   std::unique_ptr<StsFetcher> fetcher) {
  return std::make_unique<Provider>(config, resolver, std::move(clock), std::move(fetcher));
}

std::unique_ptr<MtaStsProvider> makeMtaStsProvider(const MtaStsConfig& config, dns::Resolver* resolver,
                                                   std::function<int64_t()> clock) {
  return makeMtaStsProvider(config, resolver, std::move(clock), makeCurlStsFetcher(config, resolver));
}

}  // namespace tlsrelay
