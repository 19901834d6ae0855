// Queue id generator; see queue_id.h.
#include "relay/queue/queue_id.h"

#include <chrono>
#include <mutex>
#include <random>

namespace tlsrelay {
namespace {

struct Generator {
  std::mutex mutex;
  uint64_t last_micros = 0;
  uint32_t sequence = 0;
  std::mt19937_64 random{std::random_device{}()};
};

Generator& generator() {
  static Generator g;
  return g;
}

void appendHex(std::string& out, uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kDigits[(value >> (4 * i)) & 0xF]);
}

}  // namespace

std::string formatQueueId(uint64_t micros, uint16_t sequence, uint32_t random) {
  std::string id;
  id.reserve(26);
  appendHex(id, micros, 14);  // 16^14 µs reaches past the year 4000
  appendHex(id, sequence, 4);
  appendHex(id, random, 8);
  return id;
}

std::string newQueueId() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  Generator& g = generator();
  std::lock_guard lock(g.mutex);
  // Never go backwards: a clock step back or many ids in one microsecond
  // reuse the last timestamp with the next sequence number.
  if (micros > g.last_micros) {
    g.last_micros = micros;
    g.sequence = 0;
  } else if (++g.sequence > 0xFFFF) {
    ++g.last_micros;
    g.sequence = 0;
  }
  return formatQueueId(g.last_micros, static_cast<uint16_t>(g.sequence), static_cast<uint32_t>(g.random()));
}

bool isValidQueueId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!ok) return false;
  }
  return true;
}

}  // namespace tlsrelay
