#pragma once

// `pgsluice inspect`: what an archive holds (source, filters, tables, rows, checksums) and
// whether it is complete, read from a file through its footer index or from a pipe in order.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "pgsluice/archive/format.hpp"
#include "pgsluice/engine/manifest.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::engine {

// Everything `pgsluice inspect` was asked.
struct InspectOptions {
    std::string file;  // a path, or "-" for standard input
    io::IoMode io = io::IoMode::automatic;
    bool json = false;
    // Read and check every frame of a file (a pipe is always read and checked whole).
    bool verify = false;
};

// What the archive layer told about an archive, besides its manifests.
struct ArchiveFacts {
    std::string name;
    std::uint64_t size = 0;  // bytes of the whole archive, trailer included
    archive::ArchiveHeader header;
    // "io_uring" or "sync": the sequential reader's backend; "sync" through the footer index,
    // whose positional reads are pread(2) whatever --io says.
    std::string io_backend;
    bool seekable = false;                    // read through the footer index (else front to back)
    bool payloads_verified = false;           // every frame's checksum was checked
    std::vector<archive::IndexEntry> frames;  // every frame but the footer, in file order
};

// The report inspect prints, as JSON with stable keys; `results` may be null (no results
// manifest). Cross-checks contents, results and frames: what disagrees is listed under
// "problems" and makes "status" "damaged". Pure: reads no file.
nlohmann::ordered_json buildInspectReport(const ArchiveFacts& facts, const Contents& contents,
                                          const Results* results);

// The report as aligned text for people.
std::string formatInspectText(const nlohmann::ordered_json& report);

// "15.4" for server_version_num 150004, "9.6.24" for 90624, "unknown" for 0.
std::string formatServerVersion(int server_version_num);

// Microseconds since the epoch as ISO 8601 UTC: "2024-05-01T12:34:56.789012Z" (a description
// instead for a time gmtime cannot show).
std::string formatUnixMicros(std::int64_t micros);

// Reads the archive, prints the report to `out` (text or JSON). Throws FormatError/Error
// (exit 1) on a damaged, truncated or inconsistent archive or one that is not a pgsluice dump,
// naming what could be read before the damage; an inconsistent archive's report is printed
// first.
void runInspect(const InspectOptions& options, std::ostream& out);

}  // namespace pgsluice::engine
