// DNSSEC chain validation with ldns (see dnssec_validator.h). The walk goes
// down from the anchor one label at a time: a DS query per name proves either
// a signed delegation (DS verified by the parent's keys, then the child's
// DNSKEY set verified by a key matching the DS), an unsigned delegation (NSEC
// or NSEC3 of the parent shows NS without DS: Insecure from there down), or no
// zone cut. Every answer from the network is hostile: record counts and the
// number of signature checks per validation are capped (KeyTrap-style
// exhaustion), and whatever cannot be proven is Bogus, never "no records".
// clang-format off
#include <stdbool.h>  // before ldns: ldns/common.h redefines bool in C++ otherwise

#include <ldns/ldns.h>
// clang-format on

#include "dnssec/dnssec_validator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>

#include "common/ascii.h"
#include "dnssec/dns_response.h"
#include "dnssec/dnssec_denial.h"
#include "dnssec/ldns_packet.h"

namespace tlsrelay::dns {

namespace {

constexpr size_t kMaxAnchors = 64;
constexpr size_t kMaxDnskeys = 16;            // per DNSKEY set
constexpr size_t kMaxSignaturesPerSet = 8;    // RRSIGs tried per RRset
constexpr size_t kMaxDenialRecords = 16;      // NSEC/NSEC3 per response
constexpr int kMaxQueriesPerValidation = 24;  // DS + DNSKEY fetches
constexpr int64_t kMaxCacheSeconds = 3600;
constexpr size_t kMaxCacheEntries = 4096;

struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct DeepListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct ViewFree {  // a list that borrows its records
  void operator()(ldns_rr_list* l) const { ldns_rr_list_free(l); }
};
using PktPtr = LdnsPacket;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using OwnedList = std::unique_ptr<ldns_rr_list, DeepListFree>;
using View = std::unique_ptr<ldns_rr_list, ViewFree>;
// Validated keys are shared read-only between threads and the cache.
using Keys = std::shared_ptr<const ldns_rr_list>;

Keys shareList(ldns_rr_list* list) {
  return Keys(list, [](const ldns_rr_list* l) { ldns_rr_list_deep_free(const_cast<ldns_rr_list*>(l)); });
}

std::string nameText(const ldns_rdf* name) {
  if (name == nullptr) return "?";
  char* text = ldns_rdf2str(name);
  if (text == nullptr) return "?";
  std::string out = lowerAscii(text);
  free(text);
  return out;
}

std::string typeText(uint16_t type) {
  char* text = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  if (text == nullptr) return std::to_string(type);
  std::string out(text);
  free(text);
  return out;
}

// Records of one owner and type in a section, borrowed.
View select(const ldns_rr_list* section, const ldns_rdf* owner, uint16_t type) {
  View out(ldns_rr_list_new());
  const size_t count = section ? ldns_rr_list_rr_count(section) : 0;
  for (size_t i = 0; i < count; ++i) {
    ldns_rr* rr = ldns_rr_list_rr(section, i);
    if (ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
        dnsNameEqual(ldns_rr_owner(rr), owner))
      ldns_rr_list_push_rr(out.get(), rr);
  }
  return out;
}

uint16_t coveredType(const ldns_rr* rrsig) {
  const ldns_rdf* covered = ldns_rr_rrsig_typecovered(rrsig);
  if (covered == nullptr || ldns_rdf_size(covered) != 2) return 0;
  return ldns_rdf2native_int16(covered);
}

View signaturesFor(const ldns_rr_list* section, const ldns_rdf* owner, uint16_t type) {
  View sigs = select(section, owner, LDNS_RR_TYPE_RRSIG);
  View out(ldns_rr_list_new());
  for (size_t i = 0; i < ldns_rr_list_rr_count(sigs.get()); ++i) {
    ldns_rr* sig = ldns_rr_list_rr(sigs.get(), i);
    if (ldns_rr_rd_count(sig) == 9 && coveredType(sig) == type) ldns_rr_list_push_rr(out.get(), sig);
  }
  return out;
}

uint32_t minTtl(const ldns_rr_list* list) {
  uint32_t ttl = UINT32_MAX;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i)
    ttl = std::min(ttl, ldns_rr_ttl(ldns_rr_list_rr(list, i)));
  return ttl;
}

enum class State { Secure, Insecure, Bogus, Incomplete };

struct Check {
  State state = State::Bogus;
  std::string why;
};

Check bogus(std::string why) {
  return Check{State::Bogus, std::move(why)};
}

// The keys of the deepest zone on the way to a name, or why there are none.
struct ZoneKeys {
  State state = State::Bogus;
  RdfPtr zone;
  Keys keys;
  std::string why;
};

// What a DS probe found at one name below a secure zone.
struct Cut {
  enum class Kind { SignedZone, NotACut, Unsigned, Absent } kind = Kind::NotACut;
  Keys keys;  // SignedZone only
  uint32_t ttl = 0;
};

struct Anchors {
  OwnedList records;
  RdfPtr zone;
  std::string error;
};

Anchors readAnchors(const std::string& path) {
  Anchors out;
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) {
    out.error = "cannot read trust anchor file '" + path + "'";
    return out;
  }
  out.records.reset(ldns_rr_list_new());
  uint32_t default_ttl = 3600;
  ldns_rdf* origin = nullptr;
  ldns_rdf* prev = nullptr;
  int line = 0;
  while (!std::feof(file) && ldns_rr_list_rr_count(out.records.get()) <= kMaxAnchors) {
    ldns_rr* rr = nullptr;
    ldns_status status = ldns_rr_new_frm_fp_l(&rr, file, &default_ttl, &origin, &prev, &line);
    RrPtr record(rr);
    if (status == LDNS_STATUS_SYNTAX_EMPTY || status == LDNS_STATUS_SYNTAX_TTL ||
        status == LDNS_STATUS_SYNTAX_ORIGIN || status == LDNS_STATUS_SYNTAX_INCLUDE)
      continue;
    if (status != LDNS_STATUS_OK) {
      if (std::feof(file) && !record) break;  // trailing blank lines
      out.error = "trust anchor file '" + path + "' line " + std::to_string(line) + ": " +
                  ldns_get_errorstr_by_id(status);
      break;
    }
    const ldns_rr_type type = ldns_rr_get_type(record.get());
    if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY) continue;
    if (out.zone && !dnsNameEqual(out.zone.get(), ldns_rr_owner(record.get()))) {
      out.error = "trust anchor file '" + path + "' has anchors for more than one zone";
      break;
    }
    if (!out.zone) out.zone.reset(ldns_rdf_clone(ldns_rr_owner(record.get())));
    ldns_rr_list_push_rr(out.records.get(), record.release());
  }
  std::fclose(file);
  ldns_rdf_deep_free(origin);
  ldns_rdf_deep_free(prev);
  if (out.error.empty() && ldns_rr_list_rr_count(out.records.get()) == 0)
    out.error = "trust anchor file '" + path + "' holds no DS or DNSKEY record";
  if (out.error.empty() && ldns_rr_list_rr_count(out.records.get()) > kMaxAnchors)
    out.error = "trust anchor file '" + path + "' holds too many records";
  if (!out.error.empty()) {
    out.records.reset();
    out.zone.reset();
  }
  return out;
}

bool isZoneKey(const ldns_rr* key) {
  const ldns_rdf* flags = ldns_rr_dnskey_flags(key);
  // RFC 4034 §2.1.1: only keys with the Zone Key flag sign zone data.
  return flags != nullptr && ldns_rdf_size(flags) == 2 && (ldns_rdf2native_int16(flags) & 0x0100) != 0;
}

// A DNSKEY is trusted by a DS (digest match) or by an identical DNSKEY anchor.
bool keyMatches(const ldns_rr* key, const ldns_rr* trust) {
  if (ldns_rr_get_type(trust) == LDNS_RR_TYPE_DS) return ldns_rr_compare_ds(key, trust);
  if (ldns_rr_get_type(trust) != LDNS_RR_TYPE_DNSKEY || ldns_rr_rd_count(key) != ldns_rr_rd_count(trust))
    return false;
  for (size_t i = 0; i < ldns_rr_rd_count(key); ++i) {
    if (ldns_rdf_compare(ldns_rr_rdf(key, i), ldns_rr_rdf(trust, i)) != 0) return false;
  }
  return true;
}

// One validation's view of the network: parsed responses, bounded in number.
class Fetcher {
 public:
  explicit Fetcher(const RawQuery& query) : query_(query) {}

  // The response for (name, type), or nullptr with `why` set.
  PktPtr get(const ldns_rdf* name, uint16_t type, std::string& why) {
    if (++queries_ > kMaxQueriesPerValidation) {
      why = "too many DNSSEC chain queries";
      return nullptr;
    }
    const std::string text = nameText(name);
    RawResponse raw = query_(text, type);
    if (!raw.error.empty()) {
      why = text + " " + typeText(type) + ": " + raw.error;
      return nullptr;
    }
    ParsedPacket parsed = parseDnsMessage(raw.wire);
    if (!parsed.packet) {
      why = text + " " + typeText(type) + ": " + parsed.error;
      return nullptr;
    }
    PktPtr pkt = std::move(parsed.packet);
    ldns_rr_list* question = ldns_pkt_question(pkt.get());
    if (question == nullptr || ldns_rr_list_rr_count(question) != 1 ||
        !dnsNameEqual(ldns_rr_owner(ldns_rr_list_rr(question, 0)), name) ||
        ldns_rr_get_type(ldns_rr_list_rr(question, 0)) != type) {
      why = text + " " + typeText(type) + ": response does not match the question";
      return nullptr;
    }
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
      why = text + " " + typeText(type) + ": rcode " + std::to_string(rcode);
      return nullptr;
    }
    return pkt;
  }

 private:
  const RawQuery& query_;
  int queries_ = 0;
};

// RRset signed by `zone` with one of `keys` (RRSIG signer must be the zone).
Check verifySet(ldns_rr_list* rrset, const ldns_rr_list* sigs, const ldns_rr_list* keys,
                const ldns_rdf* zone) {
  const ldns_rr* first = ldns_rr_list_rr(rrset, 0);
  if (first == nullptr) return bogus("empty RRset");
  const std::string what = nameText(ldns_rr_owner(first)) + " " + typeText(ldns_rr_get_type(first));
  if (ldns_rr_list_rr_count(sigs) == 0) return bogus("no RRSIG for " + what);
  std::string last = "no RRSIG by " + nameText(zone);
  const size_t tries = std::min(ldns_rr_list_rr_count(sigs), kMaxSignaturesPerSet);
  for (size_t i = 0; i < tries; ++i) {
    ldns_rr* sig = ldns_rr_list_rr(sigs, i);
    if (!dnsNameEqual(ldns_rr_rrsig_signame(sig), zone)) continue;
    ldns_status status = ldns_verify_rrsig_keylist(rrset, sig, keys, nullptr);
    if (status == LDNS_STATUS_OK) return Check{State::Secure, ""};
    last = ldns_get_errorstr_by_id(status);
  }
  return bogus(what + ": " + last);
}

}  // namespace

struct DnssecValidator::Impl {
  struct Entry {
    Cut cut;
    int64_t expires_at = 0;
  };

  Anchors anchors;
  std::function<int64_t()> now;
  mutable std::mutex mutex;
  std::map<std::string, Entry> cache;  // by name ("example.test."), the anchor zone included

  std::optional<Cut> cached(const ldns_rdf* name) {
    std::lock_guard lock(mutex);
    auto it = cache.find(nameText(name));
    if (it == cache.end()) return std::nullopt;
    if (now() >= it->second.expires_at) {
      cache.erase(it);
      return std::nullopt;
    }
    return it->second.cut;
  }

  void remember(const ldns_rdf* name, const Cut& cut) {
    const int64_t keep = std::min<int64_t>(cut.ttl, kMaxCacheSeconds);
    if (keep <= 0) return;
    std::lock_guard lock(mutex);
    const int64_t t = now();
    if (cache.size() >= kMaxCacheEntries) {
      std::erase_if(cache, [t](const auto& item) { return item.second.expires_at <= t; });
      if (cache.size() >= kMaxCacheEntries) cache.clear();  // rare: start over rather than grow
    }
    cache.insert_or_assign(nameText(name), Entry{cut, t + keep});
  }

  // The DNSKEY set of `zone`, trusted through `trust` (its DS set or anchors).
  Check fetchKeys(Fetcher& fetcher, const ldns_rdf* zone, const ldns_rr_list* trust, Cut& out) {
    std::string why;
    PktPtr pkt = fetcher.get(zone, LDNS_RR_TYPE_DNSKEY, why);
    if (!pkt) return Check{State::Incomplete, why};
    ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    View keys = select(answer, zone, LDNS_RR_TYPE_DNSKEY);
    const std::string z = nameText(zone);
    const size_t count = ldns_rr_list_rr_count(keys.get());
    if (count == 0) return bogus("no DNSKEY for " + z);
    if (count > kMaxDnskeys) return bogus("too many DNSKEYs for " + z);
    View trusted(ldns_rr_list_new());
    for (size_t i = 0; i < count; ++i) {
      ldns_rr* key = ldns_rr_list_rr(keys.get(), i);
      if (!isZoneKey(key)) continue;
      for (size_t j = 0; j < ldns_rr_list_rr_count(trust); ++j) {
        if (keyMatches(key, ldns_rr_list_rr(trust, j))) {
          ldns_rr_list_push_rr(trusted.get(), key);
          break;
        }
      }
    }
    if (ldns_rr_list_rr_count(trusted.get()) == 0)
      return bogus("no DNSKEY of " + z + " matches its DS or trust anchor");
    View sigs = signaturesFor(answer, zone, LDNS_RR_TYPE_DNSKEY);
    Check check = verifySet(keys.get(), sigs.get(), trusted.get(), zone);
    if (check.state != State::Secure) return check;
    ldns_rr_list* zone_keys = ldns_rr_list_new();
    for (size_t i = 0; i < count; ++i) {
      ldns_rr* key = ldns_rr_list_rr(keys.get(), i);
      if (isZoneKey(key)) ldns_rr_list_push_rr(zone_keys, ldns_rr_clone(key));
    }
    out.kind = Cut::Kind::SignedZone;
    out.keys = shareList(zone_keys);
    out.ttl = std::min(out.ttl, minTtl(keys.get()));
    return check;
  }

  // Is `name` (one label below secure zone `parent`) a zone cut, signed or not?
  Check probe(Fetcher& fetcher, const ldns_rdf* name, const ldns_rdf* parent, const ldns_rr_list* parent_keys,
              Cut& out) {
    std::string why;
    PktPtr pkt = fetcher.get(name, LDNS_RR_TYPE_DS, why);
    if (!pkt) return Check{State::Incomplete, why};
    const std::string n = nameText(name);
    ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    View ds = select(answer, name, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds.get()) > 0) {
      View sigs = signaturesFor(answer, name, LDNS_RR_TYPE_DS);
      Check check = verifySet(ds.get(), sigs.get(), parent_keys, parent);
      if (check.state != State::Secure) return check;
      out.ttl = minTtl(ds.get());
      return fetchKeys(fetcher, name, ds.get(), out);
    }
    View cname = select(answer, name, LDNS_RR_TYPE_CNAME);
    if (ldns_rr_list_rr_count(cname.get()) > 0) {
      // An alias cannot be a zone cut (RFC 1034 §3.6.2), if the parent signed it.
      View sigs = signaturesFor(answer, name, LDNS_RR_TYPE_CNAME);
      Check check = verifySet(cname.get(), sigs.get(), parent_keys, parent);
      if (check.state != State::Secure) return check;
      out.kind = Cut::Kind::NotACut;
      out.ttl = minTtl(cname.get());
      return check;
    }
    const bool nxdomain = ldns_pkt_get_rcode(pkt.get()) == LDNS_RCODE_NXDOMAIN;
    ldns_rr_list* authority = ldns_pkt_authority(pkt.get());
    View proof;
    Check check = verifiedDenial(authority, parent, parent_keys, proof);
    if (check.state != State::Secure) return bogus("absence of DS at " + n + " not proven: " + check.why);
    out.ttl = minTtl(proof.get());
    const ldns_rr* first = ldns_rr_list_rr(proof.get(), 0);
    if (ldns_rr_get_type(first) == LDNS_RR_TYPE_NSEC) {
      for (size_t i = 0; i < ldns_rr_list_rr_count(proof.get()); ++i) {
        const ldns_rr* nsec = ldns_rr_list_rr(proof.get(), i);
        if (dnsNameEqual(ldns_rr_owner(nsec), name)) return classify(ldns_nsec_get_bitmap(nsec), n, out);
      }
      std::string denial = nsecDenial(proof.get(), name, LDNS_RR_TYPE_DS, nxdomain);
      if (!denial.empty()) return bogus("absence of DS at " + n + " not proven: " + denial);
      out.kind = nxdomain ? Cut::Kind::Absent : Cut::Kind::NotACut;
      return Check{State::Secure, ""};
    }
    if (const ldns_rr* match = nsec3Matching(proof.get(), name, parent))
      return classify(ldns_nsec3_bitmap(match), n, out);
    // No NSEC3 for the name itself: it does not exist, or sits in an opt-out span.
    std::string denial = nsec3Denial(proof.get(), name, LDNS_RR_TYPE_DS, nxdomain, parent);
    if (!denial.empty()) return bogus("absence of DS at " + n + " not proven: " + denial);
    // RFC 5155 §8.6: an opt-out span may hide an unsigned delegation.
    out.kind = nxdomain ? Cut::Kind::Absent : Cut::Kind::Unsigned;
    return Check{State::Secure, ""};
  }

  static Check classify(const ldns_rdf* bitmap, const std::string& name, Cut& out) {
    if (typeBitmapHas(bitmap, LDNS_RR_TYPE_DS))
      return bogus("DS at " + name + " denied by a record that lists it");
    if (typeBitmapHas(bitmap, LDNS_RR_TYPE_SOA))
      return bogus("DS at " + name + " denied from the child side");
    // RFC 4035 §5.2: NS without DS is a provably unsigned delegation.
    out.kind = typeBitmapHas(bitmap, LDNS_RR_TYPE_NS) ? Cut::Kind::Unsigned : Cut::Kind::NotACut;
    return Check{State::Secure, ""};
  }

  // NSEC or NSEC3 records of the section, every set signed by `zone`. On
  // success `proof` holds them (one kind only).
  static Check verifiedDenial(ldns_rr_list* section, const ldns_rdf* zone, const ldns_rr_list* keys,
                              View& proof) {
    proof.reset(ldns_rr_list_new());
    const size_t count = section ? ldns_rr_list_rr_count(section) : 0;
    uint16_t kind = 0;
    for (size_t i = 0; i < count; ++i) {
      ldns_rr* rr = ldns_rr_list_rr(section, i);
      const uint16_t type = ldns_rr_get_type(rr);
      if ((type != LDNS_RR_TYPE_NSEC && type != LDNS_RR_TYPE_NSEC3) ||
          ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
        continue;
      if (kind == 0) kind = type;
      if (type != kind) return bogus("NSEC and NSEC3 mixed");
      if (ldns_rr_list_rr_count(proof.get()) >= kMaxDenialRecords) return bogus("too many denial records");
      if (!dnsNameAtOrBelow(ldns_rr_owner(rr), zone)) return bogus("denial record outside " + nameText(zone));
      if (type == LDNS_RR_TYPE_NSEC3 && ldns_rr_rd_count(rr) >= 5 &&
          ldns_nsec3_iterations(rr) > kMaxNsec3Iterations)
        return bogus("NSEC3 with too many iterations");
      if (type == LDNS_RR_TYPE_NSEC3 && ldns_rr_rd_count(rr) < 5)
        return bogus("malformed NSEC3");  // no bitmap: an empty non-terminal
      if (type == LDNS_RR_TYPE_NSEC && ldns_rr_rd_count(rr) < 1) return bogus("malformed NSEC");
      View set = select(section, ldns_rr_owner(rr), type);
      View sigs = signaturesFor(section, ldns_rr_owner(rr), type);
      Check check = verifySet(set.get(), sigs.get(), keys, zone);
      if (check.state != State::Secure) return check;
      ldns_rr_list_push_rr(proof.get(), rr);
    }
    if (kind == 0) return bogus("no NSEC or NSEC3 records");
    return Check{State::Secure, ""};
  }

  // Walks from the anchor towards `target`; returns the deepest secure zone at
  // or above it, or Insecure at the first unsigned delegation.
  ZoneKeys keysFor(Fetcher& fetcher, const ldns_rdf* target) {
    ZoneKeys out;
    const ldns_rdf* anchor_zone = anchors.zone.get();
    if (!dnsNameAtOrBelow(target, anchor_zone)) {
      out.state = State::Insecure;  // no trust anchor above it: nothing to validate against
      out.why = nameText(target) + " is outside the trust anchor's zone";
      return out;
    }
    std::optional<Cut> top = cached(anchor_zone);
    if (!top) {
      Cut cut;
      cut.ttl = UINT32_MAX;
      Check check = fetchKeys(fetcher, anchor_zone, anchors.records.get(), cut);
      if (check.state != State::Secure) {
        out.state = check.state;
        out.why = check.why;
        return out;
      }
      remember(anchor_zone, cut);
      top = cut;
    }
    RdfPtr zone(ldns_rdf_clone(anchor_zone));
    Keys keys = top->keys;
    const uint8_t target_labels = ldns_dname_label_count(target);
    for (uint8_t labels = ldns_dname_label_count(anchor_zone) + 1; labels <= target_labels; ++labels) {
      RdfPtr name(ldns_dname_clone_from(target, target_labels - labels));
      if (!name) break;
      std::optional<Cut> cut = cached(name.get());
      if (!cut) {
        Cut fresh;
        fresh.ttl = UINT32_MAX;
        Check check = probe(fetcher, name.get(), zone.get(), keys.get(), fresh);
        if (check.state != State::Secure) {
          out.state = check.state;
          out.why = check.why;
          return out;
        }
        remember(name.get(), fresh);
        cut = fresh;
      }
      if (cut->kind == Cut::Kind::Unsigned) {
        out.state = State::Insecure;
        out.why = "unsigned delegation at " + nameText(name.get());
        return out;
      }
      if (cut->kind == Cut::Kind::Absent) break;
      if (cut->kind == Cut::Kind::SignedZone) {
        zone = std::move(name);
        keys = cut->keys;
      }
    }
    out.state = State::Secure;
    out.zone = std::move(zone);
    out.keys = std::move(keys);
    return out;
  }

  // Keys of the zone that signed something, which must be exactly `signer`.
  ZoneKeys signerKeys(Fetcher& fetcher, const ldns_rdf* signer) {
    ZoneKeys zone = keysFor(fetcher, signer);
    if (zone.state == State::Secure && !dnsNameEqual(zone.zone.get(), signer)) {
      zone.state = State::Bogus;
      zone.why = "signer " + nameText(signer) + " is not a signed zone";
    }
    return zone;
  }

  // An RRset of the answer: signed by its zone, or in a provably unsigned part.
  Check positive(Fetcher& fetcher, ldns_pkt* pkt, ldns_rr_list* rrset, const ldns_rdf* owner, uint16_t type) {
    ldns_rr_list* answer = ldns_pkt_answer(pkt);
    View sigs = signaturesFor(answer, owner, type);
    const std::string what = nameText(owner) + " " + typeText(type);
    const ldns_rr* sig = nullptr;
    for (size_t i = 0; i < ldns_rr_list_rr_count(sigs.get()) && sig == nullptr; ++i) {
      const ldns_rr* candidate = ldns_rr_list_rr(sigs.get(), i);
      if (dnsNameAtOrBelow(owner, ldns_rr_rrsig_signame(candidate))) sig = candidate;
    }
    if (sig == nullptr) {
      ZoneKeys zone = keysFor(fetcher, owner);
      if (zone.state == State::Secure)
        return bogus("no valid RRSIG for " + what + " in signed zone " + nameText(zone.zone.get()));
      return Check{zone.state, zone.why};
    }
    const ldns_rdf* signer = ldns_rr_rrsig_signame(sig);
    ZoneKeys zone = signerKeys(fetcher, signer);
    if (zone.state != State::Secure) return Check{zone.state, zone.why};
    Check check = verifySet(rrset, sigs.get(), zone.keys.get(), signer);
    if (check.state != State::Secure) return check;
    const ldns_rdf* labels = ldns_rr_rrsig_labels(sig);
    if (labels != nullptr && ldns_rdf2native_int8(labels) < ldns_dname_label_count(owner)) {
      // RFC 4035 §5.3.4: a wildcard expansion needs proof that no closer name exists.
      View proof;
      Check denial = verifiedDenial(ldns_pkt_authority(pkt), signer, zone.keys.get(), proof);
      if (denial.state != State::Secure) return bogus("wildcard answer for " + what + ": " + denial.why);
      if (!wildcardExpansionProven(proof.get(), owner, ldns_rdf2native_int8(labels), signer))
        return bogus("wildcard answer for " + what + " without proof that the name does not exist");
    }
    return check;
  }

  // NODATA / NXDOMAIN for (name, type): proven by NSEC or NSEC3 of a secure
  // zone, or unsigned in a provably unsigned part of the tree.
  Check negative(Fetcher& fetcher, ldns_pkt* pkt, const ldns_rdf* name, uint16_t type) {
    ldns_rr_list* authority = ldns_pkt_authority(pkt);
    const std::string what = nameText(name) + " " + typeText(type);
    const ldns_rdf* signer = nullptr;
    const size_t count = authority ? ldns_rr_list_rr_count(authority) : 0;
    for (size_t i = 0; i < count && signer == nullptr; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(authority, i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_rd_count(rr) != 9) continue;
      const uint16_t covered = coveredType(rr);
      if (covered != LDNS_RR_TYPE_NSEC && covered != LDNS_RR_TYPE_NSEC3 && covered != LDNS_RR_TYPE_SOA)
        continue;
      if (dnsNameAtOrBelow(name, ldns_rr_rrsig_signame(rr))) signer = ldns_rr_rrsig_signame(rr);
    }
    if (signer == nullptr) {
      ZoneKeys zone = keysFor(fetcher, name);
      if (zone.state == State::Secure)
        return bogus("unsigned denial of " + what + " in signed zone " + nameText(zone.zone.get()));
      return Check{zone.state, zone.why};
    }
    ZoneKeys zone = signerKeys(fetcher, signer);
    if (zone.state != State::Secure) return Check{zone.state, zone.why};
    View proof;
    Check check = verifiedDenial(authority, signer, zone.keys.get(), proof);
    if (check.state != State::Secure) return bogus("denial of " + what + ": " + check.why);
    const bool nxdomain = ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN;
    if (ldns_rr_get_type(ldns_rr_list_rr(proof.get(), 0)) == LDNS_RR_TYPE_NSEC) {
      std::string denial = nsecDenial(proof.get(), name, type, nxdomain);
      if (!denial.empty()) return bogus("denial of " + what + " not proven: " + denial);
      return check;
    }
    std::string denial = nsec3Denial(proof.get(), name, type, nxdomain, signer);
    if (!denial.empty()) return bogus("denial of " + what + " not proven: " + denial);
    return check;
  }

  DnssecVerdict validate(std::span<const uint8_t> response, const std::string& qname, uint16_t qtype,
                         const RawQuery& query) {
    DnssecVerdict verdict;
    if (!anchors.error.empty()) {
      verdict.incomplete = true;
      verdict.why = anchors.error;
      return verdict;
    }
    ParsedPacket parsed = parseDnsMessage(response);
    if (!parsed.packet) {
      verdict.why = std::move(parsed.error);
      return verdict;
    }
    PktPtr pkt = std::move(parsed.packet);
    RdfPtr current(ldns_dname_new_frm_str(qname.c_str()));
    if (!current) {
      verdict.why = "invalid name";
      return verdict;
    }
    Fetcher fetcher(query);
    std::vector<Check> checks;
    ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    bool found = false;
    for (int hops = 0; hops <= kMaxCnameHops; ++hops) {
      View records = select(answer, current.get(), qtype);
      if (ldns_rr_list_rr_count(records.get()) > 0) {
        checks.push_back(positive(fetcher, pkt.get(), records.get(), current.get(), qtype));
        found = true;
        break;
      }
      View alias = select(answer, current.get(), LDNS_RR_TYPE_CNAME);
      if (ldns_rr_list_rr_count(alias.get()) != 1 || ldns_rr_rd_count(ldns_rr_list_rr(alias.get(), 0)) != 1)
        break;
      checks.push_back(positive(fetcher, pkt.get(), alias.get(), current.get(), LDNS_RR_TYPE_CNAME));
      if (checks.back().state != State::Secure) break;
      current.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(alias.get(), 0), 0)));
    }
    if (!found && (checks.empty() || checks.back().state == State::Secure))
      checks.push_back(negative(fetcher, pkt.get(), current.get(), qtype));

    verdict.security = Security::Secure;
    for (const Check& check : checks) {
      if (check.state == State::Incomplete) {
        verdict.incomplete = true;
        verdict.why = "DNSSEC chain incomplete: " + check.why;
        return verdict;
      }
    }
    for (const Check& check : checks) {
      if (check.state == State::Bogus) {
        verdict.security = Security::Bogus;
        verdict.why = "DNSSEC bogus: " + check.why;
        return verdict;
      }
    }
    for (const Check& check : checks) {
      if (check.state == State::Insecure) verdict.security = Security::Insecure;
    }
    return verdict;
  }
};

DnssecValidator::DnssecValidator(const std::string& trust_anchor_file, std::function<int64_t()> now_seconds)
    : impl_(std::make_unique<Impl>()) {
  impl_->anchors = readAnchors(trust_anchor_file);
  impl_->now = now_seconds ? std::move(now_seconds) : [] { return static_cast<int64_t>(std::time(nullptr)); };
}

DnssecValidator::~DnssecValidator() = default;

const std::string& DnssecValidator::anchorError() const {
  return impl_->anchors.error;
}

DnssecVerdict DnssecValidator::validate(std::span<const uint8_t> response, const std::string& qname,
                                        uint16_t qtype, const RawQuery& query) {
  return impl_->validate(response, qname, qtype, query);
}

size_t DnssecValidator::cachedZoneCount() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->cache.size();
}

Status checkTrustAnchorFile(const std::string& path) {
  Anchors anchors = readAnchors(path);
  if (!anchors.error.empty()) return makeError(anchors.error);
  return okStatus();
}

}  // namespace tlsrelay::dns
