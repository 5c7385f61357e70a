#include "pgsluice/archive/seekable_archive.hpp"

#include <algorithm>
#include <unordered_map>

#include "pgsluice/error.hpp"
#include "stream_tracker.hpp"

namespace pgsluice::archive {

SeekableArchive SeekableArchive::open(const std::string& path, io::IoMode mode) {
    return SeekableArchive(io::FileReader::open(path, mode));
}

SeekableArchive::SeekableArchive(io::FileReader input) : input_(std::move(input)) {
    if (!input_.seekable()) {
        throw Error("archive " + input_.name() +
                    " is not a regular file, so it can only be read in order; read it with "
                    "ArchiveReader (restore from a pipe is sequential)");
    }
    load();
}

namespace {

// Reads and checks the file header; returns it and sets `length` to its size in bytes.
ArchiveHeader readFileHeader(const io::FileReader& input, const std::string& name,
                             std::uint64_t size, std::uint32_t& header_length) {
    // File header. Magic and version are checked on the first 16 bytes before anything else,
    // so a newer archive is refused by version, whatever else changed.
    char prefix[16] = {};
    const std::size_t got = input.readAt(0, prefix, sizeof prefix);
    if (got == 0) {
        throw FormatError("archive " + name + " is empty: no file header");
    }
    if (got < sizeof prefix) {
        throw FormatError("archive " + name + " truncated at byte " + std::to_string(got) +
                          ": the file header is incomplete");
    }
    header_length = checkFileHeaderPrefix({prefix, sizeof prefix}, name);
    std::string header_bytes(header_length, '\0');
    if (input.readAt(0, header_bytes.data(), header_length) < header_length) {
        throw FormatError("archive " + name + " truncated at byte " + std::to_string(size) +
                          ": the file header (" + std::to_string(header_length) +
                          " bytes) is incomplete");
    }
    return decodeFileHeader(header_bytes, name);
}

// Reads the trailer and checks that it points at a footer ending where the trailer starts.
Trailer readTrailer(const io::FileReader& input, const std::string& name, std::uint64_t size,
                    std::uint32_t header_length) {
    if (size < std::uint64_t{header_length} + frame_header_size + trailer_size) {
        throw FormatError("archive " + name + " truncated at byte " + std::to_string(size) +
                          ": the footer is missing");
    }
    const std::uint64_t trailer_offset = size - trailer_size;
    char trailer_bytes[trailer_size];
    if (input.readAt(trailer_offset, trailer_bytes, trailer_size) < trailer_size) {
        throw FormatError("archive " + name + ": the file shrank while it was being opened");
    }
    const Trailer trailer = decodeTrailer({trailer_bytes, trailer_size}, name, trailer_offset);
    // Each test keeps the next subtraction from wrapping.
    if (trailer.footer_offset < header_length || trailer.footer_offset > trailer_offset ||
        trailer.footer_length != trailer_offset - trailer.footer_offset ||
        trailer.footer_length < frame_header_size ||
        trailer.footer_length > frame_header_size + max_footer_raw_length) {
        throw FormatError("archive " + name + ": the trailer at byte " +
                          std::to_string(trailer_offset) + " points to a footer at byte " +
                          std::to_string(trailer.footer_offset) + " of " +
                          std::to_string(trailer.footer_length) +
                          " bytes, which does not end where the trailer starts; the trailer is "
                          "damaged");
    }

    return trailer;
}

// Reads and decompresses the footer frame into `decoder`; returns the index bytes and sets
// `frames` to the number of entries it lists.
std::string_view readFooter(const io::FileReader& input, const std::string& name,
                            const Trailer& trailer, std::uint32_t header_length,
                            std::uint16_t version, FrameDecoder& decoder, std::uint64_t& frames) {
    char* footer = decoder.frameBuffer(trailer.footer_length);
    if (input.readAt(trailer.footer_offset, footer, trailer.footer_length) <
        trailer.footer_length) {
        throw FormatError("archive " + name + ": the file shrank while it was being opened");
    }
    const std::string_view footer_bytes(footer, trailer.footer_length);
    const FrameHeader footer_header =
        decodeFrameHeader(footer_bytes, name, trailer.footer_offset, version);
    if (footer_header.type != FrameType::footer ||
        footer_header.frameLength() != trailer.footer_length ||
        footer_header.checksum != trailer.footer_checksum) {
        throw FormatError("archive " + name + ": the trailer points to byte " +
                          std::to_string(trailer.footer_offset) + ", but the " +
                          describeFrame(footer_header) +
                          " there is not the footer it describes (length or checksum differ)");
    }
    // Every frame takes at least a header's worth of bytes: a count that cannot fit between
    // the file header and the footer is refused before it sizes the decompression buffer.
    const std::uint64_t frames_area = trailer.footer_offset - header_length;
    if (footer_header.rows > frames_area / frame_header_size) {
        throw FormatError("archive " + name + ": the footer at byte " +
                          std::to_string(trailer.footer_offset) + " lists " +
                          std::to_string(footer_header.rows) + " frames, more than fit in the " +
                          std::to_string(frames_area) + " bytes before it");
    }
    frames = footer_header.rows;
    return decoder.decode(footer_bytes.substr(0, frame_header_size), footer_header,
                          footer_bytes.substr(frame_header_size), name, trailer.footer_offset);
}

}  // namespace

void SeekableArchive::load() {
    const std::string& name = input_.name();
    const std::uint64_t size = input_.size().value_or(0);
    std::uint32_t header_length = 0;
    header_ = readFileHeader(input_, name, size, header_length);
    const Trailer trailer = readTrailer(input_, name, size, header_length);
    FrameDecoder decoder;
    std::uint64_t frames = 0;
    const std::string_view index =
        readFooter(input_, name, trailer, header_length, header_.version, decoder, frames);

    // Index entries: contiguous from the end of the file header to the footer, each in order
    // within its unit.
    detail::StreamTracker tracker(header_.version);
    std::unordered_map<std::uint32_t, std::size_t> unit_positions;
    entries_.reserve(static_cast<std::size_t>(frames));
    std::uint64_t expected_offset = header_length;
    for (std::uint64_t i = 0; i < frames; ++i) {
        const IndexEntry entry = decodeIndexEntry(
            index.substr(static_cast<std::size_t>(i) * index_entry_size, index_entry_size), name,
            trailer.footer_offset, i, header_.version);
        if (entry.offset != expected_offset ||
            entry.header.frameLength() > trailer.footer_offset - expected_offset) {
            throw FormatError("archive " + name + ": footer index entry " + std::to_string(i) +
                              " (" + describeFrame(entry.header) + ") places the frame at byte " +
                              std::to_string(entry.offset) + " with " +
                              std::to_string(entry.header.frameLength()) +
                              " bytes, but the previous frame ends at byte " +
                              std::to_string(expected_offset) + " and the footer starts at byte " +
                              std::to_string(trailer.footer_offset));
        }
        tracker.accept(entry.header, entry.offset, name);
        expected_offset += entry.header.frameLength();
        const std::size_t position = entries_.size();
        entries_.push_back(entry);
        if (entry.header.type != FrameType::data && entry.header.type != FrameType::unit_end) {
            continue;
        }
        auto [it, inserted] = unit_positions.try_emplace(entry.header.unit, units_.size());
        if (inserted) {
            units_.push_back(UnitInfo{});
            units_.back().unit = entry.header.unit;
        }
        UnitInfo& unit = units_[it->second];
        if (entry.header.type == FrameType::unit_end && entry.header.abandoned()) {
            // The attempt's frames are void: the unit is described by the attempts after it.
            unit.frames.clear();
            unit.rows = 0;
            unit.raw_bytes = 0;
            unit.stored_bytes = 0;
            ++unit.attempts;
        } else if (entry.header.type == FrameType::unit_end) {
            unit.end_frame = position;
        } else {
            unit.frames.push_back(position);
            unit.rows += entry.header.rows;
            unit.raw_bytes += entry.header.raw_length;
            unit.stored_bytes += entry.header.stored_length;
        }
    }
    if (expected_offset != trailer.footer_offset) {
        throw FormatError("archive " + name + ": the footer index accounts for the bytes up to " +
                          std::to_string(expected_offset) + ", but the footer starts at byte " +
                          std::to_string(trailer.footer_offset) + "; the footer is damaged");
    }
    tracker.checkAllClosed(name, trailer.footer_offset);
}

const UnitInfo* SeekableArchive::findUnit(std::uint32_t unit) const noexcept {
    const auto it = std::find_if(units_.begin(), units_.end(),
                                 [&](const UnitInfo& info) { return info.unit == unit; });
    return it == units_.end() ? nullptr : &*it;
}

Frame SeekableArchive::readFrame(const IndexEntry& entry, FrameDecoder& decoder) const {
    const std::string& name = input_.name();
    const std::uint64_t length = entry.header.frameLength();
    char* bytes = decoder.frameBuffer(static_cast<std::size_t>(length));
    const std::size_t got = input_.readAt(entry.offset, bytes, static_cast<std::size_t>(length));
    if (got < length) {
        throw FormatError("archive " + name + " truncated at byte " +
                          std::to_string(entry.offset + got) + " inside " +
                          describeFrame(entry.header) + " that starts at byte " +
                          std::to_string(entry.offset) + " (the file shrank after it was opened)");
    }
    const std::string_view frame(bytes, static_cast<std::size_t>(length));
    const FrameHeader header = decodeFrameHeader(frame, name, entry.offset, header_.version);
    if (header != entry.header) {
        throw FormatError("archive " + name + ": the frame header at byte " +
                          std::to_string(entry.offset) + " reads " + describeFrame(header) +
                          " but the footer index lists " + describeFrame(entry.header) +
                          " there: the frame header is damaged");
    }
    Frame out;
    out.header = header;
    out.offset = entry.offset;
    out.payload = decoder.decode(frame.substr(0, frame_header_size), header,
                                 frame.substr(frame_header_size), name, entry.offset);
    return out;
}

std::string SeekableArchive::readBlob(FrameType type, std::uint32_t unit,
                                      FrameDecoder& decoder) const {
    std::string out;
    bool found = false;
    // The index is in file order and the stream's frames are in seq order within it.
    for (const IndexEntry& entry : entries_) {
        if (entry.header.type == type && entry.header.unit == unit) {
            out.append(readFrame(entry, decoder).payload);
            found = true;
        }
    }
    if (!found) {
        throw Error("archive " + input_.name() + " has no " + frameTypeName(type) + " stream " +
                    std::to_string(unit));
    }
    return out;
}

}  // namespace pgsluice::archive
