// libcurl policy fetch for MTA-STS; see mta_sts_fetcher.h.
#include "relay/mta_sts/mta_sts_fetcher.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "common/ascii.h"
#include "common/log.h"
#include "dnssec/resolver.h"

namespace tlsrelay {
namespace {

constexpr size_t kMaxBody = 64 * 1024;  // RFC 8461 §3.3: senders may limit the policy to 64 KiB

void globalInitOnce() {
  // curl_global_init is not thread-safe before 7.84: run it exactly once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  std::string body;
  bool oversize = false;
  long early_status = 0;  // a non-200 status seen before the body: transfer aborted
};

size_t onBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->body.empty()) {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
      t->early_status = status;  // the body of an error page is of no use
      return 0;
    }
  }
  if (t->body.size() + n > kMaxBody) {
    t->oversize = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR) without reading the rest
  }
  t->body.append(data, n);
  return n;
}

bool isTextPlain(const char* content_type) {
  if (!content_type) return false;
  std::string_view v(content_type);
  v = v.substr(0, v.find(';'));  // parameters such as charset are fine
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return equalsIgnoreCase(v, "text/plain");
}

bool isCertificateFailure(CURLcode code) {
  return code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_INVALIDCERTSTATUS ||
         code == CURLE_SSL_ISSUER_ERROR;
}

class CurlStsFetcher : public StsFetcher {
 public:
  CurlStsFetcher(const MtaStsConfig& config, dns::Resolver* resolver) : config_(config), resolver_(resolver) {
    globalInitOnce();
  }

  StsFetchResult fetch(const std::string& domain) override {
    const std::string host = "mta-sts." + domain;
    auto result = doFetch(host);
    if (result.kind == StsFetchResult::Kind::Ok) {
      log::debug("mta-sts", "policy fetched",
                 {{"host", host}, {"bytes", std::to_string(result.body.size())}});
    } else {
      log::info("mta-sts", "policy fetch failed", {{"host", host}, {"error", result.error}});
    }
    return result;
  }

 private:
  StsFetchResult doFetch(const std::string& host) {
    // RFC 8461 §3.3 gives no DNS exception: the policy host is looked up like
    // any other name, but through our resolver so tests and DNSSEC status agree.
    dns::AddressAnswer addrs = resolver_->lookupAddresses(host);
    if (addrs.security == dns::Security::Bogus) {
      return StsFetchResult::fetchError("DNS: bogus answer for " + host + ": " + addrs.why);
    }
    if (addrs.outcome == dns::Outcome::TempFail) {
      return StsFetchResult::fetchError("DNS: lookup of " + host + " failed: " + addrs.why);
    }
    if (addrs.outcome != dns::Outcome::Found || addrs.records.empty()) {
      return StsFetchResult::fetchError(std::string("DNS: no address for ") + host + " (" +
                                        dns::toString(addrs.outcome) + ")");
    }
    const std::string port = std::to_string(config_.https_port);
    std::string resolve = host + ":" + port + ":";
    for (size_t i = 0; i < addrs.records.size(); ++i) {
      const std::string& a = addrs.records[i];
      if (i) resolve += ",";
      resolve += a.find(':') != std::string::npos ? "[" + a + "]" : a;
    }
    const std::string url =
        "https://" + host + (config_.https_port == 443 ? "" : ":" + port) + "/.well-known/mta-sts.txt";

    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return StsFetchResult::fetchError("curl_easy_init failed");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> resolve_list(
        curl_slist_append(nullptr, resolve.c_str()), curl_slist_free_all);
    Transfer t;
    t.curl = curl.get();
    char errbuf[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_list.get());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");  // RFC 8461 §3.3: HTTPS only
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);      // RFC 8461 §3.3: redirects MUST NOT be followed
    curl_easy_setopt(c, CURLOPT_PROXY, "");               // no proxy from the environment
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);            // we run on pool threads
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);      // RFC 8461 §3.3: PKIX-valid certificate
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!config_.ca_bundle.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_bundle.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config_.connect_timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.fetch_timeout.count() * 1000));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxBody));
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tlsrelay-mta-sts/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (t.early_status != 0) status = t.early_status;
    if (t.oversize || rc == CURLE_FILESIZE_EXCEEDED) {
      return StsFetchResult::fetchError("policy larger than 64 KiB");
    }
    if (rc != CURLE_OK && t.early_status == 0) {
      std::string why = curl_easy_strerror(rc);
      if (errbuf[0]) why += std::string(": ") + errbuf;
      if (isCertificateFailure(rc)) return StsFetchResult::webPkiError("certificate of " + host + ": " + why);
      return StsFetchResult::fetchError(host + ": " + why);
    }
    if (status >= 300 && status < 400) {
      // RFC 8461 §3.3: HTTP 3xx redirects MUST NOT be followed.
      return StsFetchResult::fetchError("HTTP " + std::to_string(status) + " redirect not followed");
    }
    if (status != 200) return StsFetchResult::fetchError("HTTP status " + std::to_string(status));
    char* content_type = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type);
    if (!isTextPlain(content_type)) {
      // RFC 8461 §3.3: the policy is served as "Content-Type: text/plain".
      return StsFetchResult::fetchError(std::string("Content-Type is ") +
                                        (content_type ? content_type : "missing") + ", not text/plain");
    }
    return StsFetchResult::ok(std::move(t.body));
  }

  const MtaStsConfig config_;
  dns::Resolver* resolver_;
};

}  // namespace

std::unique_ptr<StsFetcher> makeCurlStsFetcher(const MtaStsConfig& config, dns::Resolver* resolver) {
  return std::make_unique<CurlStsFetcher>(config, resolver);
}

}  // namespace tlsrelay
