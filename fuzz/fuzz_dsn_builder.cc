// libFuzzer target: hostile bytes (a returned message, remote replies,
// addresses) through the DSN builder, and the accounting log's field
// sanitiser and CSV reader. Checks the invariants that keep a DSN from being
// turned against its reader: CRLF-only line ends, no injected header or MIME
// part, a boundary that does not occur in the content it encloses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>

#include "message/dsn_builder.h"
#include "message/mime.h"
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
  // The header section is exactly the fields we write, in order.
  static const char* kFields[] = {"From",           "To",           "Subject",     "Date", "Message-ID",
                                  "Auto-Submitted", "MIME-Version", "Content-Type"};
  std::string_view header = headerSection(m);
  size_t field_count = 0;
  for (size_t start = 0; start < header.size();) {
    size_t end = header.find("\r\n", start);
    std::string_view line = header.substr(start, end - start);
    start = end + 2;
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') continue;  // folded
    check(field_count < std::size(kFields));
    std::string name = std::string(kFields[field_count++]) + ":";
    check(line.compare(0, name.size(), name) == 0);
  }
  check(field_count == std::size(kFields));
  // A MIME reader sees our parts and no others, and the boundary closes the message once.
  auto parsed = parseMimeMessage(m);
  check(parsed.has_value() && parsed->content_type == "multipart/report");
  std::string boundary;
  for (const auto& [name, value] : parsed->params)
    if (name == "boundary") boundary = value;
  check(!boundary.empty());
  const size_t expected_parts = in.original_message.empty() ? 2 : 3;
  check(parsed->leaves.size() == expected_parts);
  check(parsed->leaves[0].content_type == "text/plain");
  check(parsed->leaves[1].content_type == "message/delivery-status");
  check(m.size() >= boundary.size() + 6 &&
        m.compare(m.size() - boundary.size() - 6, std::string::npos, "--" + boundary + "--\r\n") == 0);
  check(m.find("\r\n--" + boundary + "--") == m.size() - boundary.size() - 6 - 2);

  std::string field = sanitizeAccountingField(std::string_view(reinterpret_cast<const char*>(data), size));
  for (char c : field) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  auto rows = parseAccountingCsv(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)rows;
  return 0;
}
