// Destination and host health: consecutive connection-level failures (no TCP
// connection, no greeting, a refused or timed-out session before EHLO) put a
// destination or a next-hop host in backoff, so new messages wait instead of
// starting fresh connection storms against a site that is down (Postfix marks
// such a destination "dead"; Exim keeps a retry database for hosts). A
// destination in backoff gets no connection until the backoff ends (then one
// run probes it); a host in backoff is tried after every healthy host of its
// destination. Any usable session clears the failures. Pure: the caller
// passes the time; `tlsrelay queue list` shows the state.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "relay/config/config.h"  // BackoffConfig

namespace tlsrelay {

class DestinationHealth {
 public:
  explicit DestinationHealth(BackoffConfig config = {});
  void configure(BackoffConfig config) { config_ = config; }

  // A delivery run to `destination` ended. `unreachable`: it tried connections
  // and none reached a usable session; `connected`: at least one did. A run that
  // tried no connection (DNS failure, every hop ruled out by TLS policy) says
  // nothing about health. Returns the end of the destination's backoff (unix
  // seconds) or 0 when it is not in backoff.
  int64_t runEnded(const std::string& destination, bool unreachable, bool connected, const std::string& error,
                   int64_t now);
  // One connection to `host` ("ip:port") ended.
  void hostResult(const std::string& host, bool reachable, const std::string& error, int64_t now);

  int64_t destinationBackoffUntil(const std::string& destination, int64_t now) const;
  std::set<std::string> hostsInBackoff(int64_t now) const;
  void clear();  // `queue flush`: the operator says try everything now

  struct State {
    std::string name;
    bool host = false;  // a next-hop host, else a destination (queue key)
    int failures = 0;   // consecutive
    int64_t until = 0;  // end of the backoff; 0 = below the threshold
    std::string last_error;
  };
  std::vector<State> list(int64_t now) const;  // everything with a failure on record

 private:
  struct Entry {
    int failures = 0;
    int64_t until = 0;
    int64_t last_failure = 0;
    std::string last_error;
  };
  void failed(std::map<std::string, Entry>& table, const std::string& name, const std::string& error,
              int64_t now);
  void prune(std::map<std::string, Entry>& table, int64_t now);

  BackoffConfig config_;
  std::map<std::string, Entry> destinations_;
  std::map<std::string, Entry> hosts_;
};

}  // namespace tlsrelay
