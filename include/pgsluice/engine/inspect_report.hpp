#pragma once

// The report `inspect` prints about an archive: JSON with stable keys, or aligned text.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/engine/inspection.hpp"

namespace pgsluice::engine {

// The report as JSON with stable keys; `results` may be null (no results manifest).
// Cross-checks contents, results and frames: what disagrees is listed under "problems" and
// makes "status" "damaged". Pure: reads no file.
nlohmann::ordered_json buildInspectReport(const ArchiveFacts& facts,
                                          const archive::Contents& contents,
                                          const archive::Results* results);

// The report as aligned text for people.
std::string formatInspectText(const nlohmann::ordered_json& report);

// "15.4" for server_version_num 150004, "9.6.24" for 90624, "unknown" for 0.
std::string formatServerVersion(int server_version_num);

// Microseconds since the epoch as ISO 8601 UTC: "2024-05-01T12:34:56.789012Z" (a description
// instead for a time gmtime cannot show).
std::string formatUnixMicros(std::int64_t micros);

}  // namespace pgsluice::engine
