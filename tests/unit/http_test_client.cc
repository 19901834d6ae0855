#include "tests/unit/http_test_client.h"

#include <curl/curl.h>

#include <cctype>

namespace tlsrelay::http_test {
namespace {

size_t appendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    // A repeated field (WWW-Authenticate) keeps every value, one per line.
    std::string& slot = (*static_cast<std::map<std::string, std::string>*>(out))[name];
    slot += (slot.empty() ? "" : "\n") + value;
  }
  return size * n;
}

}  // namespace

HttpTestReply httpFetch(const HttpTestRequest& r) {
  HttpTestReply out;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.error = "curl_easy_init failed";
    return out;
  }
  curl_slist* headers = nullptr;
  for (const auto& h : r.headers) headers = curl_slist_append(headers, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // the path exactly as the test wrote it
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  if (r.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (r.body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, r.body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body->size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, collectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out.headers);
  curl_slist* resolve = nullptr;
  if (!r.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, r.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    const auto port = r.url.substr(r.url.rfind(':') + 1, r.url.find('/', 8) - r.url.rfind(':') - 1);
    resolve = curl_slist_append(nullptr, ("localhost:" + port + ":127.0.0.1").c_str());
    curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) out.error = curl_easy_strerror(rc);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(curl);
  return out;
}

}  // namespace tlsrelay::http_test
