// The policy domain's request for reports: the TXT record at
// "_smtp._tls.<domain>" (RFC 8460 §3), parsed into the destinations we can
// deliver to. Pure: the DNS lookup is the caller's, so this parses strings
// and picks among the records one answer holds.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace tlsrelay {

struct ReportDestination {
  enum class Kind { Mailto, Https };
  Kind kind = Kind::Mailto;
  // Mailto: the mailbox, %-escapes decoded ("tlsrpt@example.com").
  // Https: the URL as published, scheme in lower case.
  std::string address;

  bool operator==(const ReportDestination&) const = default;
};

struct TlsRptRecord {
  std::vector<ReportDestination> rua;  // in published order, never empty
  // What was left out and why (unsupported schemes, unknown fields, a
  // DMARC-style "!size" suffix), for the log; nothing here is an error.
  std::vector<std::string> notes;
};

// One record, its strings already joined without spaces (RFC 8460 §3). An
// Error when it is not TLSRPTv1, is malformed, or names no destination we
// support.
Result<TlsRptRecord> parseTlsRptRecord(std::string_view txt);

// Picks among all TXT records at the name (each record's strings joined).
// nullopt: no TLSRPT record is published. An Error: something is published
// but unusable (malformed, or more than one TLSRPT record); RFC 8460 §3 says
// to act then as if nothing were published, and the message says why.
Result<std::optional<TlsRptRecord>> chooseTlsRptRecord(const std::vector<std::string>& records);

// "_smtp._tls.example.com" for "example.com" (or "Example.COM.").
std::string tlsRptRecordName(std::string_view policy_domain);

}  // namespace tlsrelay
