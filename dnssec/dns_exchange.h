// One DNS query to one server over ldns (RD and DO set, EDNS 1232, TCP on
// truncation), returning the raw response bytes: the single place that talks
// to the network, shared by the resolver and by tests of the validator.
// BLOCKING.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dnssec/server_address.h"

namespace tlsrelay::dns {

// The response bytes (any rcode), or why there is none.
struct RawResponse {
  std::vector<uint8_t> wire;
  std::string error;
};

// `qname` in presentation form. With checking_disabled the query carries CD
// (we validate ourselves); otherwise it asks for the AD bit.
RawResponse exchangeDns(const ServerAddress& server, const std::string& qname, uint16_t qtype,
                        std::chrono::milliseconds timeout, bool checking_disabled);

}  // namespace tlsrelay::dns
