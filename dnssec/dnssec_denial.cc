// NSEC and NSEC3 denial-of-existence proofs (see dnssec_denial.h). Only
// canonical-order comparisons and hashes here; signatures are checked by the
// caller before any record gets this far.
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include "dnssec/dnssec_denial.h"

#include <memory>

namespace tlsrelay::dns {

namespace {

struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

// owner < name < next in canonical order (RFC 4034 §6.1); the last NSEC wraps.
bool nsecStrictlyCovers(const ldns_rr* nsec, const ldns_rdf* name) {
  const ldns_rdf* owner = ldns_rr_owner(nsec);
  const ldns_rdf* next = ldns_rr_rdf(nsec, 0);
  if (owner == nullptr || next == nullptr || ldns_rdf_get_type(next) != LDNS_RDF_TYPE_DNAME) return false;
  const bool after_owner = ldns_dname_compare(owner, name) < 0;
  const bool before_next = ldns_dname_compare(name, next) < 0;
  if (ldns_dname_compare(owner, next) < 0) return after_owner && before_next;
  return after_owner || before_next;
}

// Deepest common ancestor of a and b (both absolute names).
RdfPtr commonAncestor(const ldns_rdf* a, const ldns_rdf* b) {
  const uint8_t labels = ldns_dname_label_count(a);
  for (uint8_t keep = labels;; --keep) {
    RdfPtr candidate(ldns_dname_clone_from(a, labels - keep));
    if (candidate && dnsNameAtOrBelow(b, candidate.get())) return candidate;
    if (keep == 0) return nullptr;
  }
}

RdfPtr wildcardAt(const ldns_rdf* encloser) {
  RdfPtr wildcard(ldns_dname_new_frm_str("*"));
  if (!wildcard || ldns_dname_cat(wildcard.get(), encloser) != LDNS_STATUS_OK) return nullptr;
  return wildcard;
}

// Hash of `name` under the parameters of `nsec3`, as an owner name in `zone`.
RdfPtr nsec3Owner(const ldns_rr* nsec3, const ldns_rdf* name, const ldns_rdf* zone) {
  RdfPtr hashed(ldns_nsec3_hash_name_frm_nsec3(nsec3, name));
  if (!hashed || ldns_dname_cat(hashed.get(), zone) != LDNS_STATUS_OK) return nullptr;
  return hashed;
}

// An NSEC3 whose hash span strictly contains the hash of `name`, or nullptr.
const ldns_rr* nsec3Covering(const ldns_rr_list* nsec3s, const ldns_rdf* name, const ldns_rdf* zone) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(nsec3s); ++i) {
    const ldns_rr* nsec3 = ldns_rr_list_rr(nsec3s, i);
    RdfPtr hashed = nsec3Owner(nsec3, name, zone);
    if (hashed && !dnsNameEqual(ldns_rr_owner(nsec3), hashed.get()) &&
        ldns_nsec_covers_name(nsec3, hashed.get()))
      return nsec3;
  }
  return nullptr;
}

// RFC 5155 §8.3 closest encloser proof for `name`: an ancestor with a matching
// NSEC3 whose next-closer name is covered. Returns the encloser, and in
// `next_closer_cover` the covering NSEC3 (for the opt-out check).
RdfPtr nsec3ClosestEncloser(const ldns_rr_list* nsec3s, const ldns_rdf* name, const ldns_rdf* zone,
                            const ldns_rr** next_closer_cover) {
  const uint8_t labels = ldns_dname_label_count(name);
  const uint8_t zone_labels = ldns_dname_label_count(zone);
  for (uint8_t keep = labels; keep > zone_labels; --keep) {
    RdfPtr next_closer(ldns_dname_clone_from(name, labels - keep));
    RdfPtr encloser(ldns_dname_clone_from(name, labels - keep + 1));
    if (!next_closer || !encloser || nsec3Matching(nsec3s, encloser.get(), zone) == nullptr) continue;
    const ldns_rr* cover = nsec3Covering(nsec3s, next_closer.get(), zone);
    if (cover == nullptr) return nullptr;
    *next_closer_cover = cover;
    return encloser;
  }
  return nullptr;
}

}  // namespace

bool dnsNameEqual(const ldns_rdf* a, const ldns_rdf* b) {
  return ldns_dname_compare(a, b) == 0;
}

bool dnsNameAtOrBelow(const ldns_rdf* name, const ldns_rdf* zone) {
  return dnsNameEqual(name, zone) || ldns_dname_is_subdomain(name, zone);
}

bool typeBitmapHas(const ldns_rdf* bitmap, uint16_t type) {
  return bitmap != nullptr && ldns_nsec_bitmap_covers_type(bitmap, static_cast<ldns_rr_type>(type));
}

// RFC 4035 §5.4 with NSEC: NODATA by an exact match (or an empty non-terminal,
// or a wildcard without the type), NXDOMAIN by a covering NSEC plus one
// covering the wildcard at the closest encloser.
std::string nsecDenial(const ldns_rr_list* nsecs, const ldns_rdf* name, uint16_t qtype, bool nxdomain) {
  const size_t count = ldns_rr_list_rr_count(nsecs);
  const ldns_rr* cover = nullptr;
  for (size_t i = 0; i < count; ++i) {
    const ldns_rr* nsec = ldns_rr_list_rr(nsecs, i);
    if (ldns_rr_rd_count(nsec) < 1) continue;
    if (dnsNameEqual(ldns_rr_owner(nsec), name)) {
      if (nxdomain) return "NSEC shows the name exists, yet NXDOMAIN";
      const ldns_rdf* bitmap = ldns_nsec_get_bitmap(nsec);
      if (typeBitmapHas(bitmap, qtype) || typeBitmapHas(bitmap, LDNS_RR_TYPE_CNAME))
        return "NSEC lists the type that was denied";
      // RFC 4035 §5.4: the parent's NSEC at a delegation says nothing about the child's data.
      if (qtype != LDNS_RR_TYPE_DS && typeBitmapHas(bitmap, LDNS_RR_TYPE_NS) &&
          !typeBitmapHas(bitmap, LDNS_RR_TYPE_SOA))
        return "NSEC from the parent side of a delegation";
      return "";
    }
    if (nsecStrictlyCovers(nsec, name)) cover = nsec;
  }
  if (cover == nullptr) return "no NSEC covers the name";
  const ldns_rdf* next = ldns_rr_rdf(cover, 0);
  const bool empty_non_terminal = ldns_dname_is_subdomain(next, name);
  if (!nxdomain) {
    if (empty_non_terminal) return "";
  } else if (empty_non_terminal) {
    return "NSEC shows an empty non-terminal, yet NXDOMAIN";
  }
  RdfPtr from_owner = commonAncestor(name, ldns_rr_owner(cover));
  RdfPtr from_next = commonAncestor(name, next);
  if (!from_owner || !from_next) return "no closest encloser";
  const ldns_rdf* encloser =
      ldns_dname_label_count(from_owner.get()) >= ldns_dname_label_count(from_next.get()) ? from_owner.get()
                                                                                          : from_next.get();
  RdfPtr wildcard = wildcardAt(encloser);
  if (!wildcard) return "no wildcard name";
  for (size_t i = 0; i < count; ++i) {
    const ldns_rr* nsec = ldns_rr_list_rr(nsecs, i);
    if (ldns_rr_rd_count(nsec) < 1) continue;
    if (nxdomain && nsecStrictlyCovers(nsec, wildcard.get())) return "";
    if (!nxdomain && dnsNameEqual(ldns_rr_owner(nsec), wildcard.get())) {
      const ldns_rdf* bitmap = ldns_nsec_get_bitmap(nsec);
      if (!typeBitmapHas(bitmap, qtype) && !typeBitmapHas(bitmap, LDNS_RR_TYPE_CNAME)) return "";
    }
  }
  return nxdomain ? "no NSEC denies the wildcard at the closest encloser" : "no NSEC proves the type absent";
}

const ldns_rr* nsec3Matching(const ldns_rr_list* nsec3s, const ldns_rdf* name, const ldns_rdf* zone) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(nsec3s); ++i) {
    const ldns_rr* nsec3 = ldns_rr_list_rr(nsec3s, i);
    RdfPtr hashed = nsec3Owner(nsec3, name, zone);
    if (hashed && dnsNameEqual(ldns_rr_owner(nsec3), hashed.get())) return nsec3;
  }
  return nullptr;
}

// RFC 5155 §8.4-8.7 for (name, qtype) with NSEC3 records of `zone`.
std::string nsec3Denial(const ldns_rr_list* nsec3s, const ldns_rdf* name, uint16_t qtype, bool nxdomain,
                        const ldns_rdf* zone) {
  if (!nxdomain) {
    if (const ldns_rr* match = nsec3Matching(nsec3s, name, zone)) {
      const ldns_rdf* bitmap = ldns_nsec3_bitmap(match);
      if (typeBitmapHas(bitmap, qtype) || typeBitmapHas(bitmap, LDNS_RR_TYPE_CNAME))
        return "NSEC3 lists the type that was denied";
      if (qtype != LDNS_RR_TYPE_DS && typeBitmapHas(bitmap, LDNS_RR_TYPE_NS) &&
          !typeBitmapHas(bitmap, LDNS_RR_TYPE_SOA))
        return "NSEC3 from the parent side of a delegation";
      return "";
    }
  } else if (nsec3Matching(nsec3s, name, zone) != nullptr) {
    return "NSEC3 shows the name exists, yet NXDOMAIN";
  }
  const ldns_rr* cover = nullptr;
  RdfPtr encloser = nsec3ClosestEncloser(nsec3s, name, zone, &cover);
  if (!encloser) return "no NSEC3 closest encloser proof";
  RdfPtr wildcard = wildcardAt(encloser.get());
  if (!wildcard) return "no wildcard name";
  if (nxdomain) {
    if (nsec3Covering(nsec3s, wildcard.get(), zone) == nullptr) return "no NSEC3 denies the wildcard";
    return "";
  }
  if (const ldns_rr* match = nsec3Matching(nsec3s, wildcard.get(), zone)) {
    const ldns_rdf* bitmap = ldns_nsec3_bitmap(match);
    if (!typeBitmapHas(bitmap, qtype) && !typeBitmapHas(bitmap, LDNS_RR_TYPE_CNAME)) return "";  // §8.7
  }
  // §8.6: no DS under an opt-out span (the delegation, if any, is unsigned).
  if (qtype == LDNS_RR_TYPE_DS && ldns_nsec3_optout(cover)) return "";
  return "no NSEC3 proves the type absent";
}

bool wildcardExpansionProven(const ldns_rr_list* proof, const ldns_rdf* owner, uint8_t sig_labels,
                             const ldns_rdf* zone) {
  const uint8_t owner_labels = ldns_dname_label_count(owner);
  RdfPtr next_closer(ldns_dname_clone_from(owner, owner_labels - sig_labels - 1));
  if (!next_closer) return false;
  for (size_t i = 0; i < ldns_rr_list_rr_count(proof); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(proof, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC) {
      if (nsecStrictlyCovers(rr, owner)) return true;
      continue;
    }
    RdfPtr hashed = nsec3Owner(rr, next_closer.get(), zone);
    if (hashed && !dnsNameEqual(ldns_rr_owner(rr), hashed.get()) && ldns_nsec_covers_name(rr, hashed.get()))
      return true;
  }
  return false;
}

}  // namespace tlsrelay::dns
