#include "relay/ops/dkim_cli.h"

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/ascii.h"
#include "common/durable_file.h"
#include "common/file_read.h"
#include "dkim/dkim_key_record.h"
#include "dkim/dkim_verifier.h"
#include "dkim/resolver_key_source.h"
#include "dkim/verification_results.h"
#include "relay/ops/resolver_setup.h"
#include "relay/ops/runtime_config.h"
#include "relay/tls/key_generation.h"

namespace tlsrelay {
namespace {

dkim::KeyRecord recordFor(const GeneratedKey& key, bool tlsrpt) {
  return {key.algorithm == KeyAlgorithm::Rsa ? dkim::KeyType::Rsa : dkim::KeyType::Ed25519, key.public_key,
          tlsrpt};
}

int runRecord(const DkimCommandArgs& args) {
  auto pem = readWholeFile(args.key_file, 64 * 1024);
  if (!pem.ok()) {
    std::cerr << pem.error().message << "\n";
    return 1;
  }
  auto key = inspectPrivateKey(*pem);
  std::fill(pem->begin(), pem->end(), '\0');
  if (!key.ok()) {
    std::cerr << args.key_file << ": " << key.error().message << "\n";
    return 1;
  }
  std::cout << dkim::zoneFileEntry(args.selector, args.domain, recordFor(*key, args.tlsrpt)) << "\n";
  return 0;
}

// Files on disk (a maildir, a saved .eml) usually have bare LF line ends;
// the wire form DKIM canonicalises has CRLF.
std::string withCrlf(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out.push_back('\r');
    out.push_back(text[i]);
  }
  return out;
}

int runVerify(const DkimCommandArgs& args, const std::string& config_path) {
  auto message = readWholeFile(args.message_file, 256 << 20);
  if (!message.ok()) {
    std::cerr << message.error().message << "\n";
    return 1;
  }
  auto cfg = loadRelayConfig(config_path);
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 2;
  }
  auto resolver = makeConfiguredResolver(cfg->dns, [] { return static_cast<int64_t>(::time(nullptr)); });
  if (!resolver.ok()) {
    std::cerr << resolver.error().message << "\n";
    return 2;
  }
  auto verifier = dkim::Verifier::create();
  if (!verifier.ok()) {
    std::cerr << verifier.error().message << "\n";
    return 2;
  }
  dkim::ResolverKeySource keys(**resolver);
  std::vector<dkim::SignatureVerdict> verdicts = (*verifier)->verify(withCrlf(*message), keys);
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : verdicts) {
      out.push_back({{"result", dkim::verdictName(v.verdict)},
                     {"reason", v.reason},
                     {"domain", v.domain},
                     {"identity", v.identity},
                     {"selector", v.selector},
                     {"algorithm", v.algorithm},
                     {"testing", v.testing},
                     {"key_bits", v.key_bits},
                     {"key_dnssec", v.key_dnssec == dkim::KeyDnssec::Secure ? "secure" : "insecure"}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << authenticationResultsField(cfg->dkim.authserv_id, dkim::toAuthResults(verdicts));
  }
  bool all_pass = !verdicts.empty();
  for (const auto& v : verdicts) all_pass = all_pass && v.verdict == dkim::Verdict::Pass;
  return all_pass ? 0 : 1;
}

}  // namespace

int runDkimKeygen(const DkimCommandArgs& args) {
  std::string domain = normalizeDomain(args.domain);
  if (domain.empty() || domain.find('.') == std::string::npos) {
    std::cerr << "--domain must be a domain name such as example.com\n";
    return 2;
  }
  if (!dkim::isValidSelector(args.selector)) {
    std::cerr << "--selector must be letters, digits and hyphens, in dot-separated labels\n";
    return 2;
  }
  std::string algorithm = lowerAscii(args.algorithm);
  KeyAlgorithm kind;
  if (algorithm == "rsa" || algorithm == "rsa-sha256") {
    kind = KeyAlgorithm::Rsa;
    if (args.bits != 1024 && args.bits != 2048 && args.bits != 3072 && args.bits != 4096) {
      std::cerr << "--bits must be 1024, 2048, 3072 or 4096 (RFC 8301: at least 1024; 2048 recommended)\n";
      return 2;
    }
  } else if (algorithm == "ed25519" || algorithm == "ed25519-sha256") {
    kind = KeyAlgorithm::Ed25519;
  } else {
    std::cerr << "--algorithm must be rsa or ed25519\n";
    return 2;
  }
  std::string out = args.out.empty() ? domain + "." + lowerAscii(args.selector) + ".key" : args.out;
  std::error_code ec;
  if (!args.force && std::filesystem::exists(out, ec)) {
    std::cerr << out << " exists; refusing to replace a key (pass --force to replace it)\n";
    return 1;
  }
  auto key = generateKey(kind, args.bits);
  if (!key.ok()) {
    std::cerr << key.error().message << "\n";
    return 1;
  }
  auto written = replaceFileDurably(out, key->private_key_pem, 0600);
  std::fill(key->private_key_pem.begin(), key->private_key_pem.end(), '\0');
  if (!written.ok()) {
    std::cerr << written.error().message << "\n";
    return 1;
  }
  // The record on stdout alone, so it can be piped into a zone file; the
  // rest on stderr.
  std::cout << dkim::zoneFileEntry(args.selector, domain, recordFor(*key, args.tlsrpt)) << "\n";
  std::cerr << "private key written to " << out << " (mode 0600)\n"
            << "publish the TXT record above, then add to relay.toml:\n"
            << "  [[dkim.sign]]\n  domain = \"" << domain << "\"\n  selector = \""
            << lowerAscii(args.selector) << "\"\n  key_file = \""
            << std::filesystem::absolute(out, ec).string() << "\"\n";
  if (kind == KeyAlgorithm::Ed25519)
    std::cerr << "note: some large receivers still ignore Ed25519 signatures; sign with an RSA key as well\n";
  return 0;
}

DkimCommands::DkimCommands(CLI::App& app) {
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM keys and signatures");
  dkim->require_subcommand(1);
  keygen_ = dkim->add_subcommand("keygen", "make a signing key and print the DNS TXT record to publish");
  keygen_->add_option("--domain", args_.domain, "signing domain (d=)")->required();
  keygen_->add_option("--selector", args_.selector, "selector (s=)")->required();
  keygen_->add_option("--algorithm", args_.algorithm, "rsa (default) or ed25519");
  keygen_->add_option("--bits", args_.bits, "RSA key size: 1024, 2048 (default), 3072, 4096");
  keygen_->add_flag("--tlsrpt", args_.tlsrpt, "restrict the key to TLS reports (s=tlsrpt, RFC 8460 §3)");
  keygen_->add_option("--out", args_.out, "key file (default: <domain>.<selector>.key)");
  keygen_->add_flag("--force", args_.force, "replace an existing key file");
  record_ = dkim->add_subcommand("record", "print the DNS TXT record of an existing key file");
  record_->add_option("--key", args_.key_file, "PEM private key")->required();
  record_->add_option("--domain", args_.domain)->required();
  record_->add_option("--selector", args_.selector)->required();
  record_->add_flag("--tlsrpt", args_.tlsrpt, "add s=tlsrpt");
  verify_ = dkim->add_subcommand("verify", "check every DKIM signature of a message file against DNS");
  verify_->add_option("message", args_.message_file, "the message (RFC 5322, CRLF or LF)")->required();
  verify_->add_flag("--json", args_.json, "print JSON");
}

bool DkimCommands::parsed() const {
  return keygen_->parsed() || record_->parsed() || verify_->parsed();
}

int DkimCommands::run(const std::string& config_path) const {
  if (keygen_->parsed()) return runDkimKeygen(args_);
  if (record_->parsed()) return runRecord(args_);
  return runVerify(args_, config_path);
}

}  // namespace tlsrelay
