#include "cli/plan_svg.h"

#include <fmt/format.h>
#include <algorithm>

#include "util/bytes.h"
#include "util/xml_escape.h"

namespace cortex::cli {
namespace {

constexpr double kBarWidth = 150;
constexpr double kColumnWidth = 470;
constexpr double kPlotHeight = 560;
constexpr double kTop = 70;
constexpr double kLeft = 70;

struct Part {
  const char* name;
  const char* color;
};
constexpr Part kWeights{"weights", "#4e79a7"};
constexpr Part kKv{"KV cache", "#f28e2b"};
constexpr Part kCompute{"compute + output", "#b07aa1"};
constexpr Part kOverhead{"overhead", "#9c755f"};
constexpr Part kReserve{"reserves", "#bab0ac"};
constexpr Part kFree{"free", "#a0cbe8"};

std::string Gib(uint64_t b) {
  return fmt::format("{:.1f} GiB", static_cast<double>(b) / kGiB);
}

uint64_t StackHeight(const DeploymentPlan& p) {
  uint64_t h = p.machine.reserved_bytes;
  for (const EnginePlan& e : p.engines) {
    if (!e.resident) continue;
    h += e.planned ? std::max(e.budget_bytes, e.memory.total_bytes()) : e.budget_bytes;
  }
  return std::max<uint64_t>(h, p.machine.memory_bytes);
}

}  // namespace

std::string RenderPlanSvg(const std::vector<DeploymentPlan>& plans, const std::string& title) {
  uint64_t scale_bytes = 1;
  for (const DeploymentPlan& p : plans)
    scale_bytes = std::max(scale_bytes, StackHeight(p));
  const double px = kPlotHeight / static_cast<double>(scale_bytes);
  const double width =
      kLeft + kColumnWidth * static_cast<double>(std::max<size_t>(1, plans.size())) + 20;
  const double height = kTop + kPlotHeight + 110;
  const double bottom = kTop + kPlotHeight;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" font-family=\"DejaVu Sans, Arial, sans-serif\" "
      "font-size=\"12\">\n",
      width, height);
  svg +=
      "<defs><pattern id=\"unused\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
      "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#ffffff\"/>"
      "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#cccccc\" stroke-width=\"3\"/>"
      "</pattern></defs>\n";
  svg += fmt::format(
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
      "<text x=\"{}\" y=\"28\" font-size=\"18\" font-weight=\"bold\">{}</text>\n",
      kLeft, XmlEscape(title));

  // Axis: GiB ticks.
  const uint64_t step = scale_bytes > 256 * kGiB ? 64 * kGiB : 16 * kGiB;
  for (uint64_t b = 0; b <= scale_bytes; b += step) {
    const double y = bottom - static_cast<double>(b) * px;
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eeeeee\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#666666\">{} GiB</text>\n",
        kLeft - 5, y, width - 20, y, kLeft - 8, y + 4, b / kGiB);
  }

  for (size_t i = 0; i < plans.size(); ++i) {
    const DeploymentPlan& p = plans[i];
    const double x = kLeft + 20 + kColumnWidth * static_cast<double>(i);
    double y = bottom;
    auto block = [&](uint64_t bytes, const char* fill, const std::string& tooltip) {
      const double h = static_cast<double>(bytes) * px;
      y -= h;
      if (h > 0) {
        svg += fmt::format(
            "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.2f}\" "
            "fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>{}</title></rect>\n",
            x, y, kBarWidth, h, fill, XmlEscape(tooltip));
      }
      return h;
    };
    auto label = [&](double y_mid, const std::string& text, const char* color) {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text>\n",
                         x + kBarWidth + 8, y_mid + 4, color, XmlEscape(text));
    };

    const double reserve_h = block(p.machine.reserved_bytes, kReserve.color,
                                   "reserves (OS + backend): " + Gib(p.machine.reserved_bytes));
    label(y + reserve_h / 2, "reserves " + Gib(p.machine.reserved_bytes), "#333333");
    for (const EnginePlan& e : p.engines) {
      if (!e.resident) continue;
      const double engine_bottom = y;
      if (e.planned) {
        const EngineMemory& m = e.memory;
        block(m.weights_bytes, kWeights.color, e.name + " weights: " + Gib(m.weights_bytes));
        block(m.kv_bytes, kKv.color, e.name + " KV cache: " + Gib(m.kv_bytes));
        block(m.compute_bytes + m.output_bytes, kCompute.color,
              e.name + " compute + output: " + Gib(m.compute_bytes + m.output_bytes));
        block(m.overhead_bytes, kOverhead.color, e.name + " overhead: " + Gib(m.overhead_bytes));
        if (m.total_bytes() < e.budget_bytes) {
          block(e.budget_bytes - m.total_bytes(), "url(#unused)",
                e.name + " unused budget: " + Gib(e.budget_bytes - m.total_bytes()));
        }
      } else {
        block(e.budget_bytes, "url(#unused)", e.name + ": not planned");
      }
      const double h = engine_bottom - y;
      const bool over = e.planned && e.memory.total_bytes() > e.budget_bytes;
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.2f}\" "
          "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
          x, y, kBarWidth, h, over || !e.fits ? "#d62728" : "#333333", over || !e.fits ? 2.5 : 1);
      std::string text =
          fmt::format("{}: {} of {}", e.name, e.planned ? Gib(e.memory.total_bytes()) : "?",
                      Gib(e.budget_bytes));
      if (over) text += ", over";
      label(y + h / 2, text, over || !e.fits ? "#d62728" : "#333333");
    }
    if (p.machine.free_bytes > 0) {
      const double h = block(static_cast<uint64_t>(p.machine.free_bytes), kFree.color,
                             "free: " + Gib(static_cast<uint64_t>(p.machine.free_bytes)));
      label(y + h / 2, "free " + Gib(static_cast<uint64_t>(p.machine.free_bytes)), "#333333");
    }
    // Physical memory line.
    const double phys = bottom - static_cast<double>(p.machine.memory_bytes) * px;
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#d62728\" "
        "stroke-dasharray=\"6 3\" stroke-width=\"1.5\"/>\n"
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"15\" fill=\"#ffffff\" "
        "fill-opacity=\"0.85\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#d62728\" font-size=\"11\">physical memory "
        "{}</text>\n",
        x - 10, phys, x + kBarWidth + 10, phys, x + 2, phys - 16, kBarWidth - 4, x + 5, phys - 5,
        Gib(p.machine.memory_bytes));
    svg += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"15\" font-weight=\"bold\">"
        "profile {}: {}</text>\n",
        x, kTop - 14 + 0.0, XmlEscape(p.profile), p.fits ? "fits" : "does not fit");
  }

  // Legend.
  double lx = kLeft;
  const double ly = bottom + 40;
  for (const Part& part : {kReserve, kWeights, kKv, kCompute, kOverhead, kFree}) {
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n",
        lx, ly, part.color, lx + 19, ly + 11, part.name);
    lx += 40 + 7.0 * static_cast<double>(std::string_view(part.name).size());
  }
  svg += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" fill=\"url(#unused)\" "
      "stroke=\"#999999\"/><text x=\"{:.1f}\" y=\"{:.1f}\">unused budget</text>\n",
      lx, ly, lx + 19, ly + 11);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" fill=\"#666666\">Red outline: the engine needs "
      "more than its budget. Bars above the dashed line do not fit in physical "
      "memory.</text>\n",
      kLeft, ly + 40);
  svg += "</svg>\n";
  return svg;
}

}  // namespace cortex::cli
