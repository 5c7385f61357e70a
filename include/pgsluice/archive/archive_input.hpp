#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::archive {

// How an archive is to be read.
enum class Access {
    best,        // a regular file through its footer index, anything else front to back
    sequential,  // front to back whatever the input (every frame checked in order)
};

// An archive opened for reading: exactly one of `file` (random access through the footer
// index, units in any order and in parallel) and `stream` (front to back: a pipe, standard
// input, or a file read in order) is set. The one opener of restore and inspect.
struct ArchiveInput {
    std::optional<SeekableArchive> file;
    std::optional<ArchiveReader> stream;
    std::string name;        // the path, or "standard input"
    std::uint64_t size = 0;  // bytes of a regular file; 0 for a stream

    // Opens `path`, or standard input for "-" (refused with UsageError when it is a terminal:
    // `what` then says what to pipe in). Throws Error when the input cannot be opened,
    // FormatError when it is not an intact pgsluice archive (for a file through its index: a
    // damaged or missing footer).
    static ArchiveInput open(const std::string& path, io::IoMode mode, Access access,
                             const std::string& what);
};

}  // namespace pgsluice::archive
