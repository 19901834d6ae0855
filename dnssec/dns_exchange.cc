// One query, one server, raw bytes back (see dns_exchange.h).
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include "dnssec/dns_exchange.h"

#include <sys/socket.h>

#include <cstdlib>
#include <memory>

#include "dnssec/ldns_packet.h"

namespace tlsrelay::dns {

namespace {

struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

constexpr uint16_t kEdnsUdpSize = 1232;  // the DNS flag day 2020 size: no IP fragmentation

bool truncated(const std::vector<uint8_t>& wire) {
  return wire.size() >= 3 && (wire[2] & 0x02) != 0;
}

// One send over UDP or TCP; the answer bytes as they came, or why none.
RawResponse sendOnce(bool tcp, ldns_buffer* query, const sockaddr_storage* to, socklen_t to_size,
                     timeval timeout) {
  RawResponse out;
  uint8_t* answer = nullptr;
  size_t answer_size = 0;
  const ldns_status status = tcp ? ldns_tcp_send(&answer, query, to, to_size, timeout, &answer_size)
                                 : ldns_udp_send(&answer, query, to, to_size, timeout, &answer_size);
  if (status != LDNS_STATUS_OK || answer == nullptr) {
    free(answer);
    out.error = std::string("no answer: ") + ldns_get_errorstr_by_id(status);
    return out;
  }
  out.wire.assign(answer, answer + answer_size);
  free(answer);
  return out;
}

}  // namespace

// The answer goes back as the bytes that came: ldns parses them once, later,
// through parseDnsMessage (which screens what ldns would leak); letting the
// resolver object parse them here would bypass that screen.
RawResponse exchangeDns(const ServerAddress& server, const std::string& qname, uint16_t qtype,
                        std::chrono::milliseconds timeout, bool checking_disabled) {
  RawResponse out;
  RdfPtr address(ldns_rdf_new_frm_str(server.ipv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server.ip.c_str()));
  RdfPtr name(ldns_dname_new_frm_str(qname.c_str()));
  if (!address || !name) {
    out.error = "cannot prepare DNS query";
    return out;
  }
  LdnsPacket query(ldns_pkt_query_new(ldns_rdf_clone(name.get()), static_cast<ldns_rr_type>(qtype),
                                      LDNS_RR_CLASS_IN, LDNS_RD));
  if (!query) {
    out.error = "cannot build DNS query";
    return out;
  }
  ldns_pkt_set_random_id(query.get());
  ldns_pkt_set_edns_udp_size(query.get(), kEdnsUdpSize);
  ldns_pkt_set_edns_do(query.get(), true);  // RRSIGs for our own validation
  if (checking_disabled) {
    ldns_pkt_set_cd(query.get(), true);  // RFC 4035 §3.2.2: we validate, so give us bogus data too
  } else {
    ldns_pkt_set_ad(query.get(), true);  // RFC 6840 §5.7: ask for the AD bit explicitly
  }
  BufferPtr query_wire(ldns_buffer_new(LDNS_MAX_PACKETLEN));
  if (!query_wire || ldns_pkt2buffer_wire(query_wire.get(), query.get()) != LDNS_STATUS_OK) {
    out.error = "cannot encode DNS query";
    return out;
  }
  size_t to_size = 0;
  std::unique_ptr<sockaddr_storage, decltype(&free)> to(
      ldns_rdf2native_sockaddr_storage(address.get(), server.port, &to_size), &free);
  if (!to) {
    out.error = "cannot use resolver address";
    return out;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);

  out = sendOnce(false, query_wire.get(), to.get(), static_cast<socklen_t>(to_size), tv);
  if (out.error.empty() && truncated(out.wire)) {
    out = sendOnce(true, query_wire.get(), to.get(), static_cast<socklen_t>(to_size), tv);
  }
  if (!out.error.empty()) return out;
  if (out.wire.size() < 12 || ((out.wire[0] << 8) | out.wire[1]) != ldns_pkt_id(query.get())) {
    out.wire.clear();
    out.error = "answer with a wrong query id";
  }
  return out;
}

}  // namespace tlsrelay::dns
