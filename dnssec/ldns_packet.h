// The one way this folder turns DNS wire bytes into an ldns packet. Only the
// .cc files of dnssec/ include it: it names ldns types, which stay private to
// this folder.
#pragma once

// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace tlsrelay::dns {

struct LdnsPacketFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using LdnsPacket = std::unique_ptr<ldns_pkt, LdnsPacketFree>;

struct ParsedPacket {
  LdnsPacket packet;  // null when the bytes were refused
  std::string error;  // why, when refused
};

// Parses a DNS message from the network. A message that carries a TSIG record
// is refused before ldns sees it: we never sign queries, so no answer to us
// has one, and ldns keeps only the last TSIG of a message and leaks the rest
// (a hostile server could grow our memory with every answer).
ParsedPacket parseDnsMessage(std::span<const uint8_t> wire);

// True when a record of the message, walked in order, has type TSIG. A
// message that ends or turns malformed before one is found gives false and is
// left to ldns to refuse.
bool carriesTsigRecord(std::span<const uint8_t> wire);

}  // namespace tlsrelay::dns
