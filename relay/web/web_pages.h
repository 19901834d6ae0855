// The web view's pages, each rendered from the same JSON the /api/* routes
// answer with (relay/ops/admin_api.h, reporting/report_summary_json.h, the
// RFC 8460 documents), so a number on a page and in the API never differ.
// Pure functions: no I/O, any thread.
//
//   /                                overview: status, busiest queues, sessions per day
//   /queue                           queue per destination
//   /queue/destination?name=D        the messages queued for one destination
//   /queue/<queue-id>                one message and its recipients' attempts
//   /destinations                    TLS posture per destination, backoff
//   /reports                         reports we send, per day and policy domain
//   /reports/<day>/<domain>          one of them: policies, failure details, JSON
//   /reports/received                reports others sent us
//   /reports/received/group?...      one (day, organization, domain): its reports
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace tlsrelay::web {

// status: encodeDaemonStatus's object; queue: queueJson; sent: the
// /api/reports object, or null when reporting is off.
std::string overviewPage(const nlohmann::json& status, const nlohmann::json& queue,
                         const nlohmann::json& sent);
std::string queuePage(const nlohmann::json& queue);
// messages: messageJson objects, oldest first; `shown_of` = how many are queued there.
std::string destinationQueuePage(const std::string& destination, const nlohmann::json& messages,
                                 size_t queued_there, int64_t now);
std::string messagePage(const nlohmann::json& message, int64_t now);
// posture: postureJson; health: healthJson.
std::string destinationsPage(const nlohmann::json& posture, const nlohmann::json& health, int64_t now);
std::string sentReportsPage(const nlohmann::json& sent);
// document: the RFC 8460 report the counts make.
std::string sentReportPage(const std::string& day, const std::string& domain, const nlohmann::json& document);
std::string receivedReportsPage(const nlohmann::json& received);
// reports: the RFC 8460 documents as received (unparsable ones as strings).
std::string receivedGroupPage(const std::string& day, const std::string& organization,
                              const std::string& domain, const nlohmann::json& reports);
// A page saying what went wrong (404, 503) in the same frame.
std::string problemPage(const std::string& title, const std::string& detail);

}  // namespace tlsrelay::web
