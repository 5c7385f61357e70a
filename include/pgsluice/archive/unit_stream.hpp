#pragma once

// One unit's COPY stream in and out of an archive's data frames. A unit's data frames hold its
// rows in order (binary: tuples without the stream's header and trailer; text: lines): whole rows
// as a rule, frames being cut at row ends, except that a row too large for one frame spans
// several, each but the last flagged continued (format version 2). Their payloads concatenate
// into the unit's COPY stream whatever the flags.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/copy/row_stream.hpp"

namespace pgsluice::archive {

// Raw bytes per data frame: large enough that zstd and the index overheads vanish, small enough
// that a worker's buffers stay a few MiB.
inline constexpr std::size_t data_frame_bytes = std::size_t{4} << 20;

// The frame being filled for one unit: records (rows, large-object chunks) are appended whole,
// and a frame of about frame_bytes (data_frame_bytes unless told) is compressed on the caller's
// thread and appended to the archive.
class FrameBuffer {
  public:
    FrameBuffer(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit,
                std::size_t frame_bytes = data_frame_bytes);

    // The frame being filled: append whole records, then call recordAdded().
    std::string& buffer() { return buffer_; }
    const std::string& buffer() const { return buffer_; }
    // Counts one record and writes the frame once it holds frameBytes() or more.
    void recordAdded();
    // Counts records appended without flushing (text: the caller flushes at a line end).
    void addRecords(std::uint64_t records) { records_ += records; }
    // Writes buffer()[0, length) as a frame of the records counted so far; keeps the rest,
    // which must hold no complete record. `continued` (version 2): the frame ends inside a
    // record that the rest of the buffer and the next frames continue. An empty frame is not
    // written.
    void flush(std::size_t length, bool continued = false);
    // Writes what is left and closes the unit with its unit-end frame.
    void close();
    // Voids this attempt at the unit (version 2): drops the buffer, writes an abandoned unit-end
    // frame for the frames written so far and starts the unit over (seq 0, no bytes written).
    void abandon();
    // Payload bytes written so far (in this attempt).
    std::uint64_t rawBytes() const { return raw_bytes_; }
    // The frame size this buffer cuts at.
    std::size_t frameBytes() const { return frame_bytes_; }
    // Data frames written so far (in this attempt).
    std::uint32_t framesWritten() const { return seq_; }

  private:
    ArchiveWriter& writer_;
    FrameEncoder& encoder_;
    std::uint32_t unit_;
    std::size_t frame_bytes_;
    std::uint32_t seq_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t raw_bytes_ = 0;
    std::string buffer_;
};

// A sink that stores one unit's COPY stream (binary or text) in data frames and digests the
// rows it stores; finish() checks the stream ended well and closes the unit.
//
// Bytes go into the frame buffer as they arrive, never a whole row at once: a frame is written
// at a row end once the buffer holds frame_bytes or more (so ordinary rows never span frames),
// and in the middle of a row, flagged continued, once it holds 2 * frame_bytes. Rows are
// digested as they arrive (copy::RowStream, copy::RowHasher). The buffer therefore never holds
// more than 2 * frame_bytes, whatever the row size, and the digest is RowDigest::addRow() of
// each row's whole bytes (binary: the tuple; text: the line without its newline).
class UnitWriter : public copy::ChunkSink {
  public:
    // `columns`: the fields every binary row must have. `frame_bytes`: where frames are cut
    // (tests use small frames); 2 * frame_bytes must not exceed max_raw_length.
    UnitWriter(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit, bool binary,
               int columns, std::size_t frame_bytes = data_frame_bytes);

    void write(std::string_view chunk) override;
    void finish() override;
    // Voids what this attempt at the unit wrote (an abandoned unit-end frame, see
    // ArchiveWriter::abandonUnit) and starts over: the next write() is the start of the unit's
    // COPY stream again, and digest() and rawBytes() count from zero. For a unit retried after
    // its source connection failed. Throws FormatError after finish().
    void abandon();
    // The rows stored so far (in this attempt).
    const copy::RowDigest& digest() const { return digest_; }
    // Payload bytes written so far (in this attempt).
    std::uint64_t rawBytes() const { return frames_.rawBytes(); }
    // The most bytes the frame buffer held at once, and the memory it reserves now: both at
    // most 2 * frame_bytes.
    std::size_t bufferHighWater() const { return high_water_; }
    std::size_t bufferCapacity() const;
    // Attempts abandoned so far.
    std::uint32_t abandonedAttempts() const { return abandoned_; }

  private:
    // Appends bytes of one row (binary) or line (text, its newline included) to the frame
    // buffer, writing continued frames whenever it is full; `row_end`: the row ends with them.
    void append(std::string_view bytes, bool row_end);

    bool binary_;
    FrameBuffer frames_;
    copy::RowStream rows_;  // binary
    bool in_line_ = false;  // text: a line has started and not ended
    copy::RowHasher hasher_;
    copy::RowDigest digest_;
    std::size_t high_water_ = 0;
    std::uint32_t abandoned_ = 0;
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

// A unit read from an archive file through its index, frame by frame with the caller's decoder:
// the frames of its closing attempt (UnitInfo::frames), continued or not.
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
