// Reading policy.d/: the directory walk and file reads that turn a folder of
// per-domain policy files into one PolicySet. The parsing itself is pure and
// lives in policy/domain_policy.h; this is the I/O around it.
#pragma once

#include <string>

#include "common/result.h"
#include "policy/domain_policy.h"

namespace tlsrelay {

// Loads every *.toml file in `dir` (sorted by name, dot-files skipped). All
// mistakes in all files are collected, one "file:line: key: message" per line
// of Error.message. An empty `dir` gives the built-in policy only.
Result<PolicySet> loadPolicyDirectory(const std::string& dir);

}  // namespace tlsrelay
