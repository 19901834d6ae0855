// Building the DKIM stages' inputs from [dkim]: the signing keys (files read
// and checked here, so a bad key is a configuration error at start and on
// SIGHUP, never a surprise at the first message) and the source rule that
// decides whose mail may carry our signature.
#pragma once

#include <memory>
#include <vector>

#include "common/result.h"
#include "dkim/signing_stage.h"
#include "relay/config/config.h"

namespace tlsrelay {

// One keyed entry per [[dkim.sign]]; the error names the file, line and key file.
Result<std::vector<dkim::SigningStage::KeyedEntry>> loadDkimSigners(const RelayConfig& cfg);

// Authenticated clients, relay-permitted networks (by the rules of `cfg`) and
// the relay's own messages.
dkim::SigningStage::SourceCheck signingSourceCheck(std::shared_ptr<const RelayConfig> cfg);

// A key file that group or others can read: the text of a warning, or "".
std::string keyFilePermissionProblem(const std::string& path);

}  // namespace tlsrelay
