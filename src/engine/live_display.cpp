#include "pgsluice/engine/live_display.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "pgsluice/util/sizes.hpp"

namespace pgsluice::engine {

namespace {

// `text` cut to `columns` characters (a line that wraps would break redrawing in place). Table
// names are the only non-ASCII text: a cut never splits a UTF-8 sequence.
std::string fit(std::string text, int columns) {
    size_t limit = static_cast<size_t>(std::max(columns, 1));
    if (text.size() <= limit) {
        return text;
    }
    size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
        --cut;
    }
    text.resize(cut);
    return text;
}

std::string formatEta(double seconds) {
    if (seconds < 0) {
        return "?";
    }
    long long s = static_cast<long long>(seconds + 0.5);
    if (s >= 3600) {
        return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
    }
    if (s >= 60) {
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    }
    return fmt::format("{}s", s);
}

}  // namespace

std::string progressBar(double fraction, int width) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    int filled = static_cast<int>(fraction * width + 0.5);
    return "[" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(width - filled), '-') + "]";
}

std::vector<std::string> liveLines(const std::vector<LiveTable>& running, const LiveTotals& totals,
                                   int columns, int max_tables) {
    columns = std::max(columns, 20);
    // The bar takes what the numbers leave, between 10 and 30 characters.
    int bar_width = std::clamp(columns - 60, 10, 30);
    std::vector<std::string> lines;
    size_t shown = std::min(running.size(), static_cast<size_t>(std::max(max_tables, 0)));
    for (size_t i = 0; i < shown; ++i) {
        const LiveTable& t = running[i];
        double fraction = t.estimated_bytes > 0 ? static_cast<double>(t.bytes) /
                                                      static_cast<double>(t.estimated_bytes)
                                                : 0;
        std::string parts =
            t.parts > 1 ? fmt::format(" {}/{} parts", t.parts_done, t.parts) : std::string();
        std::string numbers = fmt::format(" {:>3.0f}% {:>9}{}", std::min(fraction, 1.0) * 100,
                                          util::formatBytes(static_cast<double>(t.bytes)), parts);
        // The name gets what is left, cut first.
        int name_width = columns - bar_width - 2 - static_cast<int>(numbers.size()) - 3;
        std::string name = fit(t.name, std::max(name_width, 8));
        lines.push_back(fit(fmt::format("  {:<{}} {}{}", name, std::max(name_width, 8),
                                        progressBar(fraction, bar_width), numbers),
                            columns));
    }
    if (running.size() > shown) {
        lines.push_back(fit(fmt::format("  ... and {} more", running.size() - shown), columns));
    }
    // The rate and the ETA come first: a narrow terminal cuts the counts, not them.
    std::string counts =
        fmt::format("  {}/{} tables, {} {}", totals.tables_done, totals.tables,
                    util::formatBytes(static_cast<double>(totals.bytes)), totals.verb);
    if (totals.indexes > 0) {
        counts += fmt::format(", indexes {}/{}", totals.indexes_built, totals.indexes);
    }
    std::string speed = fmt::format(" {}/s ETA {}", util::formatBytes(totals.bytes_per_second),
                                    formatEta(totals.eta_seconds));
    int total_bar = std::clamp(columns - static_cast<int>(11 + speed.size() + counts.size()) - 2,
                               10, bar_width);
    std::string total =
        fmt::format("total {:>3.0f}% {}{}{}", std::clamp(totals.fraction, 0.0, 1.0) * 100,
                    progressBar(totals.fraction, total_bar), speed, counts);
    lines.push_back(fit(total, columns));
    return lines;
}

std::string eraseLive(int lines) {
    if (lines <= 0) {
        return "";
    }
    // Back to the first column, up to the first line of the display, erase to the end.
    return lines > 1 ? fmt::format("\r\033[{}A\033[J", lines - 1) : "\r\033[J";
}

}  // namespace pgsluice::engine
