// `tlsrelay cert selfsigned | request`: the inbound TLS server certificate of
// a relay that has none yet (a container's first start), and a key plus
// PKCS#10 request to hand to a CA. The certificate work itself is in
// relay/tls/certificate_generation.h; this file does the checks and the files.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace tlsrelay {

struct CertCommandArgs {
  std::string host, cert_file, key_file, csr_file, algorithm = "ec";
  std::vector<std::string> sans;
  int days = 825;  // the longest validity Apple's TLS clients accept for a server certificate
  bool force = false;
};

class CertCommands {
 public:
  // Adds the "cert" subcommand and its children to `app`.
  explicit CertCommands(CLI::App& app);
  bool parsed() const;
  int run() const;

 private:
  CertCommandArgs args_;
  CLI::App* selfsigned_ = nullptr;
  CLI::App* request_ = nullptr;
};

// Exposed for tests. Both write the key with mode 0600 (the certificate and
// request 0644), refuse to replace an existing file unless `force`, and
// return the process exit code (2: bad arguments, 1: failure).
int runCertSelfSigned(const CertCommandArgs& args);
int runCertRequest(const CertCommandArgs& args);

}  // namespace tlsrelay
