// The smarthost AUTH credentials file ([delivery] smarthost_auth_file): its
// first line is "user:password" (split at the first ':', as Postfix's
// sasl_passwd). Errors name the file and the problem, never its content.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "relay/smtp/smtp_credentials.h"

namespace tlsrelay {

Result<SmtpCredentials> parseSmarthostCredentials(std::string_view text);
Result<SmtpCredentials> readSmarthostCredentials(const std::string& path);

}  // namespace tlsrelay
