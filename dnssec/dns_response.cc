// Interpretation of DNS response packets (see dns_response.h). ldns parses the
// wire format; everything after that — which records count, what the outcome
// and security are — is decided here, defensively, because the bytes come from
// the network.
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include "dnssec/dns_response.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/ascii.h"
#include "dnssec/dns_name.h"
#include "dnssec/ldns_packet.h"

namespace tlsrelay::dns {

namespace {

// Presentation form of a domain-name rdf ("." for the root), or nullopt.
std::optional<std::string> rdfNameText(const ldns_rdf* rdf) {
  if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) return std::nullopt;
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) return std::nullopt;
  std::string out(text);
  free(text);
  return out;
}

std::optional<std::string> normalizedOwner(const ldns_rr* rr) {
  auto text = rdfNameText(ldns_rr_owner(rr));
  if (!text) return std::nullopt;
  return normalizeDnsName(*text);
}

// RFC 8914 Extended DNS Errors say why a resolver failed. Info codes 6-12
// (DNSSEC Bogus, Signature Expired, Signature Not Yet Valid, DNSKEY Missing,
// RRSIGs Missing, No Zone Key Bit Set, NSEC Missing) mean validation failed.
struct ExtendedErrors {
  std::string text;  // "; EDE 6 (...)" per option
  bool dnssec_failure = false;
};

ExtendedErrors extendedErrors(ldns_pkt* pkt) {
  ExtendedErrors out;
  ldns_edns_option_list* options = ldns_pkt_edns_get_option_list(pkt);
  if (options == nullptr) return out;
  const size_t count = std::min<size_t>(ldns_edns_option_list_get_count(options), 8);
  for (size_t i = 0; i < count; ++i) {
    ldns_edns_option* option = ldns_edns_option_list_get_option(options, i);
    if (option == nullptr || ldns_edns_get_code(option) != LDNS_EDNS_EDE) continue;
    const size_t size = ldns_edns_get_size(option);
    const uint8_t* data = ldns_edns_get_data(option);
    if (data == nullptr || size < 2) continue;
    const unsigned info = (unsigned{data[0]} << 8) | data[1];
    out.text += "; EDE " + std::to_string(info);
    if (size > 2)
      out.text += " (" +
                  printableAscii(std::string_view(reinterpret_cast<const char*>(data + 2), size - 2), 120) +
                  ")";
    if (info >= 6 && info <= 12) out.dnssec_failure = true;
  }
  return out;
}

uint32_t negativeTtl(ldns_pkt* pkt) {
  // RFC 2308 §5: negative answers live min(SOA TTL, SOA MINIMUM).
  ldns_rr_list* authority = ldns_pkt_authority(pkt);
  const size_t count = authority ? ldns_rr_list_rr_count(authority) : 0;
  for (size_t i = 0; i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(authority, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7) continue;
    const ldns_rdf* minimum = ldns_rr_rdf(rr, 6);
    if (minimum == nullptr || ldns_rdf_size(minimum) != 4) continue;
    return std::min(ldns_rr_ttl(rr), ldns_rdf2native_int32(minimum));
  }
  return 0;
}

template <class Record>
Answer<Record> tempFail(std::string why) {
  Answer<Record> answer;
  answer.outcome = Outcome::TempFail;
  answer.security = Security::Insecure;
  answer.why = std::move(why);
  return answer;
}

template <class Record, class Decode>
Answer<Record> interpret(std::span<const uint8_t> wire, std::string_view qname, uint16_t qtype, bool trust_ad,
                         Decode decode) {
  ParsedPacket parsed = parseDnsMessage(wire);
  if (!parsed.packet) return tempFail<Record>(std::move(parsed.error));
  LdnsPacket pkt = std::move(parsed.packet);
  if (!ldns_pkt_qr(pkt.get())) return tempFail<Record>("DNS message is not a response");

  // The answer must be for the question we asked, nothing else.
  ldns_rr_list* question = ldns_pkt_question(pkt.get());
  if (question == nullptr || ldns_rr_list_rr_count(question) != 1) {
    return tempFail<Record>("DNS response does not match the question");
  }
  ldns_rr* q = ldns_rr_list_rr(question, 0);
  auto q_owner = normalizedOwner(q);
  if (!q_owner || *q_owner != qname || ldns_rr_get_type(q) != qtype ||
      ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
    return tempFail<Record>("DNS response does not match the question");
  }

  const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
  if (rcode == LDNS_RCODE_SERVFAIL) {
    // A validating resolver answers SERVFAIL for bogus data. Try again later
    // either way; but when the resolver we trust for the AD bit also says, by
    // an Extended DNS Error, that validation failed, the answer is Bogus
    // (reported as dnssec-invalid), not an outage.
    ExtendedErrors ede = extendedErrors(pkt.get());
    auto answer = tempFail<Record>("resolver answered SERVFAIL for " + std::string(qname) +
                                   (ede.dnssec_failure ? " (DNSSEC validation failed)"
                                                       : " (DNSSEC validation failure or upstream problem)") +
                                   ede.text);
    if (trust_ad && ede.dnssec_failure) answer.security = Security::Bogus;
    return answer;
  }
  if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
    ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode));
    return tempFail<Record>(std::string("resolver answered ") +
                            (entry ? entry->name : "rcode " + std::to_string(rcode)) +
                            extendedErrors(pkt.get()).text);
  }
  if (ldns_pkt_tc(pkt.get())) return tempFail<Record>("DNS response truncated");

  ldns_rr_list* section = ldns_pkt_answer(pkt.get());
  const size_t count = section ? ldns_rr_list_rr_count(section) : 0;

  // Follow the CNAME chain from the question name, bounded and loop-checked.
  std::map<std::string, std::pair<std::string, uint32_t>> cnames;
  for (size_t i = 0; i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
    auto owner = normalizedOwner(rr);
    auto target_text = rdfNameText(ldns_rr_rdf(rr, 0));
    auto target = target_text ? normalizeDnsName(*target_text) : std::nullopt;
    if (owner && target) cnames.emplace(*owner, std::make_pair(*target, ldns_rr_ttl(rr)));
  }
  std::string current(qname);
  uint32_t ttl = UINT32_MAX;
  std::set<std::string> visited{current};
  for (int hops = 0;; ++hops) {
    auto next = cnames.find(current);
    if (next == cnames.end()) break;
    if (hops >= kMaxCnameHops) return tempFail<Record>("CNAME chain too long at " + current);
    if (!visited.insert(next->second.first).second) return tempFail<Record>("CNAME loop at " + current);
    ttl = std::min(ttl, next->second.second);
    current = next->second.first;
  }

  Answer<Record> answer;
  size_t rejected = 0;
  bool capped = false;
  for (size_t i = 0; i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) != qtype || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
    auto owner = normalizedOwner(rr);
    if (!owner || *owner != current) continue;
    if (answer.records.size() >= kMaxRecordsPerAnswer) {
      capped = true;
      break;
    }
    std::optional<Record> record = decode(rr);
    if (!record) {
      ++rejected;
      continue;
    }
    answer.records.push_back(std::move(*record));
    ttl = std::min(ttl, ldns_rr_ttl(rr));
  }

  const bool secure = trust_ad && ldns_pkt_ad(pkt.get());
  answer.security = secure ? Security::Secure : Security::Insecure;
  if (!answer.records.empty()) {
    answer.outcome = Outcome::Found;
    answer.ttl = ttl;
    if (capped) answer.why = "answer capped at " + std::to_string(kMaxRecordsPerAnswer) + " records";
    if (rejected > 0)
      answer.why +=
          (answer.why.empty() ? "" : "; ") + std::to_string(rejected) + " malformed records ignored";
    return answer;
  }
  if (rejected > 0) {
    // Records existed but none was usable: not the same as "no records".
    return tempFail<Record>(std::to_string(rejected) + " malformed records for " + current);
  }
  answer.outcome = rcode == LDNS_RCODE_NXDOMAIN ? Outcome::NxDomain : Outcome::NoData;
  answer.ttl = std::min(ttl, negativeTtl(pkt.get()));
  return answer;
}

std::optional<MxRecord> decodeMx(const ldns_rr* rr) {
  if (ldns_rr_rd_count(rr) != 2) return std::nullopt;
  const ldns_rdf* preference = ldns_rr_rdf(rr, 0);
  if (preference == nullptr || ldns_rdf_size(preference) != 2) return std::nullopt;
  auto exchange = rdfNameText(ldns_rr_rdf(rr, 1));
  if (!exchange) return std::nullopt;
  MxRecord record;
  record.preference = ldns_rdf2native_int16(preference);
  if (*exchange == ".") return record;  // RFC 7505 null MX: host stays ""
  auto host = normalizeDnsName(*exchange);
  if (!host) return std::nullopt;
  record.host = std::move(*host);
  return record;
}

std::optional<std::string> decodeAddress(const ldns_rr* rr, int family, size_t size) {
  if (ldns_rr_rd_count(rr) != 1) return std::nullopt;
  const ldns_rdf* rdf = ldns_rr_rdf(rr, 0);
  if (rdf == nullptr || ldns_rdf_size(rdf) != size) return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, ldns_rdf_data(rdf), text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text);
}

std::optional<std::string> decodeTxt(const ldns_rr* rr) {
  std::string out;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    if (rdf == nullptr || ldns_rdf_size(rdf) < 1) return std::nullopt;
    const uint8_t* data = ldns_rdf_data(rdf);
    const size_t length = data[0];  // <character-string>: length octet, then bytes
    if (length + 1 > ldns_rdf_size(rdf)) return std::nullopt;
    out.append(reinterpret_cast<const char*>(data + 1), length);
  }
  return out;
}

std::optional<TlsaRecord> decodeTlsa(const ldns_rr* rr) {
  if (ldns_rr_rd_count(rr) != 4) return std::nullopt;
  uint8_t fields[3] = {};
  for (size_t i = 0; i < 3; ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    if (rdf == nullptr || ldns_rdf_size(rdf) != 1) return std::nullopt;
    fields[i] = ldns_rdf_data(rdf)[0];
  }
  const ldns_rdf* data = ldns_rr_rdf(rr, 3);
  if (data == nullptr || ldns_rdf_size(data) == 0) return std::nullopt;
  TlsaRecord record;
  record.usage = fields[0];
  record.selector = fields[1];
  record.matching_type = fields[2];
  record.data.assign(reinterpret_cast<const char*>(ldns_rdf_data(data)), ldns_rdf_size(data));
  // RFC 6698 §2.1.3: matching type 1 is SHA2-256, 2 is SHA2-512.
  if (record.matching_type == 1 && record.data.size() != 32) return std::nullopt;
  if (record.matching_type == 2 && record.data.size() != 64) return std::nullopt;
  return record;
}

}  // namespace

MxAnswer parseMxResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad) {
  return interpret<MxRecord>(wire, qname, kTypeMx, trust_ad, decodeMx);
}

AddressAnswer parseAddressResponse(std::span<const uint8_t> wire, std::string_view qname, uint16_t qtype,
                                   bool trust_ad) {
  if (qtype == kTypeAaaa) {
    return interpret<std::string>(wire, qname, kTypeAaaa, trust_ad,
                                  [](const ldns_rr* rr) { return decodeAddress(rr, AF_INET6, 16); });
  }
  return interpret<std::string>(wire, qname, kTypeA, trust_ad,
                                [](const ldns_rr* rr) { return decodeAddress(rr, AF_INET, 4); });
}

TxtAnswer parseTxtResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad) {
  return interpret<std::string>(wire, qname, kTypeTxt, trust_ad, decodeTxt);
}

TlsaAnswer parseTlsaResponse(std::span<const uint8_t> wire, std::string_view qname, bool trust_ad) {
  return interpret<TlsaRecord>(wire, qname, kTypeTlsa, trust_ad, decodeTlsa);
}

AddressAnswer mergeAddressAnswers(const AddressAnswer& v4, const AddressAnswer& v6) {
  AddressAnswer out;
  auto joinWhy = [](const AddressAnswer& a, const char* label, std::string& into) {
    if (a.why.empty()) return;
    if (!into.empty()) into += "; ";
    into += std::string(label) + ": " + a.why;
  };
  // Bogus anywhere poisons the host: never deliver on it.
  if (v4.security == Security::Bogus || v6.security == Security::Bogus) {
    out.outcome = Outcome::TempFail;
    out.security = Security::Bogus;
    joinWhy(v4, "A", out.why);
    joinWhy(v6, "AAAA", out.why);
    if (out.why.empty()) out.why = "DNSSEC validation failed";
    return out;
  }
  if (v4.outcome == Outcome::NxDomain || v6.outcome == Outcome::NxDomain) {
    const AddressAnswer& nx = v4.outcome == Outcome::NxDomain ? v4 : v6;
    out.outcome = Outcome::NxDomain;
    out.security = nx.security;
    out.ttl = nx.ttl;
    return out;
  }
  joinWhy(v4, "A", out.why);
  joinWhy(v6, "AAAA", out.why);
  bool all_used_secure = true;
  uint32_t ttl = UINT32_MAX;
  bool failed_half = false;
  for (const AddressAnswer* half : {&v4, &v6}) {
    if (half->outcome == Outcome::TempFail) {
      failed_half = true;
      continue;
    }
    all_used_secure = all_used_secure && half->security == Security::Secure;
    ttl = std::min(ttl, half->ttl);
    out.records.insert(out.records.end(), half->records.begin(), half->records.end());
  }
  if (!out.records.empty()) {
    out.outcome = Outcome::Found;
    out.security = all_used_secure ? Security::Secure : Security::Insecure;
    // A partial answer is kept only briefly, so the failed half is asked again soon.
    out.ttl = failed_half ? std::min<uint32_t>(ttl, 30) : ttl;
    return out;
  }
  if (failed_half) {
    out.outcome = Outcome::TempFail;
    out.security = Security::Insecure;
    out.ttl = 0;
    if (out.why.empty()) out.why = "address lookup failed";
    return out;
  }
  out.outcome = Outcome::NoData;
  out.security = all_used_secure ? Security::Secure : Security::Insecure;
  out.ttl = ttl == UINT32_MAX ? 0 : ttl;
  return out;
}

}  // namespace tlsrelay::dns
