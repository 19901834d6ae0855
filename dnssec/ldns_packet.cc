// Wire pre-screen and ldns parse of DNS messages (see ldns_packet.h).
#include "dnssec/ldns_packet.h"

namespace tlsrelay::dns {

namespace {

constexpr size_t kHeaderSize = 12;

uint16_t read16(std::span<const uint8_t> wire, size_t at) {
  return static_cast<uint16_t>((wire[at] << 8) | wire[at + 1]);
}

}  // namespace

// The walk is ldns's own: ldns_wire2rr, record by record, section by section,
// as ldns_wire2pkt does. A walk of our own would not find the same records —
// ldns advances by the fields its type table knows, not by RDLENGTH.
bool carriesTsigRecord(std::span<const uint8_t> wire) {
  if (wire.size() < kHeaderSize) return false;
  const size_t questions = read16(wire, 4);
  const size_t records = size_t{read16(wire, 6)} + read16(wire, 8) + read16(wire, 10);
  size_t at = kHeaderSize;
  for (size_t i = 0; i < questions + records; ++i) {
    ldns_rr* rr = nullptr;
    const ldns_pkt_section section = i < questions ? LDNS_SECTION_QUESTION : LDNS_SECTION_ANSWER;
    if (ldns_wire2rr(&rr, wire.data(), wire.size(), &at, section) != LDNS_STATUS_OK) return false;
    const bool tsig = section != LDNS_SECTION_QUESTION && ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG;
    ldns_rr_free(rr);
    if (tsig) return true;
  }
  return false;
}

ParsedPacket parseDnsMessage(std::span<const uint8_t> wire) {
  ParsedPacket out;
  if (wire.size() < kHeaderSize || wire.size() > 65535) {
    out.error = "malformed DNS response (size)";
    return out;
  }
  if (carriesTsigRecord(wire)) {
    out.error = "malformed DNS response: a TSIG record in an answer to an unsigned query";
    return out;
  }
  ldns_pkt* raw = nullptr;
  const ldns_status status = ldns_wire2pkt(&raw, wire.data(), wire.size());
  LdnsPacket packet(raw);
  if (status != LDNS_STATUS_OK || !packet) {
    out.error = std::string("malformed DNS response: ") + ldns_get_errorstr_by_id(status);
    return out;
  }
  out.packet = std::move(packet);
  return out;
}

}  // namespace tlsrelay::dns
