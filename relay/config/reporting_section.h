// The [reporting] section of relay.toml: RFC 8460 TLS reporting — where the
// session counts are stored, whether and how the daily reports are sent, and
// the address that takes reports others mail to us.
//
//   [reporting]
//   enabled = true                 # count every outbound TLS session
//   store = "/var/lib/tlsrelay/tls-reports.sqlite"   # or "postgresql://host/db"
//   send = true                    # send the daily reports (default false)
//   submitter = "example.net"      # our domain in the reports
//   from = "tlsrpt-noreply@example.net"
//   ingest_address = "tlsrpt@example.net"
#pragma once

#include <chrono>
#include <string>

#include "common/toml_reader.h"

namespace tlsrelay {

// [reporting]: RFC 8460 TLS reporting. Counting every outbound TLS session
// into the store is on by default (a row per distinct outcome per day, never
// per message); sending the daily reports is opt-in (`send`), because it
// mails and POSTs to other organisations under our name. Defaults are filled
// in at load (finishReportingDefaults), so every field is final after it.
struct ReportingConfig {
  bool enabled = true;
  std::string store;  // SQLite file path or postgresql:// URI; default <spool>/tls-reports.sqlite
  bool send = false;
  std::string organization_name;  // default: submitter
  std::string submitter;          // our domain; default: the host name
  std::string contact_info;       // default: postmaster@submitter
  std::string from;               // report mail From and envelope sender; default tlsrpt-noreply@submitter
  std::string node;               // this relay's name in the store's claims; default: the host name
  std::chrono::seconds send_after{3600};       // reports leave from 01:00 UTC ...
  std::chrono::seconds send_window{4 * 3600};  // ... spread over the next four hours
  // How long a node's claim on a report lasts: another node (or this one
  // restarted) takes over a report whose sender died after this long. It
  // must outlast one send (DNS, then an HTTPS POST of up to a minute).
  std::chrono::seconds claim_timeout{15 * 60};
  std::string https_ca_bundle;  // roots for https: rua; default [policy] ca_bundle
  std::string ingest_address;   // reports mailed here are read, never relayed; "" = none

  bool operator==(const ReportingConfig&) const = default;
};

// Every key of the section; mistakes are recorded in `r` with their lines.
// Relative paths resolve against `base_dir`.
void readReportingSection(tomlcfg::TableReader& r, ReportingConfig& cfg, const std::string& base_dir);

// Fills the defaults that depend on other sections, once the whole file is read.
void finishReportingDefaults(ReportingConfig& cfg, const std::string& hostname, const std::string& ca_bundle);

// Where reports we receive but cannot read are kept for inspection.
std::string malformedReportDirectory(const std::string& spool_directory);

}  // namespace tlsrelay
