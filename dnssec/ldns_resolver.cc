// The real Resolver: sends queries with ldns to the configured servers (RD, DO
// and AD bits set, EDNS 1232, TCP on truncation; CD instead of AD in Validate
// mode), within a per-lookup time budget, and hands the raw response to
// dns_response.cc for interpretation and, in Validate mode, to the
// DnssecValidator for its security. Each query uses its own ldns_resolver, so
// one instance can serve many delivery threads at once. BLOCKING: never on the
// loop thread.
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "dnssec/dns_exchange.h"
#include "dnssec/dns_name.h"
#include "dnssec/dns_response.h"
#include "dnssec/dnssec_validator.h"
#include "dnssec/resolver.h"
#include "dnssec/server_address.h"

namespace tlsrelay::dns {

namespace {

using Clock = std::chrono::steady_clock;

// Below this an attempt cannot get an answer even from loopback in a loaded CI.
constexpr std::chrono::milliseconds kMinAttemptTimeout{200};

using Exchange = RawResponse;

int wireRcode(const std::vector<uint8_t>& wire) {
  return wire.size() >= 4 ? wire[3] & 0x0f : -1;
}

class LdnsResolver final : public Resolver {
 public:
  explicit LdnsResolver(ResolverConfig config) : config_(std::move(config)) {
    for (const auto& text : config_.servers) {
      auto parsed = parseServerAddress(text);
      if (parsed) {
        servers_.push_back(*parsed);
      } else {
        config_error_ += (config_error_.empty() ? "" : "; ") + parsed.error().message;
      }
    }
    if (servers_.empty() && config_error_.empty()) config_error_ = "no DNS resolver configured";
    if (config_.mode == DnssecMode::Validate) {
      validator_ = std::make_unique<DnssecValidator>(config_.trust_anchor_file);
      if (!validator_->anchorError().empty())
        config_error_ += (config_error_.empty() ? "" : "; ") + validator_->anchorError();
    }
  }

  MxAnswer lookupMx(const std::string& domain) override {
    return lookup<MxRecord>(domain, kTypeMx, Clock::now() + config_.timeout,
                            [&](std::span<const uint8_t> wire, const std::string& qname) {
                              return parseMxResponse(wire, qname, trustAd());
                            });
  }

  AddressAnswer lookupAddresses(const std::string& host) override {
    // One budget for both queries: the caller's wait is bounded by `timeout`.
    const auto deadline = Clock::now() + config_.timeout;
    const auto midpoint = Clock::now() + config_.timeout / 2;
    AddressAnswer v4 = lookup<std::string>(host, kTypeA, midpoint,
                                           [&](std::span<const uint8_t> wire, const std::string& qname) {
                                             return parseAddressResponse(wire, qname, kTypeA, trustAd());
                                           });
    // A name that does not exist has no AAAA either; an invalid name the same.
    // A bogus denial goes through the merge, which makes it a failure.
    if (v4.outcome == Outcome::NxDomain && v4.security != Security::Bogus) return v4;
    AddressAnswer v6 = lookup<std::string>(host, kTypeAaaa, deadline,
                                           [&](std::span<const uint8_t> wire, const std::string& qname) {
                                             return parseAddressResponse(wire, qname, kTypeAaaa, trustAd());
                                           });
    return mergeAddressAnswers(v4, v6);
  }

  TxtAnswer lookupTxt(const std::string& name) override {
    return lookup<std::string>(name, kTypeTxt, Clock::now() + config_.timeout,
                               [&](std::span<const uint8_t> wire, const std::string& qname) {
                                 return parseTxtResponse(wire, qname, trustAd());
                               });
  }

  TlsaAnswer lookupTlsa(const std::string& name) override {
    return lookup<TlsaRecord>(name, kTypeTlsa, Clock::now() + config_.timeout,
                              [&](std::span<const uint8_t> wire, const std::string& qname) {
                                return parseTlsaResponse(wire, qname, trustAd());
                              });
  }

 private:
  bool trustAd() const { return config_.mode == DnssecMode::TrustAd; }

  std::chrono::milliseconds perAttemptTimeout(int rounds) const {
    const auto attempts = static_cast<long>(rounds) * static_cast<long>(servers_.size());
    return std::max(kMinAttemptTimeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                            config_.timeout / std::max(1L, attempts)));
  }

  enum class Attempts { Done, BudgetSpent, Exhausted };

  // Every server in turn, `retries + 1` rounds over, each attempt with its
  // share of the budget, until `attempt(server, timeout)` returns true (Done),
  // the deadline passes (BudgetSpent) or the rounds run out (Exhausted).
  template <class Attempt>
  Attempts tryServers(Clock::time_point deadline, Attempt attempt) const {
    const int rounds = config_.retries < 0 ? 1 : config_.retries + 1;
    const auto per_attempt = perAttemptTimeout(rounds);
    for (int round = 0; round < rounds; ++round) {
      for (const auto& server : servers_) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (remaining <= std::chrono::milliseconds(0)) return Attempts::BudgetSpent;
        if (attempt(server, std::min(per_attempt, remaining))) return Attempts::Done;
      }
    }
    return Attempts::Exhausted;
  }

  template <class Record, class Parse>
  Answer<Record> lookup(const std::string& name, uint16_t qtype, Clock::time_point deadline, Parse parse) {
    Answer<Record> answer;
    auto qname = normalizeDnsName(name);
    if (!qname) {
      // A name that cannot be written in DNS cannot exist there.
      answer.outcome = Outcome::NxDomain;
      answer.why = "invalid domain name";
      return answer;
    }
    if (!config_error_.empty()) {
      answer.why = "DNS resolver configuration: " + config_error_;
      return answer;
    }
    std::string last_error = "no DNS answer";
    const Attempts attempts =
        tryServers(deadline, [&](const ServerAddress& server, std::chrono::milliseconds timeout) {
          Exchange exchange = exchangeDns(server, *qname, qtype, timeout, validator_ != nullptr);
          if (!exchange.error.empty()) {
            last_error = server.ip + ":" + std::to_string(server.port) + ": " + exchange.error;
            return false;
          }
          answer = parse(exchange.wire, *qname);
          if (validator_ && answer.outcome != Outcome::TempFail) {
            applyValidation(answer, exchange.wire, *qname, qtype, deadline);
          }
          // SERVFAIL and friends: another server may do better; the same one will not.
          if (answer.outcome != Outcome::TempFail || servers_.size() == 1) return true;
          last_error = server.ip + ": " + answer.why;
          return false;
        });
    if (attempts == Attempts::Done) {
      if (answer.outcome == Outcome::TempFail) {
        log::debug("dns", "lookup failed", {{"name", *qname}, {"why", answer.why}});
      }
      return answer;
    }
    if (attempts == Attempts::BudgetSpent) {
      answer.why = last_error + " (DNS time budget spent)";
      return answer;
    }
    answer = Answer<Record>{};
    answer.outcome = Outcome::TempFail;
    answer.why = last_error;
    log::debug("dns", "lookup failed", {{"name", *qname}, {"why", answer.why}});
    return answer;
  }

  // Own validation decides security; a chain that could not be fetched makes
  // the lookup a temporary failure. Bogus keeps what the wire said (outcome and
  // records) so callers see it, but nobody may use it.
  template <class Record>
  void applyValidation(Answer<Record>& answer, const std::vector<uint8_t>& wire, const std::string& qname,
                       uint16_t qtype, Clock::time_point deadline) {
    RawQuery query = [&](const std::string& name, uint16_t type) { return fetch(name, type, deadline); };
    DnssecVerdict verdict = validator_->validate(wire, qname + ".", qtype, query);
    if (verdict.incomplete) {
      answer = Answer<Record>{};
      answer.outcome = Outcome::TempFail;
      answer.why = verdict.why;
      return;
    }
    answer.security = verdict.security;
    if (verdict.security == Security::Bogus) {
      answer.why = verdict.why + (answer.why.empty() ? "" : "; " + answer.why);
      log::debug("dns", "bogus answer", {{"name", qname}, {"why", verdict.why}});
    }
  }

  // The validator's own DS/DNSKEY queries: the first NOERROR/NXDOMAIN answer
  // from any server, within the lookup's budget.
  Exchange fetch(const std::string& name, uint16_t qtype, Clock::time_point deadline) {
    Exchange result;
    result.error = "no DNS answer";
    const Attempts attempts =
        tryServers(deadline, [&](const ServerAddress& server, std::chrono::milliseconds timeout) {
          Exchange exchange = exchangeDns(server, name, qtype, timeout, true);
          if (!exchange.error.empty()) {
            result.error = server.ip + ": " + exchange.error;
            return false;
          }
          const int rcode = wireRcode(exchange.wire);
          if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) {
            result = std::move(exchange);
            return true;
          }
          result.error = server.ip + ": rcode " + std::to_string(rcode);
          return false;
        });
    if (attempts == Attempts::BudgetSpent) result.error += " (DNS time budget spent)";
    return result;
  }

  ResolverConfig config_;
  std::vector<ServerAddress> servers_;
  std::string config_error_;
  std::unique_ptr<DnssecValidator> validator_;  // Validate mode only; thread-safe
};

}  // namespace

std::unique_ptr<Resolver> makeLdnsResolver(const ResolverConfig& config) {
  return std::make_unique<LdnsResolver>(config);
}

}  // namespace tlsrelay::dns
