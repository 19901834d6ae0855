// DKIM signing throughput on one core: signs a 4 KiB message with a fresh
// RSA-2048 and an Ed25519 key through dkim::Signer (libopendkim) for a few
// seconds each and prints signatures per second, to set beside
// `openssl speed -seconds 5 rsa2048 ed25519` (the sign rate of the bare key
// operation: the physical limit). Not a test.
//
//   build/bench/dkim_sign_bench [--seconds S]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dkim/dkim_signer.h"
#include "relay/tls/key_generation.h"

using namespace tlsrelay;

namespace {

double signRate(KeyAlgorithm alg, const std::string& message, double seconds) {
  auto key = generateKey(alg, 2048);
  if (!key.ok()) {
    std::fprintf(stderr, "keygen: %s\n", key.error().message.c_str());
    std::exit(1);
  }
  auto signer = dkim::Signer::create({"example.com", "bench", key->private_key_pem}, {});
  if (!signer.ok()) {
    std::fprintf(stderr, "signer: %s\n", signer.error().message.c_str());
    std::exit(1);
  }
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto deadline = start + std::chrono::duration<double>(seconds);
  size_t n = 0;
  while (clock::now() < deadline) {
    for (int i = 0; i < 16; ++i) {
      if (!(*signer)->sign(message).ok()) std::exit(1);
      ++n;
    }
  }
  return static_cast<double>(n) / std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
  std::string message =
      "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: benchmark\r\n"
      "Date: Mon, 07 Dec 2026 04:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n\r\n";
  while (message.size() < 4096) message += "The quick brown fox jumps over the lazy dog, 4 KiB of it.\r\n";
  std::printf("rsa-2048 signatures/s (one core): %.1f\n", signRate(KeyAlgorithm::Rsa, message, seconds));
  std::printf("ed25519 signatures/s (one core): %.1f\n", signRate(KeyAlgorithm::Ed25519, message, seconds));
  return 0;
}
