#pragma once

// Reading side of the COPY ... (FORMAT binary) tuple codec.
//
// Layout (PostgreSQL docs, "COPY ... Binary Format"), every integer big-endian:
//   header : 11-byte signature "PGCOPY\n\377\r\n\0", int32 flags, int32 extension length,
//            then that many extension bytes
//   tuple  : int16 field count, then per field an int32 length (-1 = NULL) and that many bytes
//   trailer: int16 field count of -1
//
// Everything here reads untrusted bytes in place: every read is checked against the end of
// the buffer and no function allocates on the success path.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>

namespace pgsluice::copy {

// The codec's view of raw bytes; convert from libpq's char buffers with asBytes().
using ByteSpan = std::span<const std::byte>;

// The bytes of [data, data + size) as a ByteSpan, without copying.
inline ByteSpan asBytes(const char* data, std::size_t size) noexcept {
    return {reinterpret_cast<const std::byte*>(data), size};
}

// The bytes of a string as a ByteSpan, without copying.
inline ByteSpan asBytes(std::string_view text) noexcept {
    return asBytes(text.data(), text.size());
}

// The bytes of a ByteSpan as text, without copying (text columns travel as their UTF-8 bytes).
inline std::string_view asText(ByteSpan bytes) noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The 11-byte signature every COPY binary stream starts with.
inline constexpr std::string_view copy_signature{"PGCOPY\n\377\r\n\0", 11};
// A whole header without flags or extension (what PostgreSQL writes), and the trailer: what an
// archive's data frames leave out and a restore puts back around them.
inline constexpr std::string_view copy_plain_header{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
inline constexpr std::string_view copy_trailer{"\xff\xff", 2};
// Signature, flags and extension length: the header when it has no extension.
inline constexpr std::size_t min_header_length = 19;
// Flag bit 16: the stream carries OIDs. pgsluice never asks for them, so a stream with them is
// not one of ours.
inline constexpr std::uint32_t oids_flag = 1u << 16;
// Bits 16-31 are critical: a reader that does not know one must refuse the stream.
inline constexpr std::uint32_t critical_flags_mask = 0xFFFF0000u;
// A field count of -1 ends the data.
inline constexpr std::int16_t trailer_marker = -1;
// A field length of -1 is a NULL, with no bytes after it.
inline constexpr std::int32_t null_length = -1;
// Pass as an expected field count to accept any.
inline constexpr int any_field_count = -1;

// Decodes the big-endian int16 at p; p must have 2 readable bytes.
inline std::int16_t loadInt16(const std::byte* p) noexcept {
    return static_cast<std::int16_t>(static_cast<std::uint16_t>(
        (std::to_integer<std::uint16_t>(p[0]) << 8) | std::to_integer<std::uint16_t>(p[1])));
}

// Decodes the big-endian int32 at p; p must have 4 readable bytes.
inline std::int32_t loadInt32(const std::byte* p) noexcept {
    return static_cast<std::int32_t>((std::to_integer<std::uint32_t>(p[0]) << 24) |
                                     (std::to_integer<std::uint32_t>(p[1]) << 16) |
                                     (std::to_integer<std::uint32_t>(p[2]) << 8) |
                                     std::to_integer<std::uint32_t>(p[3]));
}

// A big-endian cursor over a buffer that is meant to be complete: reading past its end throws
// FormatError naming what was expected and at which stream offset.
class BinaryReader {
  public:
    // Reads `data`; `stream_offset` is where data[0] sits in the whole stream, for messages only.
    explicit BinaryReader(ByteSpan data, std::uint64_t stream_offset = 0) noexcept
        : data_(data), stream_offset_(stream_offset) {}

    // The next big-endian int16; throws FormatError naming `what` if fewer than 2 bytes remain.
    std::int16_t readInt16(std::string_view what) {
        require(2, what);
        const std::int16_t value = loadInt16(data_.data() + pos_);
        pos_ += 2;
        return value;
    }

    // The next big-endian int32; throws FormatError naming `what` if fewer than 4 bytes remain.
    std::int32_t readInt32(std::string_view what) {
        require(4, what);
        const std::int32_t value = loadInt32(data_.data() + pos_);
        pos_ += 4;
        return value;
    }

    // The next `count` bytes, in place; throws FormatError naming `what` if fewer remain.
    ByteSpan readBytes(std::size_t count, std::string_view what) {
        require(count, what);
        const ByteSpan bytes = data_.subspan(pos_, count);
        pos_ += count;
        return bytes;
    }

    // How many bytes have been read.
    std::size_t position() const noexcept { return pos_; }
    // How many bytes are left to read.
    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    // The stream offset of the next byte to read.
    std::uint64_t streamOffset() const noexcept { return stream_offset_ + pos_; }

  private:
    void require(std::size_t count, std::string_view what) const {
        if (count > data_.size() - pos_) {
            throwPastEnd(count, what);
        }
    }
    [[noreturn]] void throwPastEnd(std::size_t count, std::string_view what) const;

    ByteSpan data_;
    std::uint64_t stream_offset_;
    std::size_t pos_ = 0;
};

// What scanHeader() found at the start of a stream.
struct HeaderScan {
    // True when the whole header, extension included, is in the buffer.
    bool complete = false;
    // If complete, the header's length (the first tuple starts there); if not, how many bytes
    // the buffer must hold before scanning it again can decide more.
    std::uint64_t length = 0;
};

// Checks the stream header at the start of `buffer` as far as the buffer goes; throws
// FormatError on a wrong signature (even a partial one), OIDs, an unknown critical flag or a
// negative extension length.
HeaderScan scanHeader(ByteSpan buffer);

// Throws the FormatError for a COPY BINARY stream that ended before its end-of-data trailer:
// inside its header (`in_header`, after `partial` bytes), or at byte `offset` after `rows`
// complete rows with `partial` bytes of the next one received. Shared by the row readers so
// a cut-off stream reads the same whichever reader met it.
[[noreturn]] void throwCutOff(bool in_header, std::uint64_t offset, std::uint64_t rows,
                              std::uint64_t partial);

// What a scan of the bytes at a row boundary found.
enum class RowStatus : std::uint8_t {
    row,         // a complete tuple of `length` bytes
    trailer,     // the end-of-data marker (`length` is 2)
    incomplete,  // the buffer ends inside a tuple
};

// The result of scanning one row's length headers.
struct RowScan {
    RowStatus status = RowStatus::incomplete;
    // row/trailer: bytes the row occupies. incomplete: how many bytes the buffer must hold
    // (counted from the row start) before a new scan can get further.
    std::uint64_t length = 0;
    // The tuple's field count, or -1 while not yet known (and for the trailer).
    int field_count = -1;
};

// Walks the length headers of one row and remembers where it stopped, so that when more bytes
// of the same row arrive the walk resumes instead of starting over: a row fed byte by byte is
// still scanned in linear time. Never copies or allocates.
class RowScanner {
  public:
    // Scans `row` (which starts at the row boundary and extends the bytes given to the previous
    // call since reset()); throws FormatError on a negative field count other than -1 or a
    // negative field length other than -1. `stream_offset` (where row[0] sits in the stream) and
    // `row_number` (1-based, 0 = unknown) are for messages only.
    RowScan scan(ByteSpan row, std::uint64_t stream_offset = 0, std::uint64_t row_number = 0);

    // Forgets the current row so the next scan() starts at a new row boundary.
    void reset() noexcept { *this = RowScanner{}; }

  private:
    std::size_t pos_ = 0;   // offset of the first length header not yet walked over
    int fields_left_ = -1;  // fields after pos_, or -1 while the field count is not read
    int field_count_ = -1;
};

// Scans the row at the start of `buffer` (see RowScanner::scan) without remembering anything.
inline RowScan scanRow(ByteSpan buffer, std::uint64_t stream_offset = 0,
                       std::uint64_t row_number = 0) {
    RowScanner scanner;
    return scanner.scan(buffer, stream_offset, row_number);
}

// One field of a tuple. The bytes point into the row and live as long as it does.
struct Field {
    int index = 0;  // 0-based column position
    bool is_null = false;
    ByteSpan bytes;  // empty when NULL (a zero-length value is empty too, but not NULL)

    // The bytes as text, for text-like columns.
    std::string_view text() const noexcept { return asText(bytes); }
};

// Input iterator over the fields of a RowView; each step reads one length header, checked
// against the end of the row.
class FieldIterator {
  public:
    using iterator_concept = std::input_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = Field;
    using difference_type = std::ptrdiff_t;
    using pointer = const Field*;
    using reference = const Field&;

    // An iterator that is already at the end.
    FieldIterator() = default;

    // The current field, valid until the iterator moves.
    const Field& operator*() const noexcept { return field_; }
    // The current field's members, valid until the iterator moves.
    const Field* operator->() const noexcept { return &field_; }

    // Moves to the next field; throws FormatError if its length is invalid or runs past the row.
    FieldIterator& operator++() {
        advance();
        return *this;
    }
    // Same as prefix ++: an input iterator has no old value to hand back.
    void operator++(int) { advance(); }

    // True once every field has been visited.
    bool operator==(std::default_sentinel_t) const noexcept { return done_; }

  private:
    friend class RowView;
    FieldIterator(ByteSpan row, int field_count, std::uint64_t row_number);
    void advance();

    ByteSpan row_;
    std::size_t pos_ = 0;
    int fields_left_ = 0;
    std::uint64_t row_number_ = 0;
    Field field_;
    bool done_ = true;
};

// One tuple, read in place: its field count and its fields in order. The row bytes are not
// copied and must outlive the view.
class RowView {
  public:
    // Reads the field count of the tuple in `row`; throws FormatError if it is missing, is the
    // trailer or is negative, or if `expected_fields` is not any_field_count and differs.
    // `row_number` (1-based, 0 = unknown) is for messages only.
    explicit RowView(ByteSpan row, int expected_fields = any_field_count,
                     std::uint64_t row_number = 0);

    // The number of fields the tuple declares.
    int fieldCount() const noexcept { return field_count_; }
    // The tuple's bytes, field count included.
    ByteSpan bytes() const noexcept { return row_; }
    // The row number given at construction (0 = unknown).
    std::uint64_t rowNumber() const noexcept { return row_number_; }

    // Iterates the fields in column order; a bad length throws FormatError when reached.
    FieldIterator begin() const { return {row_, field_count_, row_number_}; }
    // The end of the fields: an iterator equals it once it has passed the last field.
    std::default_sentinel_t end() const noexcept { return {}; }

  private:
    ByteSpan row_;
    int field_count_ = 0;
    std::uint64_t row_number_ = 0;
};

}  // namespace pgsluice::copy
