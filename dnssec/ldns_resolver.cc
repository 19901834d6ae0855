// The real Resolver: sends queries with ldns to the configured recursive
// resolvers (RD, DO and AD bits set, EDNS 1232, TCP on truncation), within a
// per-lookup time budget, and hands the raw response to dns_response.cc for
// interpretation. Each query uses its own ldns_resolver, so one instance can
// serve many delivery threads at once. BLOCKING: never on the loop thread.
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
#include "dnssec/dns_name.h"
#include "dnssec/dns_response.h"
#include "dnssec/resolver.h"
#include "dnssec/server_address.h"

namespace tlsrelay::dns {

namespace {

using Clock = std::chrono::steady_clock;

// Below this an attempt cannot get an answer even from loopback in a loaded CI.
constexpr std::chrono::milliseconds kMinAttemptTimeout{200};

struct ResolverFree {
  void operator()(ldns_resolver* r) const { ldns_resolver_deep_free(r); }
};
struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using ResolverPtr = std::unique_ptr<ldns_resolver, ResolverFree>;
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

// Raw response bytes of one successful exchange, or why there is none.
struct Exchange {
  std::vector<uint8_t> wire;
  std::string error;
};

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
  }

  MxAnswer lookupMx(const std::string& domain) override {
    return lookup<MxRecord>(domain, kTypeMx, Clock::now() + config_.timeout,
                            [&](std::span<const uint8_t> wire, const std::string& qname) {
                              return parseMxResponse(wire, qname, config_.trust_ad);
                            });
  }

  AddressAnswer lookupAddresses(const std::string& host) override {
    // One budget for both queries: the caller's wait is bounded by `timeout`.
    const auto deadline = Clock::now() + config_.timeout;
    const auto midpoint = Clock::now() + config_.timeout / 2;
    AddressAnswer v4 = lookup<std::string>(
        host, kTypeA, midpoint, [&](std::span<const uint8_t> wire, const std::string& qname) {
          return parseAddressResponse(wire, qname, kTypeA, config_.trust_ad);
        });
    // A name that does not exist has no AAAA either; an invalid name the same.
    if (v4.outcome == Outcome::NxDomain) return v4;
    AddressAnswer v6 = lookup<std::string>(
        host, kTypeAaaa, deadline, [&](std::span<const uint8_t> wire, const std::string& qname) {
          return parseAddressResponse(wire, qname, kTypeAaaa, config_.trust_ad);
        });
    return mergeAddressAnswers(v4, v6);
  }

  TxtAnswer lookupTxt(const std::string& name) override {
    return lookup<std::string>(name, kTypeTxt, Clock::now() + config_.timeout,
                               [&](std::span<const uint8_t> wire, const std::string& qname) {
                                 return parseTxtResponse(wire, qname, config_.trust_ad);
                               });
  }

 private:
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
    const int rounds = config_.retries < 0 ? 1 : config_.retries + 1;
    const auto attempts = static_cast<long>(rounds) * static_cast<long>(servers_.size());
    const auto per_attempt = std::max(
        kMinAttemptTimeout,
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout / std::max(1L, attempts)));
    for (int round = 0; round < rounds; ++round) {
      for (const auto& server : servers_) {
        const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (remaining <= std::chrono::milliseconds(0)) {
          answer.why = last_error + " (DNS time budget spent)";
          return answer;
        }
        Exchange exchange = ask(server, *qname, qtype, std::min(per_attempt, remaining));
        if (!exchange.error.empty()) {
          last_error = server.ip + ":" + std::to_string(server.port) + ": " + exchange.error;
          continue;
        }
        answer = parse(exchange.wire, *qname);
        // SERVFAIL and friends: another server may do better; the same one will not.
        if (answer.outcome != Outcome::TempFail || servers_.size() == 1) {
          if (answer.outcome == Outcome::TempFail) {
            log::debug("dns", "lookup failed", {{"name", *qname}, {"why", answer.why}});
          }
          return answer;
        }
        last_error = server.ip + ": " + answer.why;
      }
    }
    answer = Answer<Record>{};
    answer.outcome = Outcome::TempFail;
    answer.why = last_error;
    log::debug("dns", "lookup failed", {{"name", *qname}, {"why", answer.why}});
    return answer;
  }

  // One query to one server; returns the raw response or an error.
  Exchange ask(const ServerAddress& server, const std::string& qname, uint16_t qtype,
               std::chrono::milliseconds timeout) {
    Exchange out;
    ResolverPtr resolver(ldns_resolver_new());
    RdfPtr address(
        ldns_rdf_new_frm_str(server.ipv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server.ip.c_str()));
    RdfPtr name(ldns_dname_new_frm_str(qname.c_str()));
    if (!resolver || !address || !name) {
      out.error = "cannot prepare DNS query";
      return out;
    }
    if (ldns_resolver_push_nameserver(resolver.get(), address.get()) != LDNS_STATUS_OK) {
      out.error = "cannot use resolver address";
      return out;
    }
    ldns_resolver_set_port(resolver.get(), server.port);
    ldns_resolver_set_retry(resolver.get(), 1);  // retries are ours, over all servers
    ldns_resolver_set_recursive(resolver.get(), true);
    ldns_resolver_set_dnssec(resolver.get(), true);  // DO: RRSIGs for later own validation
    ldns_resolver_set_edns_udp_size(resolver.get(), 1232);
    ldns_resolver_set_fallback(resolver.get(), true);  // TCP when the UDP answer is truncated
    ldns_resolver_set_fail(resolver.get(), false);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ldns_resolver_set_timeout(resolver.get(), tv);

    ldns_pkt* raw_query = nullptr;
    if (ldns_resolver_prepare_query_pkt(&raw_query, resolver.get(), name.get(),
                                        static_cast<ldns_rr_type>(qtype), LDNS_RR_CLASS_IN,
                                        LDNS_RD) != LDNS_STATUS_OK) {
      ldns_pkt_free(raw_query);
      out.error = "cannot build DNS query";
      return out;
    }
    PktPtr query(raw_query);
    ldns_pkt_set_ad(query.get(), true);  // RFC 6840 §5.7: ask for the AD bit explicitly

    ldns_pkt* raw_reply = nullptr;
    ldns_status status = ldns_resolver_send_pkt(&raw_reply, resolver.get(), query.get());
    PktPtr reply(raw_reply);
    if (status != LDNS_STATUS_OK || !reply) {
      out.error = std::string("no answer: ") + ldns_get_errorstr_by_id(status);
      return out;
    }
    if (ldns_pkt_id(reply.get()) != ldns_pkt_id(query.get())) {
      out.error = "answer with a wrong query id";
      return out;
    }
    uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, reply.get(), &size) != LDNS_STATUS_OK || wire == nullptr) {
      free(wire);
      out.error = "cannot re-encode DNS answer";
      return out;
    }
    out.wire.assign(wire, wire + size);
    free(wire);
    return out;
  }

  ResolverConfig config_;
  std::vector<ServerAddress> servers_;
  std::string config_error_;
};

}  // namespace

std::unique_ptr<Resolver> makeLdnsResolver(const ResolverConfig& config) {
  return std::make_unique<LdnsResolver>(config);
}

}  // namespace tlsrelay::dns
