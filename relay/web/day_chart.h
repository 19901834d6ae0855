// Successful and failed TLS sessions per day as an inline SVG bar chart
// (stacked: successful below, failed on top), drawn on the server so the page
// needs no script and no chart library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlsrelay::web {

struct DayBar {
  std::string day;  // "YYYY-MM-DD", shown as "MM-DD"
  uint64_t successful = 0;
  uint64_t failed = 0;
};

// Bars in the order given (oldest first). Each bar carries data-day,
// data-successful and data-failed attributes and a <title> tooltip. An empty
// list draws a note instead of a chart.
std::string dayChart(const std::vector<DayBar>& bars, const std::string& caption);

}  // namespace tlsrelay::web
