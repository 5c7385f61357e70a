#include "pgsluice/archive/frame_codec.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::archive {

char* ScratchBuffer::reserve(std::size_t size) {
    if (size > capacity_ || !data_) {
        // Grow by half again so that slowly growing frames do not reallocate every time.
        const std::size_t capacity = std::max({size, capacity_ + capacity_ / 2, std::size_t{64}});
        data_ = std::make_unique_for_overwrite<char[]>(capacity);
        capacity_ = capacity;
    }
    return data_.get();
}

FrameEncoder::FrameEncoder(int level) : compressor_(level) {}

std::string_view FrameEncoder::encode(FrameType type, std::uint32_t unit, std::uint32_t seq,
                                      std::uint64_t rows, std::string_view raw, bool final,
                                      bool continued) {
    if (continued && type != FrameType::data) {
        throw Error("archive: only a data frame can be continued, not a " + frameTypeName(type) +
                    " frame");
    }
    return encodeWithFlags(
        type, unit, seq, rows, raw,
        static_cast<std::uint8_t>((final ? flag_final : 0) | (continued ? flag_continued : 0)));
}

std::string_view FrameEncoder::encodeWithFlags(FrameType type, std::uint32_t unit,
                                               std::uint32_t seq, std::uint64_t rows,
                                               std::string_view raw, std::uint8_t flags) {
    if ((flags & ~known_frame_flags) != 0) {
        throw Error("archive: unknown frame flag bits " +
                    std::to_string(flags & ~known_frame_flags));
    }
    const std::uint32_t limit = type == FrameType::footer ? max_footer_raw_length : max_raw_length;
    if (raw.size() > limit) {
        throw Error("archive: a " + frameTypeName(type) + " frame payload of " +
                    std::to_string(raw.size()) + " bytes exceeds the limit of " +
                    std::to_string(limit) + " bytes; split it into smaller frames");
    }
    FrameHeader header;
    header.type = type;
    header.unit = unit;
    header.seq = seq;
    header.rows = rows;
    header.raw_length = static_cast<std::uint32_t>(raw.size());
    header.flags = static_cast<std::uint8_t>(flags & ~flag_compressed);

    // A compressed payload is kept only when smaller than the raw one, so header + raw size is
    // all the room a frame can need.
    char* out = buffer_.reserve(frame_header_size + raw.size());
    std::size_t stored = 0;
    if (!raw.empty()) {
        // Capacity raw.size() - 1: a result that is not smaller is useless, and zstd reports
        // "too small" early instead of finishing a frame we would throw away.
        stored = compressor_.compress(raw, out + frame_header_size, raw.size() - 1);
    }
    if (stored > 0) {
        header.flags |= flag_compressed;
    } else if (!raw.empty()) {
        std::memcpy(out + frame_header_size, raw.data(), raw.size());
        stored = raw.size();
    }
    header.stored_length = static_cast<std::uint32_t>(stored);
    encodeFrameHeader(header, out);
    header.checksum = frameChecksum({out, frame_header_size}, {out + frame_header_size, stored});
    storeLE(out + frame_checksummed_size, header.checksum, 8);
    return {out, frame_header_size + stored};
}

namespace {

std::string frameWhere(std::string_view source, const FrameHeader& header, std::uint64_t offset) {
    return "archive " + std::string{source} + ": " + describeFrame(header) + " at byte " +
           std::to_string(offset);
}

}  // namespace

void FrameDecoder::verify(std::string_view header_bytes, const FrameHeader& header,
                          std::string_view stored, std::string_view source,
                          std::uint64_t offset) const {
    if (stored.size() != header.stored_length) {
        throw FormatError(frameWhere(source, header, offset) + ": " +
                          std::to_string(stored.size()) + " payload bytes given, the header says " +
                          std::to_string(header.stored_length));
    }
    if (frameChecksum(header_bytes, stored) != header.checksum) {
        throw FormatError(frameWhere(source, header, offset) +
                          ": checksum mismatch: the frame header or its payload is damaged "
                          "(unit and seq as recorded in the header, which may be the damaged "
                          "part)");
    }
}

std::string_view FrameDecoder::decode(std::string_view header_bytes, const FrameHeader& header,
                                      std::string_view stored, std::string_view source,
                                      std::uint64_t offset) {
    verify(header_bytes, header, stored, source, offset);
    if (!header.compressed()) {
        return stored;
    }
    char* out = raw_.reserve(header.raw_length);
    std::size_t size = 0;
    try {
        size = decompressor_.decompress(stored, out, header.raw_length);
    } catch (const FormatError& error) {
        // The location is only built on failure: the success path allocates nothing.
        throw FormatError(frameWhere(source, header, offset) + ": " + error.what());
    }
    if (size != header.raw_length) {
        throw FormatError(frameWhere(source, header, offset) + ": decompressed to " +
                          std::to_string(size) + " bytes, the header says " +
                          std::to_string(header.raw_length));
    }
    return {out, size};
}

}  // namespace pgsluice::archive
