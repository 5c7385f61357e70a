#include "pgsluice/archive/format.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "pgsluice/error.hpp"

namespace pgsluice::archive {

namespace {

std::string hexDump(std::string_view bytes) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto v = static_cast<unsigned char>(bytes[i]);
        if (i > 0) {
            out += ' ';
        }
        out += digits[v >> 4];
        out += digits[v & 0xF];
    }
    return out;
}

std::string hex64(std::uint64_t value) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out = "0x";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += digits[(value >> shift) & 0xF];
    }
    return out;
}

[[noreturn]] void throwFrame(std::string_view source, std::uint64_t offset,
                             const std::string& label, const std::string& problem) {
    throw FormatError("archive " + std::string{source} + ": " + label + " at byte " +
                      std::to_string(offset) + ": " + problem +
                      "; the archive is damaged or was not written by pgsluice");
}

std::string flagNames(std::uint8_t flags) {
    std::string out;
    const auto add = [&](std::uint8_t bit, const char* name) {
        if ((flags & bit) != 0) {
            out += (out.empty() ? "" : ", ") + std::string{name};
        }
    };
    add(flag_compressed, "compressed");
    add(flag_final, "final");
    add(flag_continued, "continued");
    add(flag_abandoned, "abandoned");
    return out;
}

// Checks the fields every frame header and index entry share, for an archive of `version`;
// `label()` names the frame (built only on failure, so that the success path allocates nothing).
template <class Label>
void checkHeaderFields(const FrameHeader& h, std::uint16_t version, std::string_view source,
                       std::uint64_t offset, const Label& label) {
    const auto fail = [&](const std::string& problem) {
        throwFrame(source, offset, label(), problem);
    };
    if ((h.flags & ~known_frame_flags) != 0) {
        fail("unknown flag bits " + std::to_string(h.flags & ~known_frame_flags));
    }
    if (version < 2 && (h.flags & ~version1_frame_flags) != 0) {
        fail("the " + flagNames(h.flags & ~version1_frame_flags) +
             " flag is set, which a version 1 archive cannot use (it is new in version 2)");
    }
    const std::uint32_t limit =
        h.type == FrameType::footer ? max_footer_raw_length : max_raw_length;
    if (h.raw_length > limit) {
        fail("raw length " + std::to_string(h.raw_length) + " exceeds the limit of " +
             std::to_string(limit) + " bytes");
    }
    if (h.compressed()) {
        // The writer keeps the compressed form only when it is smaller.
        if (h.raw_length == 0 || h.stored_length == 0 || h.stored_length >= h.raw_length) {
            fail("compressed length " + std::to_string(h.stored_length) +
                 " is not between 1 and the raw length " + std::to_string(h.raw_length));
        }
    } else if (h.stored_length != h.raw_length) {
        fail("stored length " + std::to_string(h.stored_length) + " differs from the raw length " +
             std::to_string(h.raw_length) + " of an uncompressed payload");
    }
    const std::uint8_t only_data = flag_continued;
    const std::uint8_t only_unit_end = flag_abandoned;
    switch (h.type) {
        case FrameType::schema:
        case FrameType::manifest:
            if (h.rows != 0) {
                fail("a " + frameTypeName(h.type) + " frame must have 0 rows, not " +
                     std::to_string(h.rows));
            }
            if ((h.flags & (only_data | only_unit_end)) != 0) {
                fail("the " + flagNames(h.flags & (only_data | only_unit_end)) +
                     " flag is set on a " + frameTypeName(h.type) + " frame");
            }
            break;
        case FrameType::data:
            if ((h.flags & (flag_final | only_unit_end)) != 0) {
                fail("the " + flagNames(h.flags & (flag_final | only_unit_end)) +
                     " flag is set on a data frame");
            }
            if (h.continued() && h.raw_length == 0) {
                fail("a continued data frame must have a payload (the row it continues)");
            }
            break;
        case FrameType::unit_end:
            if ((h.flags & ~only_unit_end) != 0 || h.raw_length != 0) {
                fail("a unit-end frame must have no payload and no flags but abandoned");
            }
            break;
        case FrameType::footer:
            if (h.final() || h.unit != 0 || h.seq != 0) {
                fail("a footer frame must have unit 0, seq 0 and no final flag");
            }
            if ((h.flags & (only_data | only_unit_end)) != 0) {
                fail("the " + flagNames(h.flags & (only_data | only_unit_end)) +
                     " flag is set on a footer frame");
            }
            if (h.rows > max_footer_raw_length / index_entry_size ||
                h.raw_length != h.rows * index_entry_size) {
                fail("footer of " + std::to_string(h.rows) + " entries has raw length " +
                     std::to_string(h.raw_length) + ", expected " +
                     std::to_string(h.rows * index_entry_size));
            }
            break;
    }
}

bool knownType(std::uint8_t type) {
    return type >= static_cast<std::uint8_t>(FrameType::schema) &&
           type <= static_cast<std::uint8_t>(FrameType::footer);
}

}  // namespace

std::string frameTypeName(std::uint8_t type) {
    switch (type) {
        case static_cast<std::uint8_t>(FrameType::schema):
            return "schema";
        case static_cast<std::uint8_t>(FrameType::manifest):
            return "manifest";
        case static_cast<std::uint8_t>(FrameType::data):
            return "data";
        case static_cast<std::uint8_t>(FrameType::unit_end):
            return "unit-end";
        case static_cast<std::uint8_t>(FrameType::footer):
            return "footer";
        default:
            return "type " + hexDump(std::string_view{reinterpret_cast<const char*>(&type), 1});
    }
}

std::string describeFrame(const FrameHeader& header) {
    const bool abandoned = header.type == FrameType::unit_end && header.abandoned();
    return (abandoned ? "abandoned " : "") + frameTypeName(header.type) + " frame (unit " +
           std::to_string(header.unit) + ", seq " + std::to_string(header.seq) + ")";
}

// --- file header -----------------------------------------------------------------------------

std::string encodeFileHeader(const ArchiveHeader& header) {
    if (header.version < min_format_version || header.version > format_version) {
        throw Error("archive format version " + std::to_string(header.version) +
                    " cannot be written (this pgsluice writes versions " +
                    std::to_string(min_format_version) + " to " + std::to_string(format_version) +
                    ")");
    }
    if (header.writer.size() > file_header_max_size - file_header_min_size) {
        throw Error("archive writer name is too long (" + std::to_string(header.writer.size()) +
                    " bytes)");
    }
    const std::size_t length = file_header_min_size + header.writer.size();
    std::string out(length, '\0');
    out.replace(0, file_magic.size(), file_magic);
    storeLE(&out[8], header.version, 2);
    storeLE(&out[10], header.flags, 2);
    storeLE(&out[12], length, 4);
    out[16] = static_cast<char>(compression_zstd);
    out[17] = static_cast<char>(checksum_xxh3_64);
    // 18-19 reserved, zero
    storeLE(&out[20], static_cast<std::uint64_t>(header.created_unix_micros), 8);
    storeLE(&out[28], header.writer.size(), 2);
    out.replace(file_header_fixed_size, header.writer.size(), header.writer);
    storeLE(&out[length - 8], XXH3_64bits(out.data(), length - 8), 8);
    return out;
}

std::uint32_t checkFileHeaderPrefix(std::string_view prefix, std::string_view source) {
    const std::string name{source};
    if (prefix.size() < 16) {
        throw FormatError("archive " + name + ": the file header needs 16 bytes, got " +
                          std::to_string(prefix.size()));
    }
    if (prefix.substr(0, 8) != file_magic) {
        std::string hint;
        if (prefix.substr(0, 5) == "PGDMP") {
            hint = " (it looks like a pg_dump custom-format archive: use pg_restore for it)";
        }
        throw FormatError(name + " is not a pgsluice archive: it starts with bytes " +
                          hexDump(prefix.substr(0, 8)) + ", not \"PGSLUICE\"" + hint);
    }
    const auto version = static_cast<std::uint16_t>(loadLE(&prefix[8], 2));
    if (version < min_format_version || version > format_version) {
        const std::string ours = "versions " + std::to_string(min_format_version) + " to " +
                                 std::to_string(format_version);
        if (version > format_version) {
            throw FormatError("archive " + name + " uses archive format version " +
                              std::to_string(version) + ", but this pgsluice reads " + ours +
                              " only: restore it with a newer pgsluice");
        }
        throw FormatError("archive " + name + " declares archive format version " +
                          std::to_string(version) + ", which does not exist (this pgsluice " +
                          "reads " + ours + "); the file header is damaged");
    }
    const auto flags = static_cast<std::uint16_t>(loadLE(&prefix[10], 2));
    if ((flags & file_flags_required_mask) != 0) {
        throw FormatError("archive " + name + ": the file header sets flags " +
                          std::to_string(flags & file_flags_required_mask) +
                          " that this pgsluice does not know; use a newer pgsluice");
    }
    const auto length = static_cast<std::uint32_t>(loadLE(&prefix[12], 4));
    if (length < file_header_min_size || length > file_header_max_size) {
        throw FormatError("archive " + name + ": the file header length " + std::to_string(length) +
                          " at byte 12 is not between " + std::to_string(file_header_min_size) +
                          " and " + std::to_string(file_header_max_size) +
                          "; the file header is damaged");
    }
    return length;
}

ArchiveHeader decodeFileHeader(std::string_view bytes, std::string_view source) {
    const std::uint32_t length = checkFileHeaderPrefix(bytes, source);
    const std::string name{source};
    if (bytes.size() < length) {
        throw FormatError("archive " + name + ": the file header is " + std::to_string(length) +
                          " bytes but only " + std::to_string(bytes.size()) + " were given");
    }
    const std::uint64_t stored = loadLE(&bytes[length - 8], 8);
    const std::uint64_t computed = XXH3_64bits(bytes.data(), length - 8);
    if (stored != computed) {
        throw FormatError("archive " + name + ": file header checksum mismatch (stored " +
                          hex64(stored) + ", computed " + hex64(computed) + ", bytes 0 to " +
                          std::to_string(length) + "); the file header is damaged");
    }
    ArchiveHeader header;
    header.version = static_cast<std::uint16_t>(loadLE(&bytes[8], 2));
    header.flags = static_cast<std::uint16_t>(loadLE(&bytes[10], 2));
    header.header_length = length;
    if (static_cast<std::uint8_t>(bytes[16]) != compression_zstd) {
        throw FormatError("archive " + name + ": unknown compression method " +
                          std::to_string(static_cast<std::uint8_t>(bytes[16])) +
                          " at byte 16 (versions 1 and 2 know 1 = zstd)");
    }
    if (static_cast<std::uint8_t>(bytes[17]) != checksum_xxh3_64) {
        throw FormatError("archive " + name + ": unknown checksum method " +
                          std::to_string(static_cast<std::uint8_t>(bytes[17])) +
                          " at byte 17 (versions 1 and 2 know 1 = xxh3-64)");
    }
    if (bytes[18] != 0 || bytes[19] != 0) {
        throw FormatError("archive " + name +
                          ": reserved bytes 18-19 of the file header are "
                          "not zero");
    }
    header.created_unix_micros = static_cast<std::int64_t>(loadLE(&bytes[20], 8));
    const auto writer_length = static_cast<std::size_t>(loadLE(&bytes[28], 2));
    if (writer_length > length - file_header_min_size) {
        throw FormatError("archive " + name + ": writer name length " +
                          std::to_string(writer_length) + " at byte 28 overruns the " +
                          std::to_string(length) + "-byte file header");
    }
    header.writer.assign(bytes.substr(file_header_fixed_size, writer_length));
    return header;
}

// --- frames ----------------------------------------------------------------------------------

void encodeFrameHeader(const FrameHeader& header, char* out) noexcept {
    for (std::size_t i = 0; i < frame_magic.size(); ++i) {
        out[i] = frame_magic[i];
    }
    out[4] = static_cast<char>(header.type);
    out[5] = static_cast<char>(header.flags);
    out[6] = 0;
    out[7] = 0;
    storeLE(out + 8, header.unit, 4);
    storeLE(out + 12, header.seq, 4);
    storeLE(out + 16, header.rows, 8);
    storeLE(out + 24, header.raw_length, 4);
    storeLE(out + 28, header.stored_length, 4);
    storeLE(out + 32, header.checksum, 8);
}

FrameHeader decodeFrameHeader(std::string_view bytes, std::string_view source, std::uint64_t offset,
                              std::uint16_t version) {
    if (bytes.size() < frame_header_size) {
        throwFrame(source, offset, "frame header",
                   "only " + std::to_string(bytes.size()) + " of its " +
                       std::to_string(frame_header_size) + " bytes are present");
    }
    if (bytes.substr(0, 4) != frame_magic) {
        throwFrame(source, offset, "frame header",
                   "bad frame magic " + hexDump(bytes.substr(0, 4)) + " (expected \"PGSF\")");
    }
    const auto type = static_cast<std::uint8_t>(bytes[4]);
    FrameHeader header;
    header.flags = static_cast<std::uint8_t>(bytes[5]);
    header.unit = static_cast<std::uint32_t>(loadLE(&bytes[8], 4));
    header.seq = static_cast<std::uint32_t>(loadLE(&bytes[12], 4));
    header.rows = loadLE(&bytes[16], 8);
    header.raw_length = static_cast<std::uint32_t>(loadLE(&bytes[24], 4));
    header.stored_length = static_cast<std::uint32_t>(loadLE(&bytes[28], 4));
    header.checksum = loadLE(&bytes[32], 8);
    const auto label = [&] {
        return frameTypeName(type) + " frame (unit " + std::to_string(header.unit) + ", seq " +
               std::to_string(header.seq) + ")";
    };
    if (!knownType(type)) {
        throwFrame(source, offset, label(), "unknown frame type");
    }
    header.type = static_cast<FrameType>(type);
    if (bytes[6] != 0 || bytes[7] != 0) {
        throwFrame(source, offset, label(), "reserved header bytes are not zero");
    }
    checkHeaderFields(header, version, source, offset, label);
    return header;
}

std::uint64_t frameChecksum(std::string_view header_bytes, std::string_view stored) noexcept {
    XXH3_state_t state;
    XXH3_INITSTATE(&state);
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, header_bytes.data(), frame_checksummed_size);
    XXH3_64bits_update(&state, stored.data(), stored.size());
    return XXH3_64bits_digest(&state);
}

// --- footer index ----------------------------------------------------------------------------

void appendIndexEntry(std::string& out, const IndexEntry& entry) {
    char bytes[index_entry_size] = {};
    const FrameHeader& h = entry.header;
    bytes[0] = static_cast<char>(h.type);
    bytes[1] = static_cast<char>(h.flags);
    // 2-3 reserved, zero
    storeLE(bytes + 4, h.unit, 4);
    storeLE(bytes + 8, h.seq, 4);
    storeLE(bytes + 12, h.raw_length, 4);
    storeLE(bytes + 16, h.stored_length, 4);
    storeLE(bytes + 20, entry.offset, 8);
    storeLE(bytes + 28, h.rows, 8);
    storeLE(bytes + 36, h.checksum, 8);
    out.append(bytes, index_entry_size);
}

IndexEntry decodeIndexEntry(std::string_view bytes, std::string_view source,
                            std::uint64_t footer_offset, std::uint64_t position,
                            std::uint16_t version) {
    const auto label = [&] { return "footer index entry " + std::to_string(position); };
    if (bytes.size() < index_entry_size) {
        throwFrame(source, footer_offset, label(), "the entry is incomplete");
    }
    const auto type = static_cast<std::uint8_t>(bytes[0]);
    IndexEntry entry;
    FrameHeader& h = entry.header;
    h.flags = static_cast<std::uint8_t>(bytes[1]);
    h.unit = static_cast<std::uint32_t>(loadLE(&bytes[4], 4));
    h.seq = static_cast<std::uint32_t>(loadLE(&bytes[8], 4));
    h.raw_length = static_cast<std::uint32_t>(loadLE(&bytes[12], 4));
    h.stored_length = static_cast<std::uint32_t>(loadLE(&bytes[16], 4));
    entry.offset = loadLE(&bytes[20], 8);
    h.rows = loadLE(&bytes[28], 8);
    h.checksum = loadLE(&bytes[36], 8);
    if (!knownType(type) || type == static_cast<std::uint8_t>(FrameType::footer)) {
        throwFrame(source, footer_offset, label(),
                   "frame type " + frameTypeName(type) + " cannot appear in the index");
    }
    h.type = static_cast<FrameType>(type);
    if (bytes[2] != 0 || bytes[3] != 0) {
        throwFrame(source, footer_offset, label(), "reserved bytes are not zero");
    }
    checkHeaderFields(h, version, source, footer_offset,
                      [&] { return label() + " (" + describeFrame(h) + ")"; });
    return entry;
}

// --- trailer ---------------------------------------------------------------------------------

std::string encodeTrailer(const Trailer& trailer) {
    std::string out(trailer_size, '\0');
    storeLE(&out[0], trailer.footer_offset, 8);
    storeLE(&out[8], trailer.footer_length, 8);
    storeLE(&out[16], trailer.footer_checksum, 8);
    storeLE(&out[24], XXH3_64bits(out.data(), 24), 8);
    out.replace(32, end_magic.size(), end_magic);
    return out;
}

Trailer decodeTrailer(std::string_view bytes, std::string_view source, std::uint64_t offset) {
    const std::string name{source};
    if (bytes.size() < trailer_size) {
        throw FormatError("archive " + name + ": the trailer at byte " + std::to_string(offset) +
                          " is incomplete");
    }
    if (bytes.substr(32, 8) != end_magic) {
        throw FormatError("archive " + name + ": no end marker at byte " +
                          std::to_string(offset + 32) + " (found " + hexDump(bytes.substr(32, 8)) +
                          "): the archive is truncated or damaged, the dump may not have "
                          "finished");
    }
    const std::uint64_t stored = loadLE(&bytes[24], 8);
    const std::uint64_t computed = XXH3_64bits(bytes.data(), 24);
    if (stored != computed) {
        throw FormatError("archive " + name + ": trailer checksum mismatch at byte " +
                          std::to_string(offset) + " (stored " + hex64(stored) + ", computed " +
                          hex64(computed) + "); the trailer is damaged");
    }
    Trailer trailer;
    trailer.footer_offset = loadLE(&bytes[0], 8);
    trailer.footer_length = loadLE(&bytes[8], 8);
    trailer.footer_checksum = loadLE(&bytes[16], 8);
    return trailer;
}

}  // namespace pgsluice::archive
