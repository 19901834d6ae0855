// The [dkim] section of relay.toml: which sender addresses are signed with
// which key, how, and whether inbound signatures are checked.
//
//   [dkim]
//   canonicalization = "relaxed/relaxed"   # or simple/simple, relaxed/simple, …
//   expire_after = "0"                     # x= after t=; 0 = no x=
//   # headers = [...]  oversign = [...]    # default lists in dkim/dkim_signer.h
//   [[dkim.sign]]
//   domain = "example.com"
//   selector = "s2026"
//   key_file = "dkim/example.com.s2026.key"
//   # from = ["*@example.com", "*@*.example.com"]   (the default)
//   # to = ["*@partner.example"]
//   [dkim.verify]
//   authentication_results = true          # verify inbound mail, add RFC 8601 header
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/toml_reader.h"

namespace tlsrelay {

struct DkimSigningConfig {
  std::string domain;    // lower case
  std::string selector;  // lower case
  std::string key_file;  // PEM private key, resolved path
  std::vector<std::string> from;
  std::vector<std::string> to;
  int line = 0;  // where the entry is written, for errors found when the key is loaded
};

struct DkimConfig {
  std::vector<DkimSigningConfig> sign;
  bool header_relaxed = true;
  bool body_relaxed = true;
  std::vector<std::string> headers;                  // empty = the built-in list
  std::optional<std::vector<std::string>> oversign;  // nullopt = the built-in list
  std::chrono::seconds expire_after{0};
  bool authentication_results = false;
  bool verify_authenticated = false;  // also check mail from AUTH clients (they are ours)
  std::string authserv_id;            // empty = the relay's host name
};

void readDkimSection(tomlcfg::TableReader& r, DkimConfig& cfg, const std::string& base_dir);

}  // namespace tlsrelay
