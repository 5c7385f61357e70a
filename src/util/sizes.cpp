#include "pgsluice/util/sizes.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "pgsluice/error.hpp"

namespace pgsluice::util {

long long parseSize(const std::string& text) {
    size_t i = 0;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    if (i == 0) {
        throw UsageError(fmt::format("'{}' is not a size: write e.g. 1GB, 512MB or 1048576", text));
    }
    double value = std::strtod(text.substr(0, i).c_str(), nullptr);
    std::string unit;
    for (char c : text.substr(i)) {
        if (c != ' ') {
            unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
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
    size_t i = 0;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    if (i == 0) {
        throw UsageError(fmt::format(
            "'{}' is not a duration: write e.g. 60s, 2min or 1h (0 turns it off)", text));
    }
    double value = std::strtod(text.substr(0, i).c_str(), nullptr);
    std::string unit;
    for (char c : text.substr(i)) {
        if (c != ' ') {
            unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
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
