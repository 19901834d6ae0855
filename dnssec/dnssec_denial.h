// Denial of existence for the validator: whether verified NSEC or NSEC3
// records prove that a name, or a type at a name, does not exist (RFC 4035
// §5.4, RFC 5155 §8), and whether a wildcard-expanded answer is backed by
// proof that no closer name exists. Pure functions over records whose
// signatures the caller has already verified. ldns types are only declared
// here (never include ldns from a header).
#pragma once

#include <cstdint>
#include <string>

struct ldns_struct_rdf;
struct ldns_struct_rr;
struct ldns_struct_rr_list;

namespace tlsrelay::dns {

// RFC 9276 §3.2: more iterations than this buy no security, only CPU for an attacker.
inline constexpr uint16_t kMaxNsec3Iterations = 150;

// Canonical (case-insensitive) name comparisons of absolute names.
bool dnsNameEqual(const ldns_struct_rdf* a, const ldns_struct_rdf* b);
bool dnsNameAtOrBelow(const ldns_struct_rdf* name, const ldns_struct_rdf* zone);
bool typeBitmapHas(const ldns_struct_rdf* bitmap, uint16_t type);

// "" when the NSEC records prove NXDOMAIN (or, without nxdomain, NODATA) for
// (name, qtype); otherwise why not.
std::string nsecDenial(const ldns_struct_rr_list* nsecs, const ldns_struct_rdf* name, uint16_t qtype,
                       bool nxdomain);
// The same with NSEC3 records of `zone`; for qtype DS an opt-out span counts
// as proof (the delegation, if any, is unsigned).
std::string nsec3Denial(const ldns_struct_rr_list* nsec3s, const ldns_struct_rdf* name, uint16_t qtype,
                        bool nxdomain, const ldns_struct_rdf* zone);
// The NSEC3 whose owner is the hash of `name`, or nullptr.
const ldns_struct_rr* nsec3Matching(const ldns_struct_rr_list* nsec3s, const ldns_struct_rdf* name,
                                    const ldns_struct_rdf* zone);
// RFC 4035 §5.3.4 / RFC 5155 §8.8: an answer for `owner` synthesized from a
// wildcard (RRSIG labels `sig_labels`) needs a record denying the owner (NSEC)
// or covering the next closer name (NSEC3).
bool wildcardExpansionProven(const ldns_struct_rr_list* proof, const ldns_struct_rdf* owner,
                             uint8_t sig_labels, const ldns_struct_rdf* zone);

}  // namespace tlsrelay::dns
