// libFuzzer target: hostile bytes (a returned message, remote replies,
// addresses) through the DSN builder, and the accounting log's field
// sanitiser and CSV reader. Checks the invariants that keep a DSN from being
// turned against its reader: CRLF-only line ends, no injected header or MIME
// part, a boundary that does not occur in the content it encloses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "message/dsn_builder.h"
#include "reporting/accounting_log.h"

using namespace tlsrelay;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Splits the input at NUL bytes into up to `n` pieces.
std::string_view piece(std::string_view& rest) {
  size_t nul = rest.find('\0');
  std::string_view out = rest.substr(0, nul);
  rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  DsnInput in;
  in.reporting_mta = "relay.example.org";
  in.original_queue_id = "Q1";
  in.original_sender = std::string(piece(rest));
  in.envid = std::string(piece(rest));
  in.ret = std::string(piece(rest));
  in.boundary_seed = "seed";
  in.now = 1800000000;
  DsnRecipient r;
  r.address = std::string(piece(rest));
  r.orcpt = std::string(piece(rest));
  r.action = std::string(piece(rest));
  r.status = std::string(piece(rest));
  r.remote_mta = std::string(piece(rest));
  r.diagnostic = std::string(piece(rest));
  in.recipients.push_back(r);
  in.original_message = rest;
  DsnMessage dsn = buildDsn(in);
  const std::string& m = dsn.data;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') check(i > 0 && m[i - 1] == '\r');
    if (m[i] == '\r') check(i + 1 < m.size() && m[i + 1] == '\n');
  }
  // The header section is exactly the fields we write.
  std::string_view header = headerSection(m);
  size_t lines = 0;
  for (char c : header) lines += c == '\n';
  check(lines == 10);  // 9 fields (Content-Type folded over 2 lines) + the empty line
  // The boundary is announced once and closes the message.
  size_t b = m.find("\r\n\tboundary=\"");  // our folded Content-Type line; the To: line may hold anything
  check(b != std::string::npos && b < header.size());
  b += 13;
  std::string boundary = m.substr(b, m.find('"', b) - b);
  check(m.size() >= boundary.size() + 6 &&
        m.compare(m.size() - boundary.size() - 6, std::string::npos, "--" + boundary + "--\r\n") == 0);
  check(m.find("\r\n--" + boundary + "--") == m.size() - boundary.size() - 6 - 2);

  std::string field = sanitizeAccountingField(std::string_view(reinterpret_cast<const char*>(data), size));
  for (char c : field) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  auto rows = parseAccountingCsv(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)rows;
  return 0;
}
