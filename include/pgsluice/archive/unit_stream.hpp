#pragma once

// One unit's COPY stream in and out of an archive's data frames. A data frame holds whole rows
// only (binary: tuples without the stream's header and trailer; text: whole lines), so any frame
// can be loaded on its own and a unit's rows can be digested frame by frame.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/copy/row_splitter.hpp"

namespace pgsluice::archive {

// Raw bytes per data frame: large enough that zstd and the index overheads vanish, small enough
// that a worker's buffers stay a few MiB.
inline constexpr std::size_t data_frame_bytes = std::size_t{4} << 20;

// The frame being filled for one unit: records (rows, large-object chunks) are appended whole,
// and a frame of about data_frame_bytes is compressed on the caller's thread and appended to the
// archive.
class FrameBuffer {
  public:
    FrameBuffer(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit);

    // The frame being filled: append whole records, then call recordAdded().
    std::string& buffer() { return buffer_; }
    // Counts one record and writes the frame once it is full.
    void recordAdded();
    // Counts records appended without flushing (text: the caller flushes at a line end).
    void addRecords(std::uint64_t records) { records_ += records; }
    // Writes buffer()[0, length) as a frame of the records counted so far; keeps the rest,
    // which must hold no complete record.
    void flush(std::size_t length);
    // Writes what is left and closes the unit with its unit-end frame.
    void close();
    // Payload bytes written so far.
    std::uint64_t rawBytes() const { return raw_bytes_; }

  private:
    ArchiveWriter& writer_;
    FrameEncoder& encoder_;
    std::uint32_t unit_;
    std::uint32_t seq_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t raw_bytes_ = 0;
    std::string buffer_;
};

// A sink that stores one unit's COPY stream (binary or text) in data frames and digests the
// rows it stores; finish() checks the stream ended well and closes the unit.
class UnitWriter : public copy::ChunkSink {
  public:
    // `columns`: the fields every binary row must have.
    UnitWriter(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit, bool binary,
               int columns);

    void write(std::string_view chunk) override;
    void finish() override;
    // The rows stored so far.
    const copy::RowDigest& digest() const { return binary_ ? digest_ : lines_.digest(); }
    // Payload bytes written so far.
    std::uint64_t rawBytes() const { return frames_.rawBytes(); }

  private:
    bool binary_;
    FrameBuffer frames_;
    copy::RowSplitter splitter_;
    copy::RowDigest digest_;    // binary
    copy::StreamDigest lines_;  // text
};

// The COPY stream of one unit rebuilt from its data frames: for binary the COPY header, the
// frames' rows and the trailer; for text the lines alone.
class UnitSource : public copy::ChunkSource {
  public:
    explicit UnitSource(bool binary) : binary_(binary) {}

    std::optional<std::string_view> next() final;

  protected:
    // The next frame's payload, or nothing after the unit's last frame.
    virtual std::optional<std::string_view> nextPayload() = 0;

  private:
    enum class Step { header, frames, trailer, done };
    bool binary_;
    Step step_ = Step::header;
};

// A unit read from an archive file through its index, frame by frame with the caller's decoder.
class UnitReader : public UnitSource {
  public:
    // `archive`, `unit` and `decoder` must outlive the reader.
    UnitReader(const SeekableArchive& archive, const UnitInfo& unit, FrameDecoder& decoder,
               bool binary)
        : UnitSource(binary), archive_(archive), unit_(unit), decoder_(decoder) {}

  protected:
    std::optional<std::string_view> nextPayload() override;

  private:
    const SeekableArchive& archive_;
    const UnitInfo& unit_;
    FrameDecoder& decoder_;
    std::size_t next_frame_ = 0;
};

}  // namespace pgsluice::archive
