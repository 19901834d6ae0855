// Which keys sign a message (seed 001's eligibility list): each signing entry
// names the sender addresses (the From: field) and, optionally, recipient
// addresses whose mail it signs, with '*' and '?' wildcards. A message is
// signed by every entry that matches, so a domain can carry an RSA and an
// Ed25519 signature. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tlsrelay::dkim {

struct SigningEntry {
  std::string domain;             // d=; also the default From pattern (the domain and its subdomains)
  std::string selector;           // s=
  std::vector<std::string> from;  // patterns for From: addresses; empty = "*@domain", "*@*.domain"
  std::vector<std::string> to;    // patterns for envelope recipients that make a message eligible
};

// The From patterns an entry uses (its own or the default pair).
std::vector<std::string> fromPatterns(const SigningEntry& entry);

// Indexes into `entries` of those that sign a message with these From:
// addresses and envelope recipients. A message without a From: address is
// eligible only through a `to` pattern.
std::vector<size_t> eligibleEntries(const std::vector<SigningEntry>& entries,
                                    const std::vector<std::string>& from_addresses,
                                    const std::vector<std::string>& recipients);

}  // namespace tlsrelay::dkim
