// libFuzzer target: untrusted DNS response bytes through every answer parser
// and through the DNSSEC validator, whose own DS/DNSKEY queries are answered
// with (slices of) the same bytes. None may crash, loop, or call a response
// Secure without a chain to the (fixed, unrelated) anchor.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>

#include "common/log.h"
#include "dnssec/dns_response.h"
#include "dnssec/dnssec_validator.h"

using namespace tlsrelay;

namespace {

dns::DnssecValidator* g_validator = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::setLevel(log::Level::Error);
  char path[] = "/tmp/fuzz-dns-anchor-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) std::abort();
  std::ofstream(path) << ". 3600 IN DS 20326 8 2 "
                         "e06d44b80b8f1d39a95c0b0d7c65d08458e880409bbc683457104237c7f8ec8d\n";
  g_validator = new dns::DnssecValidator(path);  // reads the anchor now
  unlink(path);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> wire(data, size);
  (void)dns::parseMxResponse(wire, "example.test", true);
  (void)dns::parseAddressResponse(wire, "example.test", dns::kTypeA, true);
  (void)dns::parseAddressResponse(wire, "example.test", dns::kTypeAaaa, false);
  (void)dns::parseTxtResponse(wire, "example.test", true);
  dns::TlsaAnswer tlsa = dns::parseTlsaResponse(wire, "_25._tcp.mx.example.test", true);
  if (tlsa.records.size() > dns::kMaxRecordsPerAnswer) std::abort();

  size_t asked = 0;
  dns::RawQuery query = [&](const std::string&, uint16_t) {
    dns::RawResponse response;
    const size_t skip = size == 0 ? 0 : (++asked * 7) % size;
    response.wire.assign(data + skip, data + size);
    return response;
  };
  for (uint16_t type : {dns::kTypeMx, dns::kTypeTlsa}) {
    dns::DnssecVerdict verdict = g_validator->validate(wire, "example.test.", type, query);
    if (verdict.security == dns::Security::Secure && !verdict.incomplete) std::abort();
  }
  return 0;
}
