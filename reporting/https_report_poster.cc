// libcurl POST of a TLS report; see https_report_poster.h. All the retry
// policy for an https: destination is in classify() and statusOutcome(), so
// the caller's backoff (RFC 8460 §5.5: up to 24 hours, exponential) only asks
// `retry`.
#include "reporting/https_report_poster.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "common/ascii.h"
#include "common/gzip.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxExcerpt = 200;  // of an error page, for the log

void globalInitOnce() {
  // curl_global_init is not thread-safe before 7.84: run it exactly once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Keeps the start of the response body (an error page may say why) and
// drops the rest without failing the transfer.
size_t onBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* excerpt = static_cast<std::string*>(user);
  const size_t n = size * nmemb;
  for (size_t i = 0; i < n && excerpt->size() < kMaxExcerpt; ++i) {
    const char c = data[i];
    excerpt->push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  return n;
}

PostOutcome failed(PostFailure failure, bool retry, std::string detail) {
  PostOutcome out;
  out.failure = failure;
  out.retry = retry;
  out.detail = std::move(detail);
  return out;
}

PostOutcome classify(CURLcode rc, const std::string& why) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return failed(PostFailure::Timeout, true, why);
    // Not retried: a certificate that does not verify is the receiver's
    // configuration (expired, self-signed, wrong name) or an attacker, and
    // neither goes away within the minutes of a retry backoff. We verify
    // although RFC 8460 §3 lets submitters ignore certificate errors: the
    // report names our sending IPs and the receiver's MX problems, and an
    // attacker on the path gains from reading how its attack went.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
      return failed(PostFailure::Certificate, false, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return failed(PostFailure::Refused, false, why);
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_NOT_BUILT_IN:
      return failed(PostFailure::Local, false, why);
    default:
      // Name resolution, refused or reset connections, a failed handshake,
      // an empty reply: the network's state, which changes.
      return failed(PostFailure::Network, true, why);
  }
}

PostOutcome statusOutcome(long status, const std::string& excerpt, const char* location) {
  PostOutcome out;
  out.http_status = status;
  // RFC 8460 §5.4: success is "typically a 200 or 201"; we take any 2xx.
  if (status >= 200 && status < 300) {
    out.delivered = true;
    out.detail = "HTTP " + std::to_string(status);
    return out;
  }
  // RFC 8460 §5.4: other codes "may be retried as per local sender policy".
  // Ours: the server's own trouble (5xx), "too many requests" (429) and
  // "request timeout" (408) can pass; any other answer is what the endpoint
  // will say again tomorrow.
  out.failure = PostFailure::Http;
  out.retry = status >= 500 || status == 429 || status == 408;
  out.detail = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400) {
    // RFC 8460 §5.4 says nothing of redirects: we follow none, because a
    // 307/308 would have us POST the report to wherever the answer points
    // (and a changed endpoint belongs in the rua record, which the domain controls).
    out.detail += " redirect not followed";
    if (location) out.detail += " (to " + std::string(location).substr(0, kMaxExcerpt) + ")";
  }
  if (!excerpt.empty()) out.detail += ": " + excerpt;
  return out;
}

}  // namespace

const char* toString(PostFailure failure) {
  switch (failure) {
    case PostFailure::None:
      return "none";
    case PostFailure::Refused:
      return "refused";
    case PostFailure::Http:
      return "http";
    case PostFailure::Timeout:
      return "timeout";
    case PostFailure::Network:
      return "network";
    case PostFailure::Certificate:
      return "certificate";
    case PostFailure::Local:
      return "local";
  }
  return "local";
}

PostOutcome postTlsReport(const std::string& url, std::string_view gzipped, const HttpsPostOptions& options) {
  // RFC 8460 §3: the two rua schemes are mailto and https; an http: URL
  // would send the report in the clear, so it is refused before any I/O.
  if (!equalsIgnoreCase(std::string_view(url).substr(0, 8), "https://"))
    return failed(PostFailure::Refused, false, "not an https URL");
  // The body is declared application/tlsrpt+gzip; anything else would be a lie.
  if (!looksGzipped(gzipped)) return failed(PostFailure::Refused, false, "the report is not gzip data");
  globalInitOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return failed(PostFailure::Local, false, "curl_easy_init failed");
  curl_slist* raw_headers =
      curl_slist_append(nullptr, "Content-Type: application/tlsrpt+gzip");  // RFC 8460 §5.4
  raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip for large reports
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, curl_slist_free_all);
  if (!headers) return failed(PostFailure::Local, false, "curl_slist_append failed");

  std::string excerpt;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // RFC 8460 §3: https, never plain http
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);      // see statusOutcome(): no redirects
  curl_easy_setopt(c, CURLOPT_PROXY, "");               // no proxy from the environment
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);            // callers run us on worker threads
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);      // PKIX: see classify() for why we verify
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, gzipped.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(gzipped.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &excerpt);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string why = curl_easy_strerror(rc);
    if (errbuf[0]) why += std::string(": ") + errbuf;
    return classify(rc, why);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  char* location = nullptr;
  curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
  PostOutcome out = statusOutcome(status, excerpt, location);
  curl_off_t retry_after = 0;
  if (!out.delivered && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
      retry_after > 0)
    out.retry_after = static_cast<int64_t>(retry_after);
  return out;
}

}  // namespace tlsrelay
