#pragma once

// Reading a whole archive for `inspect`: its header, its manifests and the index of its frames,
// through the footer of a file (every frame re-read with --verify) or front to back from a pipe.
// Damage is a FormatError that says first what was read intact before it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::engine {

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

// Everything read from an archive.
struct Inspection {
    ArchiveFacts facts;
    archive::Contents contents;
    std::optional<archive::Results> results;
};

// Reads the archive at `file` ("-": standard input) the best way its input allows; with
// `verify`, every frame of a file too (a stream is always read and checked whole). Throws
// FormatError/Error (exit 1) on a damaged, truncated or foreign archive, naming what could be
// read before the damage.
Inspection inspectArchive(const std::string& file, io::IoMode io, bool verify);

// What the index says about one data unit. The counters are those of its last attempt: an
// abandoned unit-end frame (a retried unit, format version 2) voids the frames before it and
// restarts them.
struct UnitFrames {
    std::uint64_t data_frames = 0;
    std::uint64_t rows = 0;  // sum of its data frames' rows
    std::uint64_t raw_bytes = 0;
    std::uint64_t stored_bytes = 0;
    bool closed = false;         // its (closing) unit-end frame is among the frames
    std::uint32_t attempts = 1;  // 1 + its abandoned attempts
};

// The data units of `frames`, by unit id.
std::map<std::uint32_t, UnitFrames> unitsOf(const std::vector<archive::IndexEntry>& frames);

// "schema.name" of an archived table, from the contents' catalog.
std::string tableName(const archive::Contents& contents, const archive::ArchivedTable& table);

// Up to `limit` names joined by `separator`, with "..." when there are more.
std::string joinNames(const std::vector<std::string>& names, std::size_t limit = 10,
                      std::string_view separator = ", ");

}  // namespace pgsluice::engine
