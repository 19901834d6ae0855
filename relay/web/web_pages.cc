// See web_pages.h.
#include "relay/web/web_pages.h"

#include <algorithm>
#include <map>

#include "common/time_format.h"
#include "relay/web/day_chart.h"
#include "relay/web/html.h"

namespace tlsrelay::web {
namespace {

using nlohmann::json;

// Values from our own JSON; a missing or mistyped field shows as empty or 0
// rather than throwing in the middle of a page.
std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string n(int64_t v) {
  return std::to_string(v);
}

std::string when(int64_t unix_seconds) {
  return unix_seconds > 0 ? escape(iso8601Utc(unix_seconds)) : "<span class=\"muted\">—</span>";
}

std::string messageHref(const std::string& id) {
  return "/queue/" + urlComponent(id);
}

std::string sentReportHref(const std::string& day, const std::string& domain) {
  return "/reports/" + urlComponent(day) + "/" + urlComponent(domain);
}

std::string outcomeCell(const std::string& state) {
  const bool good = state == "sent" || state == "no-rua";
  const bool bad = state == "failed";
  return "<span class=\"" +
         std::string(good  ? "ok"
                     : bad ? "bad"
                           : "muted") +
         "\">" + escape(state) + "</span>";
}

// Sessions per day over every row of a report listing; with a period
// ("from", "to"), every day of it gets a bar, so a quiet day shows as one.
std::vector<DayBar> barsByDay(const json& rows, const char* ok_key, const char* failed_key,
                              const json& period = json()) {
  std::map<std::string, DayBar> by_day;
  auto from = parseUtcDay(str(period, "from")), to = parseUtcDay(str(period, "to"));
  if (from && to && *to - *from <= 400 * 86400)
    for (int64_t t = *from; t <= *to; t += 86400) by_day[utcDay(t)].day = utcDay(t);
  for (const json& r : rows) {
    DayBar& b = by_day[str(r, "day")];
    b.day = str(r, "day");
    b.successful += static_cast<uint64_t>(num(r, ok_key));
    b.failed += static_cast<uint64_t>(num(r, failed_key));
  }
  std::vector<DayBar> bars;
  for (auto& [day, bar] : by_day) bars.push_back(bar);
  return bars;
}

// A page a browser renders quickly even for a relay with 10,000 destinations queued.
constexpr size_t kQueueRowsShown = 1000;

// Most messages first, then by name (queueJson lists by name).
json busiestFirst(const json& queue) {
  json destinations = queue.value("destinations", json::array());
  std::stable_sort(destinations.begin(), destinations.end(),
                   [](const json& a, const json& b) { return num(a, "messages") > num(b, "messages"); });
  return destinations;
}

std::string queueTable(const json& destinations, size_t limit) {
  Table t;
  t.columns = {"destination", "messages", "recipients", "oldest", "connections", "failures", "last error"};
  t.numeric = {"messages", "recipients", "oldest", "connections", "failures"};
  t.empty_text = "the queue is empty";
  for (const json& d : destinations) {
    if (t.rows.size() == limit) break;
    const std::string name = str(d, "destination");
    const std::string oldest_id = str(d, "oldest_queue_id");
    const std::string age = formatDuration(num(d, "oldest_age_seconds"));
    t.rows.push_back(
        {name,
         {link("/queue/destination?name=" + urlComponent(name), name), n(num(d, "messages")),
          n(num(d, "recipients")), oldest_id.empty() ? escape(age) : link(messageHref(oldest_id), age),
          n(num(d, "connections")), n(num(d, "failures")), escape(str(d, "last_error"))}});
  }
  return table(t);
}

std::string sentTable(const json& reports) {
  Table t;
  t.columns = {"day", "policy domain", "successful", "failed", "report", "node", "report-id"};
  t.numeric = {"successful", "failed"};
  t.empty_text = "no TLS sessions counted in this period";
  for (const json& r : reports) {
    const std::string day = str(r, "day"), domain = str(r, "policy-domain");
    std::string state = str(r, "report");
    std::string outcome = outcomeCell(state);
    if (!str(r, "last-error").empty())
      outcome += " <span class=\"muted\">" + escape(str(r, "last-error")) + "</span>";
    t.rows.push_back(
        {day + "/" + domain,
         {escape(day), link(sentReportHref(day, domain), domain), n(num(r, "successful-sessions")),
          n(num(r, "failed-sessions")), outcome, escape(str(r, "node")), escape(str(r, "report-id"))}});
  }
  return table(t);
}

std::string joined(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  std::string out;
  if (value.is_array())
    for (const json& v : value)
      if (v.is_string()) out += (out.empty() ? "" : ", ") + v.get<std::string>();
  return out;
}

// One RFC 8460 document (ours or a stranger's): who, when, each policy with
// its totals and failure details, and the JSON itself.
std::string reportDocumentBody(const json& doc) {
  std::string out;
  if (!doc.is_object()) return "<p class=\"bad\">this report is not a JSON object</p>";
  Table meta;
  meta.columns = {"field", "value"};
  const json range = doc.value("date-range", json::object());
  for (const auto& [label, value] :
       std::vector<std::pair<std::string, std::string>>{{"organization-name", str(doc, "organization-name")},
                                                        {"report-id", str(doc, "report-id")},
                                                        {"contact-info", str(doc, "contact-info")},
                                                        {"start-datetime", str(range, "start-datetime")},
                                                        {"end-datetime", str(range, "end-datetime")}})
    meta.rows.push_back({label, {escape(label), escape(value)}});
  out += table(meta);
  const json policies = doc.value("policies", json::array());
  size_t index = 0;
  for (const json& entry : policies) {
    const json policy = entry.value("policy", json::object());
    const json summary = entry.value("summary", json::object());
    out += heading("policy " + std::to_string(++index) + ": " + str(policy, "policy-type") + " for " +
                   str(policy, "policy-domain"));
    Table p;
    p.columns = {"policy-type", "policy-domain", "mx-host", "successful", "failed"};
    p.numeric = {"successful", "failed"};
    p.rows.push_back(
        {std::to_string(index),
         {escape(str(policy, "policy-type")), escape(str(policy, "policy-domain")),
          escape(joined(policy.value("mx-host", json()))), n(num(summary, "total-successful-session-count")),
          n(num(summary, "total-failure-session-count"))}});
    out += table(p);
    std::string strings = joined(policy.value("policy-string", json()));
    if (!strings.empty()) out += "<p class=\"muted\">policy-string: " + escape(strings) + "</p>";
    Table f;
    f.columns = {"result-type",  "sending-mta-ip",  "receiving-mx-hostname",
                 "receiving-ip", "failed sessions", "failure-reason-code"};
    f.numeric = {"failed sessions"};
    f.empty_text = "no failures";
    size_t row = 0;
    for (const json& d : entry.value("failure-details", json::array()))
      f.rows.push_back({std::to_string(index) + "." + std::to_string(++row),
                        {escape(str(d, "result-type")), escape(str(d, "sending-mta-ip")),
                         escape(str(d, "receiving-mx-hostname")), escape(str(d, "receiving-ip")),
                         n(num(d, "failed-session-count")), escape(str(d, "failure-reason-code"))}});
    out += table(f);
  }
  out += "<details><summary>the report as JSON</summary><pre>" + escape(doc.dump(2)) + "</pre></details>";
  return out;
}

}  // namespace

std::string overviewPage(const json& status, const json& queue, const json& sent) {
  std::string body;
  Table facts;
  facts.columns = {"fact", "value"};
  facts.numeric = {};
  const int64_t now = num(status, "now");
  facts.rows.push_back({"state", {"state", escape(str(status, "state"))}});
  facts.rows.push_back({"hostname", {"hostname", escape(str(status, "hostname"))}});
  facts.rows.push_back({"uptime", {"uptime", escape(formatDuration(now - num(status, "started_at")))}});
  facts.rows.push_back({"queued", {"queued messages", n(num(queue, "messages"))}});
  facts.rows.push_back({"destinations",
                        {"destinations with mail queued",
                         n(static_cast<int64_t>(queue.value("destinations", json::array()).size()))}});
  body += table(facts);
  body += heading("busiest queues");
  body += queueTable(busiestFirst(queue), 10);
  if (!sent.is_null()) {
    body += heading("TLS sessions per day (our reports)");
    body += dayChart(
        barsByDay(sent.value("reports", json::array()), "successful-sessions", "failed-sessions", sent),
        "sessions from " + str(sent, "from") + " to " + str(sent, "to"));
  }
  return page("overview", "overview", body);
}

std::string queuePage(const json& queue) {
  const json destinations = busiestFirst(queue);
  std::string text = std::to_string(num(queue, "messages")) + " messages queued for " +
                     std::to_string(destinations.size()) + " destinations.";
  if (destinations.size() > kQueueRowsShown)
    text += " The " + std::to_string(kQueueRowsShown) +
            " with the most messages are shown (all of them: /api/queue).";
  std::string body = paragraph(text);
  body += queueTable(destinations, kQueueRowsShown);
  return page("queue", "queue", body);
}

std::string destinationQueuePage(const std::string& destination, const json& messages, size_t queued_there,
                                 int64_t now) {
  std::string body = paragraph(std::to_string(queued_there) + " messages queued for " + destination +
                               (messages.size() < queued_there
                                    ? "; the oldest " + std::to_string(messages.size()) + " are shown."
                                    : "."));
  Table t;
  t.columns = {"queue id", "sender", "received", "age", "size", "recipients", "next attempt"};
  t.numeric = {"size", "recipients"};
  t.empty_text = "nothing queued for this destination";
  for (const json& m : messages) {
    const std::string id = str(m, "queue_id");
    t.rows.push_back({id,
                      {link(messageHref(id), id), escape(str(m, "sender")), when(num(m, "received_at")),
                       escape(formatDuration(now - num(m, "received_at"))), n(num(m, "size")),
                       n(static_cast<int64_t>(m.value("recipients", json::array()).size())),
                       when(num(m, "next_attempt_at"))}});
  }
  body += table(t);
  return page("queue: " + destination, "queue", body);
}

std::string messagePage(const json& m, int64_t now) {
  Table facts;
  facts.columns = {"field", "value"};
  const std::string sender = str(m, "sender");
  facts.rows.push_back({"sender", {"sender", sender.empty() ? "&lt;&gt; (a bounce)" : escape(sender)}});
  facts.rows.push_back({"received",
                        {"received", when(num(m, "received_at")) + " (" +
                                         escape(formatDuration(now - num(m, "received_at"))) + " ago)"}});
  facts.rows.push_back({"next", {"next attempt", when(num(m, "next_attempt_at"))}});
  facts.rows.push_back({"size", {"size", n(num(m, "size")) + " bytes"}});
  facts.rows.push_back({"client", {"client", escape(str(m, "client_ip"))}});
  std::string tls = flag(m, "requiretls")        ? "REQUIRETLS"
                    : flag(m, "tls_required_no") ? "TLS-Required: No"
                                                 : "";
  facts.rows.push_back(
      {"tls", {"TLS request", tls.empty() ? "<span class=\"muted\">none</span>" : escape(tls)}});
  Table r;
  r.columns = {"recipient", "state", "attempts", "last response"};
  r.numeric = {"attempts"};
  for (const json& rcpt : m.value("recipients", json::array())) {
    const std::string state = str(rcpt, "state");
    r.rows.push_back({str(rcpt, "address"),
                      {escape(str(rcpt, "address")),
                       "<span class=\"" +
                           std::string(state == "delivered" ? "ok"
                                       : state == "failed"  ? "bad"
                                                            : "muted") +
                           "\">" + escape(state) + "</span>",
                       n(num(rcpt, "attempts")), escape(str(rcpt, "last_response"))}});
  }
  std::string body = table(facts) + heading("recipients") + table(r);
  return page("message " + str(m, "queue_id"), "queue", body);
}

std::string destinationsPage(const json& posture, const json& health, int64_t now) {
  static const char* kPostures[] = {"dane", "mta-sts", "policy", "opportunistic", "plaintext", "failed"};
  std::string body = paragraph(
      "How each destination's sessions went since the relay started: authenticated by DANE or MTA-STS, "
      "governed by a policy rule, opportunistic TLS, clear text, or failed. Shares are of all sessions.");
  Table t;
  t.columns = {"destination", "sessions"};
  for (const char* p : kPostures) t.columns.push_back(p);
  t.columns.push_back("last session");
  t.numeric = {"sessions", "dane", "mta-sts", "policy", "opportunistic", "plaintext", "failed"};
  t.empty_text = "no sessions since the relay started";
  for (const json& d : posture) {
    const json counts = d.value("sessions", json::object());
    int64_t total = 0;
    for (const char* p : kPostures) total += num(counts, p);
    Table::Row row{str(d, "domain"), {escape(str(d, "domain")), n(total)}};
    for (const char* p : kPostures) {
      const int64_t c = num(counts, p);
      std::string cell = n(c);
      if (c > 0 && total > 0)
        cell += " <span class=\"muted\">(" + std::to_string(c * 100 / total) + "%)</span>";
      row.cells.push_back(cell);
    }
    row.cells.push_back(when(num(d, "last_session")));
    t.rows.push_back(std::move(row));
  }
  body += table(t);
  body += heading("destinations and hosts in connection backoff");
  Table b;
  b.columns = {"name", "kind", "failures", "backoff until", "last error"};
  b.numeric = {"failures"};
  b.empty_text = "none: every destination is reachable";
  for (const json& h : health) {
    const int64_t until = num(h, "backoff_until");
    b.rows.push_back(
        {str(h, "name"),
         {escape(str(h, "name")), escape(str(h, "kind")), n(num(h, "failures")),
          until > now ? when(until) : "<span class=\"muted\">over</span>", escape(str(h, "last_error"))}});
  }
  body += table(b);
  return page("destinations", "destinations", body);
}

std::string sentReportsPage(const json& sent) {
  const json reports = sent.value("reports", json::array());
  std::string body = dayChart(barsByDay(reports, "successful-sessions", "failed-sessions", sent),
                              "sessions from " + str(sent, "from") + " to " + str(sent, "to"));
  body += sentTable(reports);
  body += "<p class=\"muted\">Older days: /reports?days=30 (up to 400).</p>";
  return page("TLS reports we send", "reports", body);
}

std::string sentReportPage(const std::string& day, const std::string& domain, const json& document) {
  std::string body = "<p>" +
                     link("/api/reports/" + urlComponent(day) + "/" + urlComponent(domain),
                          "the report as the receivers get it (application/tlsrpt+json)") +
                     "</p>";
  body += reportDocumentBody(document);
  return page("report for " + domain + " on " + day, "reports", body);
}

std::string receivedReportsPage(const json& received) {
  std::string body = dayChart(barsByDay(received, "successful-sessions", "failed-sessions"),
                              "sessions to us, as other organisations reported them");
  Table t;
  t.columns = {"day", "organization", "policy domain", "successful", "failed", "reports"};
  t.numeric = {"successful", "failed", "reports"};
  t.empty_text = "no reports received yet";
  for (const json& r : received) {
    const std::string day = str(r, "day"), org = str(r, "organization-name"),
                      domain = str(r, "policy-domain");
    const std::string href = "/reports/received/group?day=" + urlComponent(day) +
                             "&organization=" + urlComponent(org) + "&domain=" + urlComponent(domain);
    t.rows.push_back({day + "/" + org + "/" + domain,
                      {escape(day), link(href, org), escape(domain), n(num(r, "successful-sessions")),
                       n(num(r, "failed-sessions")), n(num(r, "reports"))}});
  }
  body += table(t);
  return page("TLS reports we received", "received", body);
}

std::string receivedGroupPage(const std::string& day, const std::string& organization,
                              const std::string& domain, const json& reports) {
  std::string body = paragraph(std::to_string(reports.size()) + " report(s) from " + organization + " for " +
                               domain + " on " + day + ".");
  for (const json& doc : reports) {
    if (doc.is_string()) {
      body += "<p class=\"bad\">" + escape(doc.get<std::string>()) + "</p>";
      continue;
    }
    const std::string id = str(doc, "report-id");
    body += heading("report " + id);
    body += "<p>" +
            link("/api/reports/received/report?organization=" + urlComponent(organization) +
                     "&id=" + urlComponent(id),
                 "the report as received (JSON)") +
            "</p>";
    body += reportDocumentBody(doc);
  }
  return page("reports from " + organization, "received", body);
}

std::string problemPage(const std::string& title, const std::string& detail) {
  return page(title, "", "<p class=\"bad\">" + escape(detail) + "</p>");
}

}  // namespace tlsrelay::web
