// The pieces every page of the web view is made of: escaping, links, the
// page frame (navigation and one inline style sheet) and tables. Pages are
// plain server-rendered HTML: no script, nothing loaded from elsewhere, so
// they work behind the strictest proxy and cost the relay a string build.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tlsrelay::web {

// Text for an element or a quoted attribute value.
std::string escape(std::string_view text);
// One path segment or query value, percent-encoded (RFC 3986 unreserved kept).
std::string urlComponent(std::string_view text);
// <a href="...">text</a>, both escaped.
std::string link(std::string_view href, std::string_view text);

// The whole document. `section` marks the navigation entry shown as current
// ("overview", "queue", "destinations", "reports", "received").
std::string page(std::string_view title, std::string_view section, std::string_view body);

// A table whose cells are already HTML. A cell whose column name is in
// `numeric` is right-aligned. Rows carry data-key attributes for the tests
// and for anyone scraping the page: <tr data-key="row key"><td data-col="name">.
struct Table {
  std::vector<std::string> columns;  // header texts (escaped here); also the data-col names
  std::vector<std::string> numeric;  // columns aligned right
  struct Row {
    std::string key;
    std::vector<std::string> cells;  // HTML
  };
  std::vector<Row> rows;
  std::string empty_text = "nothing here";
};
std::string table(const Table& t);

// "<h2>title</h2>" and a paragraph of escaped text.
std::string heading(std::string_view text);
std::string paragraph(std::string_view text);

}  // namespace tlsrelay::web
