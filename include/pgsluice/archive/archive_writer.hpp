#pragma once

// Writes an archive: file header, frames in the order they are appended, footer index, trailer.
//
// Workers compress on their own threads with a FrameEncoder each and hand the finished frame
// bytes to appendFrame(), which is the one serialised step: it checks the frame's place in its
// unit, copies it into the file writer's buffers (io_uring or plain writes) and records it in the
// index. Memory stays bounded by the encoders' buffers plus the file writer's buffers.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/zstd_context.hpp"
#include "pgsluice/io/file_descriptor.hpp"
#include "pgsluice/io/file_writer.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::archive {

// How an ArchiveWriter writes.
struct ArchiveWriterOptions {
    io::IoMode io = io::IoMode::automatic;
    // zstd level of the frames the writer encodes itself (schema, manifest, footer); data frames
    // come compressed by the caller's FrameEncoder.
    int level = default_compression_level;
    io::WriterOptions buffers{};
    // Recorded in the file header ("pgsluice 0.1.0").
    std::string writer_name = "pgsluice";
    // appendBlob() splits its bytes into frames of at most this many raw bytes.
    std::size_t blob_chunk_size = std::size_t{16} << 20;
    // The format version written in the file header: format_version, or 1 (for tests and
    // readers of version 1 only; abandonUnit() and continued frames are refused then).
    std::uint16_t format_version = archive::format_version;
};

// What endUnit() recorded for a unit.
struct UnitSummary {
    std::uint32_t unit = 0;
    std::uint32_t frames = 0;  // data frames
    std::uint64_t rows = 0;
};

// Appends frames to a new archive. Move-only. appendFrame(), appendBlob(), endUnit() and the
// accessors may be called from several threads at once; finish() once, after all of them.
class ArchiveWriter {
  public:
    // Creates the archive at `path` atomically (it appears under its name only when finish()
    // succeeds) and writes the file header. Throws Error if the file cannot be created.
    static ArchiveWriter create(const std::string& path, ArchiveWriterOptions options = {});

    // Writes the archive to `fd` (e.g. FileDescriptor::borrow(1) for `-f -`); `name` is used in
    // messages. The file header is written at once.
    ArchiveWriter(io::FileDescriptor fd, std::string name, ArchiveWriterOptions options = {});

    // Without a successful finish(): waits for writes in flight and removes the temporary file
    // (a descriptor is left with an archive that has no footer, which every reader rejects as
    // truncated). Never throws.
    ~ArchiveWriter();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    ArchiveWriter(ArchiveWriter&&) noexcept;
    ArchiveWriter& operator=(ArchiveWriter&&) noexcept;
    ArchiveWriter(const ArchiveWriter&) = delete;
    ArchiveWriter& operator=(const ArchiveWriter&) = delete;

    // Appends one whole frame built by FrameEncoder::encode() (data, schema or manifest).
    // Thread-safe. Throws FormatError if the frame is malformed or breaks the order of its unit
    // (seq must count 0, 1, 2... per attempt at a unit, nothing after endUnit()); nothing is
    // written then. Throws Error if writing fails; the writer is then unusable.
    void appendFrame(std::string_view frame);

    // Encodes `bytes` as the whole schema or manifest stream (`type`, `unit`), in frames of at
    // most blob_chunk_size raw bytes, the last one flagged final; an empty blob is one empty
    // frame. Compresses on the calling thread, under the writer's lock. Thread-safe.
    void appendBlob(FrameType type, std::uint32_t unit, std::string_view bytes);

    // Closes data unit `unit` with a unit-end frame that records its data frame count and total
    // rows (a unit without data frames is closed with 0 and 0). Thread-safe. Throws FormatError
    // if the unit is already closed or its last data frame is continued (its last row would be
    // cut off).
    UnitSummary endUnit(std::uint32_t unit);

    // Voids the data frames of unit `unit` appended since its start (or since its previous
    // abandonUnit()) with an abandoned unit-end frame that records their count and rows: a
    // reader ignores them, and the unit's next data frame has seq 0 again (a retried unit is
    // written from its start). The unit stays open: endUnit() still closes it. Thread-safe.
    // Throws FormatError if the unit is already closed or the archive is version 1.
    void abandonUnit(std::uint32_t unit);

    // Waits until no write is in flight: a thread that appended must call it before it ends
    // (see io::FileWriter::settle()). Thread-safe. Throws Error if a write failed.
    void settle();

    // Writes the footer index and the trailer, waits for every write, fsyncs, and renames the
    // file into place. Throws FormatError if a unit or stream was left open, Error if writing
    // fails. A second call after success does nothing.
    void finish();

    // Bytes appended so far (header and frames).
    std::uint64_t bytesWritten() const;
    // Frames appended so far, footer excluded.
    std::size_t frameCount() const;
    // The file writer's backend: "io_uring" or "sync".
    std::string_view backendName() const;
    // The archive's final path, or the name given for a descriptor.
    const std::string& name() const;

  private:
    class Impl;
    explicit ArchiveWriter(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pgsluice::archive
