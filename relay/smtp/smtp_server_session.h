// The inbound SMTP server session (RFC 5321 with PIPELINING 2920, STARTTLS
// 3207, AUTH 4954, SIZE 1870, 8BITMIME 6152, ENHANCEDSTATUSCODES 2034,
// SMTPUTF8 6531, DSN 3461, REQUIRETLS 8689) as a sans-I/O state machine:
// bytes in, bytes and events out. The libuv adapter owns sockets, TLS, timers,
// password checks and the spool, and reports back through the complete*()
// style methods; every protocol rule is therefore testable with strings.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "message/envelope.h"
#include "relay/smtp/smtp_server_data_reader.h"

namespace tlsrelay {

struct SourcePolicy {  // evaluated per connection from CIDR rules by the adapter
  bool relay = false;  // may relay without AUTH
  bool allow_starttls = true;
  bool require_starttls = false;             // MAIL refused (530 5.7.0) until TLS
  bool require_starttls_before_auth = true;  // AUTH not advertised/refused before TLS
  bool allow_plaintext_auth = false;         // AUTH PLAIN/LOGIN over a clear connection
  // Sender domains this client may relay mail from ("example.com",
  // "*.example.com"); empty = any. The null sender (bounces) always may.
  std::vector<std::string> allowed_sender_domains;
};

struct ServerSessionConfig {
  std::string hostname;           // our name in banner / EHLO / Received
  size_t max_line_length = 4096;  // command line incl. CRLF; DATA lines get max(this, 1000)
  size_t max_recipients = 1000;
  uint64_t max_message_size = 50 * 1024 * 1024;  // SIZE advertised; enforced while streaming
  int max_errors = 10;                           // protocol errors before 421 + close
  bool tls_available = false;                    // a server certificate is configured
  bool implicit_tls = false;                     // connection already TLS from byte 0 (port 465 style)
  std::function<std::string()> new_queue_id;     // injected generator (tests pass a counter)
  std::function<int64_t()> now;                  // unix seconds, injected clock
  std::string session_id;                        // on every log line of the connection
  // RFC 5321 §4.1.3 user@[192.0.2.1]: taken (and delivered to that address)
  // only when the operator allows it; otherwise refused at RCPT, not bounced later.
  bool accept_address_literals = true;
  // RFC 5321 §6.3: a message with this many Received fields is looping (554 5.4.6).
  int max_received_headers = 100;
  // Where others mail TLS reports to us (lower case; "" = nowhere): taken
  // from any client, alone in its transaction, and read, never relayed.
  std::string local_report_address;
};

struct TlsInfo {
  std::string protocol, cipher;  // e.g. "TLSv1.3", "TLS_AES_256_GCM_SHA384"
};

struct ReceivedMessage {
  Envelope envelope;
  // Dot-unstuffed message with CRLF line ends, our Received: header field
  // prepended, without the final ".\r\n".
  std::string data;
  // Addressed to local_report_address (its only recipient): for the report
  // reader, never for the spool.
  bool local_report = false;
};

class SmtpServerSession {
 public:
  SmtpServerSession(ServerSessionConfig config, SourcePolicy source, std::string client_ip);

  // Queues the 220 banner. With implicit TLS the adapter calls it after the
  // handshake and passes the negotiated parameters (for the Received field).
  void start(std::optional<TlsInfo> implicit_tls_info = std::nullopt);
  void feed(std::string_view bytes);  // plaintext from the client (after TLS decryption)
  std::string takeOutput();           // bytes to send to the client (may be empty)

  enum class EventKind { StartTls, Authenticate, MessageReady, Close };
  struct Event {
    EventKind kind;
    std::string user, password;  // Authenticate (never log the password)
    ReceivedMessage message;     // MessageReady
  };
  // Poll after every feed()/completion call. For StartTls: send takeOutput()
  // in clear first, then start the handshake. For Close: flush output, close.
  std::optional<Event> nextEvent();

  // Completions. While one is awaited, buffered input is not processed.
  void tlsEstablished(const TlsInfo& info);  // call before feeding any decrypted byte
  void tlsFailed();
  void authResult(bool ok);
  void messageStored(bool ok, const std::string& detail);
  void timeout();  // the adapter's idle timer (currentTimeout()) fired

  std::chrono::seconds currentTimeout() const;
  bool closed() const;
  bool tlsActive() const;

  // Protocol states; public for tests and logs.
  enum class State {
    Connected,          // before start(): input is buffered, nothing is said
    AwaitHelo,          // greeting sent, no EHLO/HELO yet (also after STARTTLS)
    Ready,              // EHLO/HELO done, no transaction
    InMail,             // MAIL accepted, no recipient yet
    InRcpt,             // at least one recipient accepted
    Data,               // reading message content after 354
    AuthPlainResponse,  // 334 sent, waiting for the PLAIN response
    AuthLoginUser,      // 334 Username: sent
    AuthLoginPassword,  // 334 Password: sent
    WaitTls,            // StartTls event raised, waiting for tlsEstablished/tlsFailed
    WaitAuth,           // Authenticate event raised, waiting for authResult
    WaitStore,          // MessageReady raised, waiting for messageStored
    Closed,
  };
  State state() const { return state_; }
  static const char* stateName(State state);

 private:
  void enterState(State next);
  void processInput();
  bool waitingForCompletion() const;
  void handleLine(std::string_view line);
  void handleCommand(std::string_view line);
  void handleAuthResponse(std::string_view line);
  void onHelo(bool extended, const std::string& argument);
  void onMail(const std::string& argument);
  void onRcpt(const std::string& argument);
  bool senderDomainAllowed() const;
  void onData(const std::string& argument);
  void onStartTls(const std::string& argument);
  void onAuth(const std::string& argument);
  void finishData();
  void requestAuthentication(std::string user, std::string password);
  void finishPlainResponse(std::string_view base64);

  void reply(std::string_view text);       // one full reply, CRLF appended per line
  void replyError(std::string_view text);  // counts toward max_errors
  void closeWith(std::string_view text);
  void emit(Event event);
  void resetTransaction();
  bool authAllowedNow() const;
  bool inTransaction() const;
  std::string receivedHeader() const;
  int64_t nowSeconds() const;

  ServerSessionConfig config_;
  SourcePolicy source_;
  std::string client_ip_;
  State state_ = State::Connected;

  std::string input_;   // bytes fed and not yet processed
  std::string output_;  // replies not yet taken
  std::deque<Event> events_;
  bool discarding_long_line_ = false;  // skipping the rest of an over-long command line
  int errors_ = 0;

  bool tls_active_ = false;
  TlsInfo tls_info_;
  bool esmtp_ = false;  // EHLO (not HELO): parameters allowed
  std::string helo_;
  bool authenticated_ = false;
  std::string auth_user_;
  std::string auth_login_user_;    // between the two AUTH LOGIN steps
  std::string pending_auth_user_;  // while WaitAuth
  std::string pending_queue_id_;   // while WaitStore

  Envelope envelope_;          // the transaction being built
  bool local_report_ = false;  // its recipient is local_report_address
  smtp::DataReader data_reader_;
};

}  // namespace tlsrelay
