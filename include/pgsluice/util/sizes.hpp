#pragma once

#include <string>

namespace pgsluice::util {

// Parses sizes such as 1GB, 512MB, 100kB, 4096 (bytes; units are powers of 1024, case and a
// space before the unit do not matter). Throws UsageError naming the text.
long long parseSize(const std::string& text);

// Parses durations such as 90, 90s, 2min, 1h, 500ms into whole seconds (rounded up, so 500ms
// is 1). Throws UsageError naming the text.
long long parseDuration(const std::string& text);

// Formats a byte count for people: "512 B", "1.5 GB", "20.0 MB".
std::string formatBytes(double bytes);

}  // namespace pgsluice::util
