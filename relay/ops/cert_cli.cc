// See cert_cli.h.
#include "relay/ops/cert_cli.h"

#include <CLI/CLI.hpp>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "common/ascii.h"
#include "common/durable_file.h"
#include "common/time_format.h"
#include "relay/tls/certificate_generation.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

struct OutputFile {
  std::string option;  // "--cert", for messages
  std::string path;
};

bool parseAlgorithm(const std::string& text, CertificateKeyType& out) {
  std::string a = lowerAscii(text);
  if (a == "ec" || a == "ecdsa" || a == "p-256") {
    out = CertificateKeyType::EcdsaP256;
    return true;
  }
  if (a == "rsa") {
    out = CertificateKeyType::Rsa2048;
    return true;
  }
  return false;
}

// Checked before anything is written, so a refusal leaves no half-made pair.
bool outputsUsable(const std::vector<OutputFile>& files, bool force) {
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t j = i + 1; j < files.size(); ++j) {
      std::error_code ec_i, ec_j;
      if (fs::weakly_canonical(files[i].path, ec_i) == fs::weakly_canonical(files[j].path, ec_j)) {
        std::cerr << files[i].option << " and " << files[j].option << " must name different files\n";
        return false;
      }
    }
    std::error_code ec;
    if (!force && fs::exists(files[i].path, ec)) {
      std::cerr << files[i].path << " exists; refusing to replace it (pass --force to replace it)\n";
      return false;
    }
  }
  return true;
}

// The key and what was made from it, or neither: a pair that does not match
// would keep the relay from starting.
bool writePair(const std::string& key_path, const std::string& key_pem, const std::string& public_path,
               const std::string& public_pem) {
  for (const std::string& path : {key_path, public_path}) {
    fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
  }
  auto written = replaceFilesDurably({{key_path, key_pem, 0600}, {public_path, public_pem, 0644}});
  if (!written.ok()) {
    std::cerr << written.error().message << "\n";
    return false;
  }
  return true;
}

std::string joinNames(const SubjectAltNames& sans) {
  std::string out;
  for (const auto& d : sans.dns) out += (out.empty() ? "DNS:" : ", DNS:") + d;
  for (const auto& ip : sans.ip) out += (out.empty() ? "IP:" : ", IP:") + ip;
  return out;
}

// The shared first half of both commands: arguments checked, key made.
// Returns 0 and fills `key_pem`, or the exit code.
int prepareKey(const CertCommandArgs& args, const std::vector<OutputFile>& outputs, std::string& key_pem) {
  CertificateKeyType type;
  if (!parseAlgorithm(args.algorithm, type)) {
    std::cerr << "--algorithm must be ec (ECDSA P-256, the default) or rsa (RSA 2048)\n";
    return 2;
  }
  auto sans = subjectAltNamesFor({args.host, args.sans});
  if (!sans.ok()) {
    std::cerr << sans.error().message << "\n";
    return 2;
  }
  if (!outputsUsable(outputs, args.force)) return 1;
  auto key = generateServerKey(type);
  if (!key.ok()) {
    std::cerr << key.error().message << "\n";
    return 1;
  }
  key_pem = std::move(*key);
  return 0;
}

void wipe(std::string& secret) {
  std::fill(secret.begin(), secret.end(), '\0');
}

}  // namespace

int runCertSelfSigned(const CertCommandArgs& args) {
  if (args.days < 1 || args.days > 3650) {
    std::cerr << "--days must be between 1 and 3650\n";
    return 2;
  }
  std::string key_pem;
  if (int rc = prepareKey(args, {{"--cert", args.cert_file}, {"--key", args.key_file}}, key_pem); rc != 0)
    return rc;
  auto cert = makeSelfSignedCertificate(key_pem, {args.host, args.sans}, args.days,
                                        static_cast<int64_t>(::time(nullptr)));
  if (!cert.ok()) {
    wipe(key_pem);
    std::cerr << cert.error().message << "\n";
    return cert.error().message.rfind("--", 0) == 0 ? 2 : 1;
  }
  bool ok = writePair(args.key_file, key_pem, args.cert_file, *cert);
  wipe(key_pem);
  if (!ok) return 1;
  auto info = inspectCertificate(*cert);
  std::cout << "self-signed certificate written to " << args.cert_file << ", key to " << args.key_file
            << " (mode 0600)\n";
  if (info.ok())
    std::cout << "  subject:     CN=" << info->subject_cn << "\n"
              << "  names:       " << joinNames(info->alt_names) << "\n"
              << "  key:         " << info->key_description << "\n"
              << "  valid until: " << (info->not_after > 0 ? iso8601Utc(info->not_after) : "unreadable")
              << "\n"
              << "  SHA-256:     " << info->sha256_fingerprint << "\n";
  std::cout << "use it in relay.toml:\n  [tls]\n  certificate = \"" << args.cert_file << "\"\n  key = \""
            << args.key_file << "\"\n";
  return 0;
}

int runCertRequest(const CertCommandArgs& args) {
  std::string key_pem;
  if (int rc = prepareKey(args, {{"--csr", args.csr_file}, {"--key", args.key_file}}, key_pem); rc != 0)
    return rc;
  auto csr = makeCertificateRequest(key_pem, {args.host, args.sans});
  if (!csr.ok()) {
    wipe(key_pem);
    std::cerr << csr.error().message << "\n";
    return csr.error().message.rfind("--", 0) == 0 ? 2 : 1;
  }
  bool ok = writePair(args.key_file, key_pem, args.csr_file, *csr);
  wipe(key_pem);
  if (!ok) return 1;
  auto info = inspectCertificateRequest(*csr);
  std::cout << "certificate request written to " << args.csr_file << ", key to " << args.key_file
            << " (mode 0600)\n";
  if (info.ok())
    std::cout << "  subject: CN=" << info->subject_cn << "\n"
              << "  names:   " << joinNames(info->alt_names) << "\n"
              << "  key:     " << info->key_description << "\n";
  std::cout << "send " << args.csr_file << " to your CA; install the certificate it returns (with its chain) "
            << "as [tls] certificate and keep " << args.key_file << " as [tls] key\n";
  return 0;
}

CertCommands::CertCommands(CLI::App& app) {
  CLI::App* cert = app.add_subcommand("cert", "inbound TLS server certificates");
  cert->require_subcommand(1);
  selfsigned_ = cert->add_subcommand("selfsigned", "make a key and a self-signed server certificate");
  request_ = cert->add_subcommand("request", "make a key and a certificate request (PKCS#10) for a CA");
  for (CLI::App* sub : {selfsigned_, request_}) {
    sub->add_option("--host", args_.host, "the relay's host name: subject CN and first DNS name")->required();
    sub->add_option("--san", args_.sans, "a further name: host name, *.domain or IP address (repeatable)");
    sub->add_option("--key", args_.key_file, "private key file to write (PEM, mode 0600)")->required();
    sub->add_option("--algorithm", args_.algorithm, "ec (ECDSA P-256, default) or rsa (RSA 2048)");
    sub->add_flag("--force", args_.force, "replace existing files");
  }
  selfsigned_->add_option("--cert", args_.cert_file, "certificate file to write (PEM)")->required();
  selfsigned_->add_option("--days", args_.days, "validity in days (default 825)");
  request_->add_option("--csr", args_.csr_file, "request file to write (PEM)")->required();
}

bool CertCommands::parsed() const {
  return selfsigned_->parsed() || request_->parsed();
}

int CertCommands::run() const {
  return selfsigned_->parsed() ? runCertSelfSigned(args_) : runCertRequest(args_);
}

}  // namespace tlsrelay
