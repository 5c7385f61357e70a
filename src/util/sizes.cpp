#include "pgsluice/util/sizes.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <utility>

#include "pgsluice/error.hpp"

namespace pgsluice::util {

namespace {

// A number and its unit, split: "1.5 GB" -> {1.5, "gb"}. The number is digits with at most one
// dot and at least one digit; nothing is ignored. Empty when `text` does not start so.
std::optional<std::pair<double, std::string>> splitQuantity(const std::string& text) {
    size_t i = 0;
    size_t digits = 0;
    size_t dots = 0;
    for (; i < text.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(text[i]))) {
            ++digits;
        } else if (text[i] == '.') {
            ++dots;
        } else {
            break;
        }
    }
    if (digits == 0 || dots > 1) {
        return std::nullopt;
    }
    std::string unit;
    for (char c : text.substr(i)) {
        if (c != ' ') {
            unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    return std::make_pair(std::strtod(text.substr(0, i).c_str(), nullptr), unit);
}

}  // namespace

long long parseSize(const std::string& text) {
    std::optional<std::pair<double, std::string>> q = splitQuantity(text);
    if (!q) {
        throw UsageError(fmt::format("'{}' is not a size: write e.g. 1GB, 512MB or 1048576", text));
    }
    const auto& [value, unit] = *q;
    double mult = 1;
    if (unit.empty() || unit == "b") {
        mult = 1;
    } else if (unit == "k" || unit == "kb" || unit == "kib") {
        mult = 1024.0;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
        mult = 1024.0 * 1024;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
        mult = 1024.0 * 1024 * 1024;
    } else if (unit == "t" || unit == "tb" || unit == "tib") {
        mult = 1024.0 * 1024 * 1024 * 1024;
    } else {
        throw UsageError(fmt::format("'{}' has an unknown unit: use B, kB, MB, GB or TB", text));
    }
    return static_cast<long long>(std::llround(value * mult));
}

long long parseDuration(const std::string& text) {
    std::optional<std::pair<double, std::string>> q = splitQuantity(text);
    if (!q) {
        throw UsageError(fmt::format(
            "'{}' is not a duration: write e.g. 60s, 2min or 1h (0 turns it off)", text));
    }
    const auto& [value, unit] = *q;
    double seconds = 0;
    if (unit.empty() || unit == "s" || unit == "sec") {
        seconds = value;
    } else if (unit == "ms") {
        seconds = value / 1000;
    } else if (unit == "m" || unit == "min") {
        seconds = value * 60;
    } else if (unit == "h") {
        seconds = value * 3600;
    } else {
        throw UsageError(fmt::format("'{}' has an unknown unit: use ms, s, min or h", text));
    }
    return static_cast<long long>(std::ceil(seconds));
}

std::string formatBytes(double bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u])
                  : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace pgsluice::util
