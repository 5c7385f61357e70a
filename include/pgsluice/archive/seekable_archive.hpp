#pragma once

// Random access to an archive file through its footer index, so that restore can load many
// units in parallel. Opening reads and checks the file header, the trailer and the whole index
// (checksums, frame order, every frame's place in the file); frames are then read on demand with
// positional reads, each verified against its index entry and its checksum.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/io/file_reader.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::archive {

// The data frames of one unit, from the index. A unit written in several attempts (version 2:
// a retried unit, its earlier attempts closed by abandoned unit-end frames) is described by its
// last attempt, the one its closing unit-end frame closes: the earlier attempts' frames are void
// and appear only in entries().
struct UnitInfo {
    std::uint32_t unit = 0;
    std::vector<std::size_t> frames;  // positions in SeekableArchive::entries(), seq order
    std::size_t end_frame = 0;        // position of its (closing) unit-end frame
    std::uint64_t rows = 0;           // of `frames`
    std::uint64_t raw_bytes = 0;      // of `frames`
    std::uint64_t stored_bytes = 0;   // of `frames`
    std::uint32_t attempts = 1;       // 1 + the abandoned attempts before the last one
};

// An archive opened through its footer. Move-only. After construction every member is const
// and may be used from any number of threads at once, each with its own FrameDecoder.
class SeekableArchive {
  public:
    // Opens `path` and checks header, trailer and index; throws Error if it cannot be read,
    // FormatError if it is damaged, truncated or not an archive of version 1 or 2.
    static SeekableArchive open(const std::string& path, io::IoMode mode = io::IoMode::automatic);

    // Same, over an already open regular file; throws Error if `input` is not seekable.
    explicit SeekableArchive(io::FileReader input);

    // The file header.
    const ArchiveHeader& header() const noexcept { return header_; }
    // Every frame but the footer, in file order.
    const std::vector<IndexEntry>& entries() const noexcept { return entries_; }
    // Every data unit (all closed by a unit-end frame), in the order their first frame appears.
    const std::vector<UnitInfo>& units() const noexcept { return units_; }
    // The unit with id `unit`, or null.
    const UnitInfo* findUnit(std::uint32_t unit) const noexcept;
    // The archive's name, for messages.
    const std::string& name() const noexcept { return input_.name(); }

    // Reads the frame of `entry` (one of entries()) with a positional read, checks that its
    // header matches the index and its checksum, and decompresses it with `decoder`. The payload
    // lives in `decoder` until its next use. Thread-safe with one decoder per thread. Throws
    // FormatError naming the offset, unit and seq on any mismatch.
    Frame readFrame(const IndexEntry& entry, FrameDecoder& decoder) const;

    // The whole schema or manifest stream (`type`, `unit`), its frames' payloads concatenated.
    // Throws Error if the archive has no such stream.
    std::string readBlob(FrameType type, std::uint32_t unit, FrameDecoder& decoder) const;

  private:
    void load();

    io::FileReader input_;
    ArchiveHeader header_;
    std::vector<IndexEntry> entries_;
    std::vector<UnitInfo> units_;
};

}  // namespace pgsluice::archive
