// See admin_api.h.
#include "relay/ops/admin_api.h"

#include <map>

namespace tlsrelay {

const char* stateName(RecipientState s) {
  switch (s) {
    case RecipientState::Pending:
      return "pending";
    case RecipientState::Delivered:
      return "delivered";
    case RecipientState::Failed:
      return "failed";
  }
  return "pending";
}

nlohmann::json healthJson(const std::vector<DestinationHealth::State>& states) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& st : states)
    out.push_back({{"name", st.name},
                   {"kind", st.host ? "host" : "destination"},
                   {"failures", st.failures},
                   {"backoff_until", st.until},
                   {"last_error", st.last_error}});
  return out;
}

nlohmann::json queueJson(const DeliveryEngine& engine, int64_t now) {
  std::map<std::string, DestinationHealth::State> health;
  for (auto& st : engine.health())
    if (!st.host) health[st.name] = st;
  nlohmann::json destinations = nlohmann::json::array();
  for (const auto& d : engine.queueSummary()) {
    nlohmann::json j = {{"destination", d.destination},
                        {"messages", d.messages},
                        {"recipients", d.recipients},
                        {"oldest_age_seconds", std::max<int64_t>(0, now - d.oldest_received)},
                        {"oldest_queue_id", d.oldest_queue_id},
                        {"connections", d.connections}};
    if (auto it = health.find(d.destination); it != health.end()) {
      j["failures"] = it->second.failures;
      j["backoff_until"] = it->second.until;
      j["last_error"] = it->second.last_error;
    }
    destinations.push_back(std::move(j));
  }
  return {{"messages", engine.queuedMessages()}, {"destinations", std::move(destinations)}};
}

nlohmann::json postureJson(const std::vector<DestinationPosture>& postures) {
  nlohmann::json out = nlohmann::json::array();
  for (const DestinationPosture& p : postures) {
    nlohmann::json sessions = nlohmann::json::object();
    for (size_t i = 0; i < kTlsPostureCount; ++i)
      sessions[toString(static_cast<TlsPosture>(i))] = p.sessions[i];
    out.push_back(
        {{"domain", p.domain}, {"sessions", std::move(sessions)}, {"last_session", p.last_session}});
  }
  return out;
}

std::optional<nlohmann::json> messageJson(const DeliveryEngine& engine, const std::string& queue_id) {
  auto env = engine.findMessage(queue_id);
  if (!env) return std::nullopt;
  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& r : env->recipients)
    recipients.push_back({{"address", r.address},
                          {"state", stateName(r.state)},
                          {"attempts", r.attempts},
                          {"last_response", r.last_response}});
  return nlohmann::json{{"queue_id", env->queue_id},
                        {"sender", env->mail_from},
                        {"received_at", env->received_at},
                        {"next_attempt_at", env->next_attempt_at},
                        {"size", env->size},
                        {"client_ip", env->client_ip},
                        {"requiretls", env->flags.requiretls},
                        {"tls_required_no", env->flags.tls_required_no},
                        {"recipients", std::move(recipients)}};
}

}  // namespace tlsrelay
