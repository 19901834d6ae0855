// RFC 3463 enhanced mail system status codes as a value: class.subject.detail
// (e.g. 4.7.5). Every place that chooses, compares or prints a status uses this
// type, so "is this a security failure" is a field test, never a string prefix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsrelay {

struct EnhancedStatus {
  // RFC 3463 §3.1: 2 success, 4 persistent transient failure, 5 permanent failure.
  uint8_t klass = 4;
  uint16_t subject = 0;  // 0..999; §3.2: 1 addressing, 4 network/routing, 7 security, ...
  uint16_t detail = 0;   // 0..999

  bool isSuccess() const { return klass == 2; }
  bool isTransient() const { return klass == 4; }
  bool isPermanent() const { return klass == 5; }
  bool isSecurity() const { return subject == 7; }  // X.7.x: security or policy status
  // The same subject and detail in another class (RFC 3463 §3.1: the class digit must
  // agree with the reply it accompanies).
  EnhancedStatus withClass(uint8_t k) const { return EnhancedStatus{k, subject, detail}; }

  std::string toString() const;  // "4.7.5"
  // "4.7.5" (no surrounding text); nullopt for anything else, including class 3
  // and numbers above 999.
  static std::optional<EnhancedStatus> parse(std::string_view text);

  bool operator==(const EnhancedStatus&) const = default;
};

// The codes the relay chooses itself, named after RFC 3463 §3 (and RFC 8689 §5).
namespace status {
inline constexpr EnhancedStatus kDelivered{2, 0, 0};
inline constexpr EnhancedStatus kTransient{4, 0, 0};  // other or undefined status
inline constexpr EnhancedStatus kPermanent{5, 0, 0};
inline constexpr EnhancedStatus kBadDestinationSystem{5, 1, 2};  // domain does not exist
inline constexpr EnhancedStatus kNullMx{5, 1, 10};               // RFC 7505 §4.2
inline constexpr EnhancedStatus kLocalError{4, 3, 0};            // other mail system status
inline constexpr EnhancedStatus kSystemConfig{4, 3, 5};          // system incorrectly configured
inline constexpr EnhancedStatus kNoAnswer{4, 4, 1};              // no answer from host
inline constexpr EnhancedStatus kBadConnection{4, 4, 2};         // bad connection
inline constexpr EnhancedStatus kRoutingFailure{4, 4, 3};        // directory server failure (DNS)
inline constexpr EnhancedStatus kLoopDetected{5, 4, 6};          // routing loop detected
inline constexpr EnhancedStatus kExpired{4, 4, 7};               // delivery time expired
inline constexpr EnhancedStatus kSecurityNotSupported{4, 7, 4};  // security features not supported
inline constexpr EnhancedStatus kCryptoFailure{4, 7, 5};         // cryptographic failure
inline constexpr EnhancedStatus kRequireTls{4, 7, 10};           // RFC 8689 §5: REQUIRETLS not honoured
inline constexpr EnhancedStatus kRequireTlsFailed{5, 7, 10};     // ... finally
}  // namespace status

}  // namespace tlsrelay
