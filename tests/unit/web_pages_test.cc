// The web view's rendering: escaping of everything that comes from mail or
// from strangers' reports, the data-key/data-col cells the browser test reads,
// the SVG chart's bars, and the pages built from the API's JSON.
#include "relay/web/web_pages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "relay/web/day_chart.h"
#include "relay/web/html.h"

namespace tlsrelay::web {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(WebHtml, EscapesTextAndEncodesUrlComponents) {
  EXPECT_EQ(escape("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(urlComponent("a b/c?d=é"), "a%20b%2Fc%3Fd%3D%C3%A9");
  EXPECT_EQ(urlComponent("mx-1.example_~"), "mx-1.example_~");
  EXPECT_EQ(link("/q?a=1&b=2", "<x>"), "<a href=\"/q?a=1&amp;b=2\">&lt;x&gt;</a>");
}

TEST(WebHtml, TablesCarryKeysAndColumnsAndSayWhenEmpty) {
  Table t;
  t.columns = {"name", "count"};
  t.numeric = {"count"};
  t.rows.push_back({"k\"1", {"a", "7"}});
  const std::string html = table(t);
  EXPECT_THAT(html, HasSubstr("<tr data-key=\"k&quot;1\"><td data-col=\"name\">a</td>"));
  EXPECT_THAT(html, HasSubstr("<td data-col=\"count\" class=\"num\">7</td>"));
  Table empty;
  empty.columns = {"x"};
  empty.empty_text = "the queue is empty";
  EXPECT_EQ(table(empty), "<p class=\"muted\">the queue is empty</p>");
}

TEST(WebHtml, ThePageFrameMarksTheCurrentSectionAndLoadsNothing) {
  const std::string html = page("queue", "queue", "<p>body</p>");
  EXPECT_THAT(html, HasSubstr("<a href=\"/queue\" class=\"current\">queue</a>"));
  EXPECT_THAT(html, HasSubstr("<title>queue · tlsrelay</title>"));
  for (const char* foreign : {"<script", "<link", "<img", "http://", "https://"})
    EXPECT_THAT(html, Not(HasSubstr(foreign))) << foreign;
}

TEST(WebChart, BarsAreStackedAndCarryTheirNumbers) {
  const std::string svg = dayChart({{"2026-12-01", 30, 10}, {"2026-12-02", 0, 0}}, "a <caption>");
  EXPECT_THAT(svg, HasSubstr("data-day=\"2026-12-01\" data-successful=\"30\" data-failed=\"10\""));
  EXPECT_THAT(svg, HasSubstr("<title>2026-12-01: 30 successful, 10 failed</title>"));
  EXPECT_THAT(svg, HasSubstr(">12-01</text>"));
  EXPECT_THAT(svg, HasSubstr("a &lt;caption&gt;"));
  // The tallest day fills the plot: 30 of 40 is 120 of 160 pixels, the failed 10 the rest.
  EXPECT_THAT(svg, HasSubstr("height=\"120.0\" fill=\"#2e7d32\""));
  EXPECT_THAT(svg, HasSubstr("height=\"40.0\" fill=\"#c62828\""));
  EXPECT_EQ(dayChart({}, "x"), "<p class=\"muted\">no sessions counted in this period</p>");
}

TEST(WebPages, SentReportsShowEveryDayOfThePeriodAndLinkEachReport) {
  json sent = {{"from", "2026-12-01"},
               {"to", "2026-12-03"},
               {"reports",
                {{{"day", "2026-12-02"},
                  {"policy-domain", "example.com"},
                  {"successful-sessions", 5},
                  {"failed-sessions", 1},
                  {"report", "failed"},
                  {"last-error", "<bad>"}}}}};
  const std::string html = sentReportsPage(sent);
  for (const char* day : {"2026-12-01", "2026-12-02", "2026-12-03"})
    EXPECT_THAT(html, HasSubstr(std::string("data-day=\"") + day + "\"")) << day;
  EXPECT_THAT(html, HasSubstr("<a href=\"/reports/2026-12-02/example.com\">example.com</a>"));
  EXPECT_THAT(html, HasSubstr("<td data-col=\"failed\" class=\"num\">1</td>"));
  EXPECT_THAT(html, HasSubstr("&lt;bad&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<bad>")));
}

TEST(WebPages, AStrangersReportCannotInjectMarkup) {
  json doc = {
      {"organization-name", "<script>alert(1)</script>"},
      {"report-id", "r\"1"},
      {"policies",
       {{{"policy", {{"policy-type", "sts"}, {"policy-domain", "our.example"}}},
         {"summary", {{"total-successful-session-count", 9}, {"total-failure-session-count", 2}}},
         {"failure-details",
          {{{"result-type", "<img src=x>"}, {"failed-session-count", 2}, {"receiving-ip", "192.0.2.1"}}}}}}}};
  const std::string html = receivedGroupPage("2026-12-01", "<org>", "our.example", json::array({doc}));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("<td data-col=\"failed sessions\" class=\"num\">2</td>"));
  EXPECT_THAT(html, HasSubstr("id=r%221"));  // the link to the raw JSON
  // A report that was not JSON is said so, not shown as a table.
  EXPECT_THAT(receivedGroupPage("d", "o", "x", json::array({"this report is not valid JSON"})),
              HasSubstr("this report is not valid JSON"));
}

TEST(WebPages, TheQueueLinksEachDestinationAndItsOldestMessage) {
  json queue = {{"messages", 2},
                {"destinations",
                 {{{"destination", "a b.example"},
                   {"messages", 2},
                   {"recipients", 3},
                   {"oldest_age_seconds", 3700},
                   {"oldest_queue_id", "Q1"},
                   {"connections", 0}}}}};
  const std::string html = queuePage(queue);
  EXPECT_THAT(html, HasSubstr("<a href=\"/queue/destination?name=a%20b.example\">a b.example</a>"));
  EXPECT_THAT(html, HasSubstr("<a href=\"/queue/Q1\">1h 1m</a>"));
  json message = {{"queue_id", "Q1"},
                  {"sender", ""},
                  {"received_at", 1000},
                  {"recipients", {{{"address", "x@a.example"}, {"state", "failed"}, {"attempts", 4}}}}};
  const std::string m = messagePage(message, 1060);
  EXPECT_THAT(m, HasSubstr("&lt;&gt; (a bounce)"));
  EXPECT_THAT(m, HasSubstr("(1m 0s ago)"));
  EXPECT_THAT(m, HasSubstr("<span class=\"bad\">failed</span>"));
}

TEST(WebPages, TheQueuePageShowsTheBusiestThousandDestinations) {
  json queue = {{"messages", 0}, {"destinations", json::array()}};
  for (int i = 0; i < 1001; ++i)
    queue["destinations"].push_back(
        {{"destination", "d" + std::to_string(i) + ".example"}, {"messages", i == 500 ? 9 : 1}});
  const std::string html = queuePage(queue);
  size_t rows = 0;
  for (size_t at = html.find("<tr data-key="); at != std::string::npos;
       at = html.find("<tr data-key=", at + 1))
    ++rows;
  EXPECT_EQ(rows, 1000u);
  EXPECT_THAT(html, HasSubstr("for 1001 destinations. The 1000 with the most messages are shown"));
  EXPECT_LT(html.find("data-key=\"d500.example\""), html.find("data-key=\"d0.example\""));  // busiest first
}

}  // namespace
}  // namespace tlsrelay::web
