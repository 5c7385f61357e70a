#include "stream_tracker.hpp"

#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::archive::detail {

namespace {

[[noreturn]] void fail(std::string_view source, std::uint64_t offset, const FrameHeader& header,
                       const std::string& problem) {
    throw FormatError("archive " + std::string{source} + ": " + describeFrame(header) +
                      " at byte " + std::to_string(offset) + " " + problem);
}

}  // namespace

void StreamTracker::acceptUnitEnd(const FrameHeader& header, StreamState& state,
                                  std::uint64_t offset, std::string_view source) const {
    if (state.closed) {
        fail(source, offset, header,
             header.abandoned() ? "abandons an attempt at a unit that was already closed"
                                : "closes a unit that was already closed");
    }
    if (header.abandoned() && version_ < 2) {
        fail(source, offset, header, "is not allowed in a version 1 archive");
    }
    const std::string attempt = header.abandoned() ? "attempt" : "unit";
    if (header.seq != state.frames) {
        fail(source, offset, header,
             "says the " + attempt + " has " + std::to_string(header.seq) + " data frames, but " +
                 std::to_string(state.frames) + " were found: a data frame is missing");
    }
    if (header.rows != state.rows) {
        fail(source, offset, header,
             "says the " + attempt + " has " + std::to_string(header.rows) +
                 " rows, but its data frames hold " + std::to_string(state.rows));
    }
    if (!header.abandoned() && state.continued) {
        fail(source, offset, header,
             "follows a continued data frame: the unit's last row is cut off (its data frame " +
                 std::to_string(state.frames - 1) + " ends inside it)");
    }
}

void StreamTracker::accept(const FrameHeader& header, std::uint64_t offset,
                           std::string_view source) {
    if (header.type == FrameType::footer) {
        fail(source, offset, header, "is not where a footer may be");
    }
    auto [it, inserted] = streams_.try_emplace(key(header.type, header.unit));
    StreamState& state = it->second;
    if (inserted) {
        state.first_offset = offset;
    }
    if (header.type == FrameType::unit_end) {
        acceptUnitEnd(header, state, offset, source);
        if (header.abandoned()) {
            // The attempt's frames are void: the unit starts over.
            ++state.abandoned;
            state.frames = 0;
            state.rows = 0;
            state.continued = false;
        } else {
            state.closed = true;
        }
        return;
    }
    if (state.closed) {
        fail(source, offset, header,
             header.type == FrameType::data ? "comes after the unit-end frame of its unit"
                                            : "comes after the final frame of its stream");
    }
    if (header.continued() && version_ < 2) {
        fail(source, offset, header, "is continued, which a version 1 archive cannot be");
    }
    if (header.seq != state.frames) {
        fail(source, offset, header,
             "is out of order: expected seq " + std::to_string(state.frames) +
                 " (a frame is missing or repeated)");
    }
    if (state.frames == ~std::uint32_t{0}) {
        fail(source, offset, header, "overflows the unit's frame count");
    }
    if (header.rows > ~std::uint64_t{0} - state.rows) {
        fail(source, offset, header, "overflows the unit's row count");
    }
    ++state.frames;
    state.rows += header.rows;
    state.continued = header.continued();
    if (header.final()) {
        state.closed = true;
    }
}

void StreamTracker::checkAllClosed(std::string_view source, std::uint64_t offset) const {
    const std::pair<const std::uint64_t, StreamState>* earliest = nullptr;
    for (const auto& entry : streams_) {
        if (!entry.second.closed &&
            (earliest == nullptr || entry.second.first_offset < earliest->second.first_offset)) {
            earliest = &entry;
        }
    }
    if (earliest == nullptr) {
        return;
    }
    const auto type = static_cast<std::uint8_t>(earliest->first >> 32);
    const auto unit = static_cast<std::uint32_t>(earliest->first);
    const StreamState& state = earliest->second;
    std::string what =
        type == static_cast<std::uint8_t>(FrameType::data)
            ? "data unit " + std::to_string(unit) + " has no unit-end frame"
            : frameTypeName(type) + " stream " + std::to_string(unit) + " has no final frame";
    std::string frames =
        std::to_string(state.frames) + " frames from byte " + std::to_string(state.first_offset);
    if (state.abandoned != 0) {
        frames = std::to_string(state.abandoned) + " abandoned attempts, then " +
                 std::to_string(state.frames) + " frames; from byte " +
                 std::to_string(state.first_offset);
    }
    throw FormatError("archive " + std::string{source} + ": " + what + " (" + frames +
                      ") before the footer at byte " + std::to_string(offset));
}

StreamState StreamTracker::dataUnit(std::uint32_t unit) const {
    const auto it = streams_.find(key(FrameType::data, unit));
    return it == streams_.end() ? StreamState{} : it->second;
}

StreamState StreamTracker::blob(FrameType type, std::uint32_t unit) const {
    const auto it = streams_.find(key(type, unit));
    return it == streams_.end() ? StreamState{} : it->second;
}

}  // namespace pgsluice::archive::detail
