// See day_chart.h.
#include "relay/web/day_chart.h"

#include <algorithm>
#include <cstdio>

#include "relay/web/html.h"

namespace tlsrelay::web {
namespace {

constexpr int kHeight = 160;  // plot area
constexpr int kTop = 10, kBottom = 24, kLeft = 48;
constexpr int kBarWidth = 22, kGap = 8;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

std::string dayChart(const std::vector<DayBar>& bars, const std::string& caption) {
  if (bars.empty()) return "<p class=\"muted\">no sessions counted in this period</p>";
  uint64_t top = 1;
  for (const DayBar& b : bars) top = std::max(top, b.successful + b.failed);
  const int width = kLeft + static_cast<int>(bars.size()) * (kBarWidth + kGap) + kGap;
  const int height = kTop + kHeight + kBottom;
  auto y = [&](uint64_t value) { return kTop + kHeight - double(value) / double(top) * kHeight; };

  std::string out =
      "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" +
      std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
      std::to_string(width) + " " + std::to_string(height) + "\" aria-label=\"" + escape(caption) + "\">";
  // The scale: zero and the largest day.
  for (uint64_t mark : {uint64_t{0}, top}) {
    out += "<line x1=\"" + std::to_string(kLeft - 4) + "\" x2=\"" + std::to_string(width) + "\" y1=\"" +
           num(y(mark)) + "\" y2=\"" + num(y(mark)) + "\" stroke=\"#8886\"/>";
    out += "<text x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + num(y(mark) + 4) +
           "\" text-anchor=\"end\">" + std::to_string(mark) + "</text>";
  }
  int x = kLeft + kGap;
  for (const DayBar& b : bars) {
    const std::string label = b.day.size() == 10 ? b.day.substr(5) : b.day;
    out += "<g class=\"bar\" data-day=\"" + escape(b.day) + "\" data-successful=\"" +
           std::to_string(b.successful) + "\" data-failed=\"" + std::to_string(b.failed) + "\"><title>" +
           escape(b.day) + ": " + std::to_string(b.successful) + " successful, " + std::to_string(b.failed) +
           " failed</title>";
    const double ok_top = y(b.successful), all_top = y(b.successful + b.failed);
    if (b.successful > 0)
      out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + num(ok_top) + "\" width=\"" +
             std::to_string(kBarWidth) + "\" height=\"" + num(kTop + kHeight - ok_top) +
             "\" fill=\"#2e7d32\"/>";
    if (b.failed > 0)
      out += "<rect x=\"" + std::to_string(x) + "\" y=\"" + num(all_top) + "\" width=\"" +
             std::to_string(kBarWidth) + "\" height=\"" + num(ok_top - all_top) + "\" fill=\"#c62828\"/>";
    out += "<text x=\"" + std::to_string(x + kBarWidth / 2) + "\" y=\"" + std::to_string(height - 8) +
           "\" text-anchor=\"middle\">" + escape(label) + "</text></g>";
    x += kBarWidth + kGap;
  }
  out +=
      "</svg><figcaption>" + escape(caption) +
      " — <span class=\"ok\">■ successful</span> <span class=\"bad\">■ failed</span></figcaption></figure>";
  return out;
}

}  // namespace tlsrelay::web
