// The JSON the admin endpoint's /api/* answers with (and the control socket's
// "health"), built from what the running daemon holds. Loop thread only: the
// queue lives there. Shapes are documented in docs/operations.md.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "relay/queue/delivery_engine.h"
#include "reporting/tls_posture.h"

namespace tlsrelay {

const char* stateName(RecipientState state);  // "pending", "delivered", "failed"

// Destinations and hosts with connection failures on record.
nlohmann::json healthJson(const std::vector<DestinationHealth::State>& states);
// {"messages": N, "destinations": [{destination, messages, recipients,
// oldest_age_seconds, connections, failures?, backoff_until?, last_error?}]}
nlohmann::json queueJson(const DeliveryEngine& engine, int64_t now);
// [{domain, sessions: {dane, mta-sts, policy, opportunistic, plaintext, failed}, last_session}]
nlohmann::json postureJson(const std::vector<DestinationPosture>& postures);
// One queued message: envelope, flags and each recipient's state; nullopt when
// it is not queued.
std::optional<nlohmann::json> messageJson(const DeliveryEngine& engine, const std::string& queue_id);

}  // namespace tlsrelay
