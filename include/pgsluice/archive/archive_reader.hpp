#pragma once

// Reads an archive front to back: from a pipe (`restore -f -`) or a file. Every frame is checked
// (header fields, checksum, its place in its unit) before it is handed out, the footer index must
// match the frames that were read, and the stream must end exactly after the trailer. A stream
// that stops earlier is reported as truncated: frames handed out before that were intact, and the
// unit-end frames seen so far tell which units are complete.
//
// Version 2 archives (see format.hpp): an abandoned unit-end frame (header.abandoned()) is handed
// out like any frame. It voids the data frames of its unit handed out since the unit's start or
// its previous abandoned unit-end: a caller discards the rows it took from them (a retried unit
// then starts again at seq 0). Only the unit-end frame without the flag closes the unit. A
// continued data frame (header.continued()) ends inside a row that the unit's next data frame
// continues: the payloads of a unit's frames concatenate into its COPY stream whatever the
// flags.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/archive/format.hpp"
#include "pgsluice/io/file_reader.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::archive {

// One frame, verified and decompressed.
struct Frame {
    FrameHeader header;
    std::uint64_t offset = 0;  // where the frame header starts in the archive
    // The raw payload: COPY rows (data), schema or manifest bytes, empty for a unit-end frame.
    // Points into the reader's buffers: valid until the next call on the same reader (sequential)
    // or decoder (seekable).
    std::string_view payload;
};

// Sequential reader. Move-only; one thread.
class ArchiveReader {
  public:
    // Opens `path` and reads its file header; throws Error if it cannot be opened, FormatError
    // if it is not a pgsluice archive of a version this code reads (1 or 2).
    static ArchiveReader open(const std::string& path, io::IoMode mode = io::IoMode::automatic);

    // Reads from `input` (e.g. standard input) starting with the file header, which is read and
    // checked now; throws FormatError as open() does.
    explicit ArchiveReader(io::FileReader input);

    ~ArchiveReader();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    ArchiveReader(ArchiveReader&&) noexcept;
    ArchiveReader& operator=(ArchiveReader&&) noexcept;
    ArchiveReader(const ArchiveReader&) = delete;
    ArchiveReader& operator=(const ArchiveReader&) = delete;

    // The file header.
    const ArchiveHeader& header() const noexcept;

    // Reads, verifies and decompresses the next frame into `out` and returns true; returns false
    // once the footer and the trailer have been read and verified and the input has ended. Throws
    // FormatError (naming the byte offset and the frame's type, unit and seq) on damage or
    // truncation ("archive X truncated at byte N: the footer is missing"), Error on a read error;
    // every later call throws again.
    bool next(Frame& out);

    // Every frame read so far, in file order; after next() returned false, this equals the
    // footer's index.
    const std::vector<IndexEntry>& framesRead() const noexcept;
    // After next() threw: the header of the frame it was reading, when that header was read and
    // passed its field checks (its unit and seq may still be the damaged part: the checksum
    // covers them); null when the failure came before or between frames.
    const FrameHeader* failedFrame() const noexcept;
    // Bytes consumed so far.
    std::uint64_t position() const noexcept;
    // The input's name.
    const std::string& name() const noexcept;
    // The input's backend: "io_uring" or "sync".
    std::string_view backendName() const noexcept;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pgsluice::archive
