#pragma once

// Version 2 of the pgsluice archive format (and what a reader needs of version 1): byte layouts,
// limits, and the checks every reader applies to the fixed-size parts. docs/archive-format.md is
// the prose version of this file.
//
// Version 2 adds two frame flags to version 1, nothing else: `continued` (a data frame that ends
// inside a row the unit's next data frame continues) and `abandoned` (a unit-end frame that voids
// the data frames of one attempt at the unit instead of closing it). A version 1 archive must not
// use them.
//
//   file header | frame | frame | ... | footer frame | trailer
//
// Every integer is little-endian (the byte order of every machine pgsluice targets, and of zstd
// and xxh3 themselves); the encoders below build them byte by byte, so the code is correct on
// a big-endian host too. Every checksum is XXH3-64 with seed 0.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgsluice::archive {

// --- constants -------------------------------------------------------------------------------

// The first 8 bytes of every archive.
inline constexpr std::string_view file_magic{"PGSLUICE", 8};
// The format version this code writes (by default) and the newest one it reads.
inline constexpr std::uint16_t format_version = 2;
// The oldest format version this code reads (and can write, for tests and old readers).
inline constexpr std::uint16_t min_format_version = 1;
// The first 4 bytes of every frame: lets a reader tell a frame boundary from garbage at once.
inline constexpr std::string_view frame_magic{"PGSF", 4};
// The last 8 bytes of every complete archive.
inline constexpr std::string_view end_magic{"SLUICEND", 8};

// File header: magic, version, flags, header length, compression, checksum kind, reserved,
// creation time, writer-name length; then the writer name, then the header checksum.
inline constexpr std::size_t file_header_fixed_size = 30;
inline constexpr std::size_t file_header_min_size = file_header_fixed_size + 8;
// A header declaring more than this is refused before it is read.
inline constexpr std::size_t file_header_max_size = 4096;
// Flag bits 0-7 change how the archive must be read: a reader refuses any it does not know.
// Bits 8-15 are hints a reader may ignore. Version 1 defines none of either.
inline constexpr std::uint16_t file_flags_required_mask = 0x00FF;
inline constexpr std::uint8_t compression_zstd = 1;
inline constexpr std::uint8_t checksum_xxh3_64 = 1;

// Frame header size; the checksum covers its first frame_checksummed_size bytes + the payload.
inline constexpr std::size_t frame_header_size = 40;
inline constexpr std::size_t frame_checksummed_size = 32;
// Largest raw (uncompressed) payload of any frame but the footer. Checked before allocating.
inline constexpr std::uint32_t max_raw_length = std::uint32_t{64} << 20;
// Largest raw footer payload: 256 MiB of index entries, about 6 million frames.
inline constexpr std::uint32_t max_footer_raw_length = std::uint32_t{256} << 20;
// One footer index entry.
inline constexpr std::size_t index_entry_size = 44;
// The trailer at the very end: footer offset, footer length, footer checksum, trailer
// checksum, end magic.
inline constexpr std::size_t trailer_size = 40;

// Frame flag bits.
inline constexpr std::uint8_t flag_compressed = 0x01;  // payload is one zstd frame
inline constexpr std::uint8_t flag_final = 0x02;       // last frame of a schema/manifest stream
// Version 2, data frames only: the payload ends inside a row that the unit's next data frame
// continues; the frame's rows count the rows that end in it.
inline constexpr std::uint8_t flag_continued = 0x04;
// Version 2, unit-end frames only: closes an attempt at the unit, not the unit; the unit's data
// frames since its start (or its previous abandoned unit-end) are void, and its next data frame
// has seq 0 again.
inline constexpr std::uint8_t flag_abandoned = 0x08;
inline constexpr std::uint8_t known_frame_flags =
    flag_compressed | flag_final | flag_continued | flag_abandoned;
// The flags a version 1 archive may use.
inline constexpr std::uint8_t version1_frame_flags = flag_compressed | flag_final;

// --- types -----------------------------------------------------------------------------------

// What a frame carries. The values are the on-disk type byte.
enum class FrameType : std::uint8_t {
    schema = 1,    // pg_dump custom-format bytes (engine-defined), possibly split over frames
    manifest = 2,  // JSON bytes (engine-defined), possibly split over frames
    data = 3,      // COPY rows of one work unit (whole rows, or a row continued: flag_continued)
    unit_end = 4,  // closes a unit (or, flag_abandoned, one attempt at it): seq = its data frame
                   // count, rows = its total rows
    footer = 5,    // the index of every other frame
};

// "schema", "manifest", "data", "unit-end", "footer" (or "type 0x07" for an unknown byte).
std::string frameTypeName(std::uint8_t type);
// The name of a known type.
inline std::string frameTypeName(FrameType type) {
    return frameTypeName(static_cast<std::uint8_t>(type));
}

// The fields of a frame header, decoded.
struct FrameHeader {
    FrameType type = FrameType::data;
    std::uint8_t flags = 0;
    std::uint32_t unit = 0;
    std::uint32_t seq = 0;
    std::uint64_t rows = 0;
    std::uint32_t raw_length = 0;
    std::uint32_t stored_length = 0;
    std::uint64_t checksum = 0;

    // True when the payload is a zstd frame.
    bool compressed() const noexcept { return (flags & flag_compressed) != 0; }
    // True on the last frame of a schema or manifest stream.
    bool final() const noexcept { return (flags & flag_final) != 0; }
    // True on a data frame whose payload ends inside a row the unit's next data frame continues.
    bool continued() const noexcept { return (flags & flag_continued) != 0; }
    // True on a unit-end frame that voids an attempt at the unit instead of closing it.
    bool abandoned() const noexcept { return (flags & flag_abandoned) != 0; }
    // Header plus stored payload: the bytes the frame occupies in the file.
    std::uint64_t frameLength() const noexcept { return frame_header_size + stored_length; }
    bool operator==(const FrameHeader&) const = default;
};

// A footer index entry: a frame header and where the frame starts.
struct IndexEntry {
    FrameHeader header;
    std::uint64_t offset = 0;
    bool operator==(const IndexEntry&) const = default;
};

// The decoded file header.
struct ArchiveHeader {
    std::uint16_t version = format_version;
    std::uint16_t flags = 0;
    std::uint32_t header_length = 0;
    std::int64_t created_unix_micros = 0;
    std::string writer;  // e.g. "pgsluice 0.1.0"
};

// The decoded trailer.
struct Trailer {
    std::uint64_t footer_offset = 0;
    std::uint64_t footer_length = 0;    // footer frame header + stored payload
    std::uint64_t footer_checksum = 0;  // equals the footer frame's checksum field
};

// --- little-endian fields --------------------------------------------------------------------

// Stores the low `bytes` bytes of `value` at `out`, least significant first.
inline void storeLE(char* out, std::uint64_t value, int bytes) noexcept {
    for (int i = 0; i < bytes; ++i) {
        out[i] = static_cast<char>(value & 0xFF);
        value >>= 8;
    }
}

// Loads a `bytes`-byte little-endian unsigned integer from `in`.
inline std::uint64_t loadLE(const char* in, int bytes) noexcept {
    std::uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i) {
        value = (value << 8) | static_cast<unsigned char>(in[i]);
    }
    return value;
}

// --- encoding and checking -------------------------------------------------------------------

// The file header bytes for `header` (its header_length field is computed, not read).
// Throws Error if the writer name does not fit.
std::string encodeFileHeader(const ArchiveHeader& header);

// Checks the first 16 bytes of an archive (magic, version, required flags, header length) and
// returns the header length; throws FormatError naming `source` and both versions when the
// version is not one we read (min_format_version to format_version). `prefix` must hold 16
// bytes.
std::uint32_t checkFileHeaderPrefix(std::string_view prefix, std::string_view source);

// Decodes and verifies a whole file header (checksum included); throws FormatError.
ArchiveHeader decodeFileHeader(std::string_view bytes, std::string_view source);

// Writes the 40 header bytes of `header` to `out`, checksum field included as given.
void encodeFrameHeader(const FrameHeader& header, char* out) noexcept;

// Decodes 40 frame header bytes found at `offset` of `source` and checks every field that can
// be checked alone: magic, known type and flags (the flags `version` of the archive allows),
// zero reserved bytes, lengths within the limits and consistent with the compression flag,
// type-specific rules. Throws FormatError naming the source, offset and (when readable) type,
// unit and seq. The checksum is not verified here.
FrameHeader decodeFrameHeader(std::string_view bytes, std::string_view source, std::uint64_t offset,
                              std::uint16_t version = format_version);

// The checksum of a frame: XXH3-64 of its first 32 header bytes followed by its stored payload.
std::uint64_t frameChecksum(std::string_view header_bytes, std::string_view stored) noexcept;

// Appends the 44-byte index entry of `entry` to `out`.
void appendIndexEntry(std::string& out, const IndexEntry& entry);

// Decodes one 44-byte index entry (entry number `position`, for messages) and checks its
// header fields as decodeFrameHeader does for an archive of `version`; throws FormatError.
IndexEntry decodeIndexEntry(std::string_view bytes, std::string_view source,
                            std::uint64_t footer_offset, std::uint64_t position,
                            std::uint16_t version = format_version);

// The 40 trailer bytes for `trailer`.
std::string encodeTrailer(const Trailer& trailer);

// Decodes 40 trailer bytes found at `offset` and verifies its checksum and end magic; throws
// FormatError.
Trailer decodeTrailer(std::string_view bytes, std::string_view source, std::uint64_t offset);

// "data frame (unit 7, seq 3)", "abandoned unit-end frame (unit 7, seq 2)": how messages name a
// frame.
std::string describeFrame(const FrameHeader& header);

}  // namespace pgsluice::archive
