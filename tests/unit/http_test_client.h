// A small blocking HTTP client for tests that query a server on loopback:
// one request per call through libcurl (no proxy, a 10 s limit), the status,
// body and response header fields back. Call curl_global_init() once before
// the first request (SetUpTestSuite) and run it on a thread other than the
// server's loop.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tlsrelay::http_test {

struct HttpTestReply {
  long status = 0;  // 0 when no response came
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; a repeated field's values one per line
  std::string error;                           // curl's, when the transfer failed
};

struct HttpTestRequest {
  std::string url;  // as sent: escape what must be escaped yourself
  std::string method = "GET";
  const std::string* body = nullptr;  // sent as is (binary safe); null = no body
  std::vector<std::string> headers;   // "Name: value"
  std::string ca_file;                // HTTPS: trust this CA and resolve localhost to 127.0.0.1
};

HttpTestReply httpFetch(const HttpTestRequest& request);

}  // namespace tlsrelay::http_test
