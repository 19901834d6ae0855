// One query, one server, raw bytes back (see dns_exchange.h).
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include "dnssec/dns_exchange.h"

#include <cstdlib>
#include <memory>

namespace tlsrelay::dns {

namespace {

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

}  // namespace

RawResponse exchangeDns(const ServerAddress& server, const std::string& qname, uint16_t qtype,
                        std::chrono::milliseconds timeout, bool checking_disabled) {
  RawResponse out;
  ResolverPtr resolver(ldns_resolver_new());
  RdfPtr address(ldns_rdf_new_frm_str(server.ipv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server.ip.c_str()));
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
  ldns_resolver_set_dnssec(resolver.get(), true);  // DO: RRSIGs for own validation
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
  if (checking_disabled) {
    ldns_pkt_set_cd(query.get(), true);  // RFC 4035 §3.2.2: we validate, so give us bogus data too
  } else {
    ldns_pkt_set_ad(query.get(), true);  // RFC 6840 §5.7: ask for the AD bit explicitly
  }

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

}  // namespace tlsrelay::dns
