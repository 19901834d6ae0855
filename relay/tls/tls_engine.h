// One TLS connection as a sans-I/O engine: ciphertext in from the socket,
// plaintext out to the protocol core, and the reverse. The libuv adapter moves
// bytes; this class does the crypto over memory BIOs and never touches a socket,
// so every behaviour is testable by pumping bytes between two engines.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dnssec/dns_answer.h"
#include "relay/tls/tls_context.h"

namespace tlsrelay {

struct PeerVerification {
  bool verified = false;  // chain OK (or DANE match) and, if a host name was given, name matched
  std::string error;      // OpenSSL verify error text, e.g. "certificate has expired",
                          // "unable to get local issuer certificate", "hostname mismatch"
  int error_code = 0;     // X509_V_ERR_* value (0 = OK)
  bool dane = false;      // verified through a matching TLSA record (enableDane)
  // Why verification failed, in the terms RFC 8460 reports need (so callers
  // need no OpenSSL error codes).
  enum class Failure { None, HostMismatch, Expired, NotTrusted, DaneMismatch } failure = Failure::None;
};

using dns::TlsaRecord;

class TlsEngine {
 public:
  enum class HandshakeState { Pending, Done, Failed };

  // Never returns null; if OpenSSL cannot allocate, the engine starts failed().
  static std::unique_ptr<TlsEngine> server(std::shared_ptr<TlsContext> ctx);
  // sni_host: sent as SNI unless empty or an IP literal (RFC 6066 §3).
  // verify_host: reference identifier for the certificate name check; "" = no name check.
  static std::unique_ptr<TlsEngine> client(std::shared_ptr<TlsContext> ctx, const std::string& sni_host,
                                           const std::string& verify_host);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // Client only, before the first handshake() call: authenticate the server by
  // these TLSA records (RFC 7671/7672) instead of the CA bundle. base_domain is the
  // TLSA base domain (the MX host name); verification() then reports dane=true on a
  // match. An error means no record was usable (caller treats that as "no TLSA").
  // extra_names: further reference identifiers for DANE-TA name checks (RFC 7672
  // §3.2.2: the MX host name and the recipient domain).
  Status enableDane(const std::string& base_domain, const std::vector<TlsaRecord>& records,
                    const std::vector<std::string>& extra_names = {});

  // Client side TLS session resumption across connections. exportSession()
  // returns opaque bytes once the server has issued a resumable session (with
  // TLS 1.3 that is after the first readPlaintext() following the handshake),
  // "" otherwise. importSession() must precede handshake(); false = unusable
  // (ignored, a full handshake follows). Key stored sessions by destination and
  // verification policy: a resumed session keeps the original verify result.
  std::string exportSession() const;
  bool importSession(std::string_view opaque);

  void feedCiphertext(std::string_view bytes);  // from the socket
  std::string takeCiphertext();                 // to the socket ("" if nothing pending)

  // Drives the handshake; call after every feedCiphertext() until Done or Failed,
  // and send takeCiphertext() after each call.
  HandshakeState handshake();

  // Decrypted application data available now ("" if none). Sets peerClosed() on
  // close_notify and failed() on a protocol error.
  std::string readPlaintext();
  // Encrypts bytes; ciphertext appears in takeCiphertext(). Before the handshake
  // is Done, bytes are queued and sent once it completes.
  void writePlaintext(std::string_view bytes);
  // Sends close_notify (appears in takeCiphertext()).
  void shutdown();

  bool handshakeDone() const;
  bool peerClosed() const;
  bool failed() const;
  std::string error() const;

  std::string protocol() const;    // "TLSv1.3" ("" before the handshake)
  std::string cipher() const;      // "TLS_AES_256_GCM_SHA384"
  std::string serverName() const;  // server side: the SNI the client sent ("" if none)
  bool sessionReused() const;
  // Client side: the result of chain + host-name (or DANE) verification. The
  // handshake does not fail on verification errors; policy decides (the caller
  // aborts when verify=pkix and !verified).
  PeerVerification verification() const;

 private:
  struct Impl;
  explicit TlsEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlsrelay
