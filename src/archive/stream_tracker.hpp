#pragma once

// The ordering rules of frames, shared by the writer (which refuses to break them), the
// sequential reader and the footer check of the seekable reader. Private to src/archive.
//
// A stream is a data unit (its data frames and its unit-end frames) or a schema/manifest stream
// (type + unit). Within a stream seq counts 0, 1, 2... in file order; a unit-end frame closes a
// data unit and repeats its data frame count (seq) and total rows; the frame with the final
// flag closes a schema/manifest stream. Nothing may follow a closed stream.
//
// Version 2: an abandoned unit-end frame closes an attempt at a unit instead (same seq and rows
// rules over the attempt's frames); the unit stays open and its next data frame has seq 0 again.
// A continued data frame ends inside a row: the unit's next data frame continues it, so the last
// data frame before a closing unit-end must not be continued.

#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "pgsluice/archive/format.hpp"

namespace pgsluice::archive::detail {

// What has been seen of one stream.
struct StreamState {
    std::uint32_t frames = 0;  // frames accepted so far in the current attempt (the next seq)
    std::uint64_t rows = 0;    // rows of the current attempt's data frames so far
    std::uint64_t first_offset = 0;
    std::uint32_t abandoned = 0;  // attempts closed by an abandoned unit-end (data units only)
    bool continued = false;       // the last data frame of the current attempt is continued
    bool closed = false;
};

class StreamTracker {
  public:
    // A tracker for an archive of format `version` (flags it cannot have are refused).
    explicit StreamTracker(std::uint16_t version = format_version) : version_(version) {}

    // Checks that `header`, found at `offset`, may follow the frames accepted so far and records
    // it; throws FormatError naming the source, offset, unit and seq otherwise. Not for footers.
    void accept(const FrameHeader& header, std::uint64_t offset, std::string_view source);

    // Throws FormatError naming the earliest stream still open (a unit without its unit-end
    // frame, a schema/manifest stream without its final frame); `offset` is where the footer is.
    void checkAllClosed(std::string_view source, std::uint64_t offset) const;

    // The state of data unit `unit` (all zero if it has no frame yet).
    StreamState dataUnit(std::uint32_t unit) const;

    // The state of a schema or manifest stream (all zero if it has no frame yet).
    StreamState blob(FrameType type, std::uint32_t unit) const;

    std::uint16_t version() const noexcept { return version_; }

  private:
    static std::uint64_t key(FrameType type, std::uint32_t unit) noexcept {
        // A unit-end frame belongs to the stream of its data frames.
        const FrameType stream = type == FrameType::unit_end ? FrameType::data : type;
        return (std::uint64_t{static_cast<std::uint8_t>(stream)} << 32) | unit;
    }
    void acceptUnitEnd(const FrameHeader& header, StreamState& state, std::uint64_t offset,
                       std::string_view source) const;

    std::uint16_t version_;
    std::unordered_map<std::uint64_t, StreamState> streams_;
};

}  // namespace pgsluice::archive::detail
