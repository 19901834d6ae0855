// See html.h.
#include "relay/web/html.h"

#include <algorithm>
#include <cctype>

#include "common/hex.h"

namespace tlsrelay::web {
namespace {

// Small, readable in both light and dark mode, no web fonts.
constexpr std::string_view kStyle = R"css(
:root { color-scheme: light dark; --ok: #2e7d32; --bad: #c62828; --muted: #777; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; }
header { padding: .6em 1.2em; border-bottom: 1px solid #8884; display: flex; gap: 1.4em; align-items: baseline; }
header strong { font-size: 1.1em; }
nav a { margin-right: 1em; text-decoration: none; }
nav a.current { font-weight: bold; text-decoration: underline; }
main { padding: 0 1.2em 2em; max-width: 80em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #8883; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .muted { color: var(--muted); }
pre { padding: .8em; border: 1px solid #8884; overflow-x: auto; }
svg text { font: 11px system-ui, sans-serif; fill: currentColor; }
)css";

constexpr std::pair<std::string_view, std::string_view> kSections[] = {
    {"overview", "/"},
    {"queue", "/queue"},
    {"destinations", "/destinations"},
    {"reports", "/reports"},
    {"received", "/reports/received"},
};

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string urlComponent(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      appendHexByte(out, c);
    }
  }
  return out;
}

std::string link(std::string_view href, std::string_view text) {
  return "<a href=\"" + escape(href) + "\">" + escape(text) + "</a>";
}

std::string page(std::string_view title, std::string_view section, std::string_view body) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<title>" + escape(title) + " · tlsrelay</title><style>";
  out += kStyle;
  out += "</style></head><body><header><strong>tlsrelay</strong><nav>";
  for (const auto& [name, href] : kSections) {
    out += "<a href=\"" + std::string(href) + "\"";
    if (name == section) out += " class=\"current\"";
    out += ">" + std::string(name) + "</a>";
  }
  out += "</nav></header><main><h1>" + escape(title) + "</h1>";
  out += body;
  out += "</main></body></html>\n";
  return out;
}

std::string table(const Table& t) {
  auto isNumeric = [&](const std::string& column) {
    return std::find(t.numeric.begin(), t.numeric.end(), column) != t.numeric.end();
  };
  if (t.rows.empty()) return "<p class=\"muted\">" + escape(t.empty_text) + "</p>";
  std::string out = "<table><thead><tr>";
  for (const auto& c : t.columns)
    out += std::string(isNumeric(c) ? "<th class=\"num\">" : "<th>") + escape(c) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : t.rows) {
    out += "<tr data-key=\"" + escape(row.key) + "\">";
    for (size_t i = 0; i < row.cells.size() && i < t.columns.size(); ++i) {
      const std::string& column = t.columns[i];
      out += "<td data-col=\"" + escape(column) + "\"" + (isNumeric(column) ? " class=\"num\"" : "") + ">" +
             row.cells[i] + "</td>";
    }
    out += "</tr>";
  }
  out += "</tbody></table>";
  return out;
}

std::string heading(std::string_view text) {
  return "<h2>" + escape(text) + "</h2>";
}

std::string paragraph(std::string_view text) {
  return "<p>" + escape(text) + "</p>";
}

}  // namespace tlsrelay::web
