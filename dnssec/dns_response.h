// Turns a DNS response (wire bytes from an untrusted network) into an Answer:
// outcome, security (AD bit), records, TTL. This is the only place that reads
// response packets, so every hostile-input rule lives here: question must match,
// CNAME chains are followed but bounded and loop-checked, records per answer
// are capped, names are normalized or rejected, malformed packets become
// TempFail — never a crash, never silently "no records".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dnssec/dns_answer.h"

namespace tlsrelay::dns {

inline constexpr size_t kMaxRecordsPerAnswer = 100;
inline constexpr int kMaxCnameHops = 8;

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeDs = 43;
inline constexpr uint16_t kTypeDnskey = 48;
inline constexpr uint16_t kTypeTlsa = 52;

// `qname` is the normalized name that was asked for. With trust_ad, security
// is Secure iff the response carries the AD bit (and is not a failure).
MxAnswer parseMxResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad);
// qtype is kTypeA or kTypeAaaa; records are textual addresses.
AddressAnswer parseAddressResponse(std::span<const uint8_t> wire, std::string_view qname, uint16_t qtype,
                                   bool trust_ad);
// Each TXT RR's character-strings concatenated without separators.
TxtAnswer parseTxtResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad);
// RFC 6698 §2.1 TLSA records with raw association data. A record whose data
// cannot be what its matching type says (SHA2-256 not 32 octets, SHA2-512 not
// 64, empty data) is malformed and rejected; unknown usages, selectors and
// matching types are kept for the DANE logic to skip (RFC 7672 §2.2).
TlsaAnswer parseTlsaResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad);

// Merges the A and AAAA answers for one host: IPv4 addresses first. A failed
// half next to a found half still yields the addresses found (with a short
// TTL and the failure in `why`); Secure only if every half used is Secure.
AddressAnswer mergeAddressAnswers(const AddressAnswer& v4, const AddressAnswer& v6);

}  // namespace tlsrelay::dns
