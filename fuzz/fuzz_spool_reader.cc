// Fuzzes the spool file reader: arbitrary bytes as a message file, as a run of
// state records and as an envelope. Must never crash, hang or over-allocate;
// an envelope that decodes must re-encode to the same bytes (the encoding is
// canonical, so a parse that "succeeds" on damaged input would show here).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/queue/spool_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tlsrelay::spool_format;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto parsed = parseMessage(bytes);
  if (parsed.ok()) {
    if (parsed->valid_length > size || parsed->data.size() != parsed->header.data_length) __builtin_trap();
    if (parsed->envelope.size != parsed->header.data_length) __builtin_trap();
  }

  auto journal = parseJournal(bytes);
  if (journal.ok() && journal->valid_length > size) __builtin_trap();

  auto envelope = decodeEnvelope(bytes);
  if (envelope.ok() && encodeEnvelope(*envelope) != bytes) __builtin_trap();
  return 0;
}
