// Delivery of one gzipped TLS report to an https: rua destination (RFC 8460
// §5.4) with libcurl, and what its failure means for a retry. Blocking: one
// call is one whole HTTPS exchange, up to `total_timeout`, so callers run it
// on a worker thread, never on the event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tlsrelay {

struct HttpsPostOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  std::string ca_file;  // "" uses the system trust store; tests point it at a private CA
  std::string user_agent = "tlsrelay-tlsrpt/1";
};

enum class PostFailure {
  None,         // delivered
  Refused,      // not an https URL, or not one libcurl takes: nothing was sent
  Http,         // the server answered with a status other than 2xx
  Timeout,      // connect or total timeout
  Network,      // DNS, connection refused or reset, TLS handshake failure
  Certificate,  // the server's certificate did not verify (PKIX or host name)
  Local,        // our side: the CA file cannot be read, libcurl cannot start
};
const char* toString(PostFailure failure);

struct PostOutcome {
  bool delivered = false;
  // Whether the same POST may succeed later: 5xx, 408, 429, timeouts and
  // network failures yes; other 4xx, 3xx, certificate failures and refused
  // URLs no (see https_report_poster.cc for why).
  bool retry = false;
  PostFailure failure = PostFailure::None;
  long http_status = 0;     // 0 when no response was read
  int64_t retry_after = 0;  // seconds, from a 429/503 Retry-After; 0 = none given
  std::string detail;       // for the log: status line or libcurl's error, never the body we sent
};

// POSTs `gzipped` as "Content-Type: application/tlsrpt+gzip" to `url`.
// Redirects are not followed; only https: is spoken; the peer must present
// a certificate that verifies for the URL's host.
PostOutcome postTlsReport(const std::string& url, std::string_view gzipped, const HttpsPostOptions& options);

}  // namespace tlsrelay
