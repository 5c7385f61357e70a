#include "pgsluice/copy/row_stream.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::copy {

namespace {

// The same prefix and wording as RowSplitter and RowScanner, so that a stream is refused with
// the same message whichever of them reads it.
constexpr std::string_view prefix = "COPY binary data: ";

[[noreturn]] void throwBadFieldCount(int count, std::uint64_t row_number, std::uint64_t offset) {
    throw FormatError(std::string{prefix} + "invalid field count " + std::to_string(count) +
                      " for row " + std::to_string(row_number) + " at offset " +
                      std::to_string(offset) +
                      " (only -1, the end-of-data trailer, may be negative)");
}

[[noreturn]] void throwBadFieldLength(std::int32_t length, int field_index,
                                      std::uint64_t row_number, std::uint64_t offset) {
    throw FormatError(std::string{prefix} + "invalid length " + std::to_string(length) +
                      " for field " + std::to_string(field_index + 1) + " of row " +
                      std::to_string(row_number) + " at offset " + std::to_string(offset) +
                      " (only -1, a NULL, may be negative)");
}

}  // namespace

RowStream::RowStream(SplitterOptions options) : options_(options) {}

void RowStream::reset() {
    *this = RowStream(options_);
}

void RowStream::feed(ByteSpan chunk) {
    if (!rest_.empty()) {
        throw Error(
            "internal error: RowStream::feed called before next() used up the previous chunk");
    }
    if (phase_ == Phase::done && !chunk.empty()) {
        throw FormatError(std::string{prefix} + std::to_string(chunk.size()) +
                          " more bytes arrived after the end-of-data trailer at offset " +
                          std::to_string(consumed_ - 2) +
                          "; the stream is corrupt or two streams were joined");
    }
    rest_ = chunk;
}

std::optional<RowPiece> RowStream::next() {
    for (;;) {
        if (phase_ == Phase::done) {
            if (!rest_.empty()) {
                throw FormatError(std::string{prefix} + std::to_string(rest_.size()) +
                                  " bytes follow the end-of-data trailer at offset " +
                                  std::to_string(consumed_ - 2) +
                                  "; the stream is corrupt or two streams were joined");
            }
            return std::nullopt;
        }
        if (rest_.empty()) {
            return std::nullopt;
        }
        if (phase_ == Phase::header) {
            scanHeader();
            continue;
        }
        if (!in_row_ && !pending_negative_) {
            int field_count = -1;
            if (const std::size_t length = wholeRow(field_count); length != 0) {
                RowPiece piece;
                piece.bytes = rest_.first(length);
                piece.row = ++rows_;
                piece.offset = consumed_;
                piece.first = true;
                piece.last = true;
                piece.field_count = field_count;
                rest_ = rest_.subspan(length);
                consumed_ += length;
                return piece;
            }
        }
        if (!in_row_ && !atBoundary()) {
            continue;
        }
        return scanRow();
    }
}

// Takes the header's fixed bytes (checking each as it arrives, as RowSplitter does), then skips
// its extension without keeping it.
void RowStream::scanHeader() {
    if (header_have_ < min_header_length) {
        if (options_.max_row_bytes < min_header_length) {
            throwLimit(min_header_length);
        }
        const std::size_t take = std::min(min_header_length - header_have_, rest_.size());
        std::memcpy(header_ + header_have_, rest_.data(), take);
        header_have_ += take;
        rest_ = rest_.subspan(take);
        consumed_ += take;
        // Throws on a wrong signature byte, OIDs, an unknown critical flag, a negative extension.
        const HeaderScan scan = copy::scanHeader(ByteSpan(header_, header_have_));
        if (header_have_ < min_header_length) {
            return;
        }
        if (scan.length > options_.max_row_bytes) {
            throwLimit(scan.length);
        }
        header_length_ = scan.length;
        extension_left_ = scan.length - min_header_length;
    } else {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(extension_left_, rest_.size()));
        rest_ = rest_.subspan(take);
        consumed_ += take;
        extension_left_ -= take;
    }
    if (extension_left_ == 0) {
        phase_ = Phase::rows;
    }
}

// At a row boundary: a first byte below 0x80 starts a row (its field count is not negative).
// Any other is the trailer's first byte or the start of an invalid count, which the second byte
// tells apart; only then is a stream refused, as RowScanner refuses it once it has both bytes.
// Returns true when a row starts at rest_.
bool RowStream::atBoundary() {
    const auto byte = std::to_integer<std::uint8_t>(rest_[0]);
    if (!pending_negative_) {
        if (byte < 0x80) {
            if (options_.max_row_bytes < 2) {
                throwLimit(2);
            }
            in_row_ = true;
            row_start_ = consumed_;
            step_ = Step::count;
            integer_have_ = 0;
            field_count_ = -1;
            return true;
        }
        pending_negative_ = true;
        pending_byte_ = byte;
        rest_ = rest_.subspan(1);
        ++consumed_;
        return false;
    }
    pending_negative_ = false;
    rest_ = rest_.subspan(1);
    ++consumed_;
    const auto count = static_cast<std::int16_t>(
        static_cast<std::uint16_t>((static_cast<unsigned>(pending_byte_) << 8) | byte));
    if (count == trailer_marker) {
        phase_ = Phase::done;
        return false;
    }
    throwBadFieldCount(count, rows_ + 1, consumed_ - 2);
}

// The common case, a row that lies whole in the chunk, without the state machine: returns its
// length (and its field count) when rest_ starts with a whole, valid row within the limits, 0
// otherwise. Anything else (a row cut by the chunk's end, the trailer, a bad count or length, a
// row over the limit) is left to atBoundary() and scanRow(), which hand the same row out in
// pieces or refuse it with the right message.
std::size_t RowStream::wholeRow(int& field_count) const {
    const std::byte* const data = rest_.data();
    const std::size_t size = rest_.size();
    if (size < 2 || std::to_integer<std::uint8_t>(data[0]) >= 0x80) {
        return 0;
    }
    const int count = loadInt16(data);
    if (options_.expected_fields != any_field_count && count != options_.expected_fields) {
        return 0;
    }
    const std::uint64_t limit = options_.max_row_bytes;
    std::size_t pos = 2;
    for (int left = count; left > 0; --left) {
        if (size - pos < 4 || pos + 4 > limit) {
            return 0;
        }
        const std::int32_t length = loadInt32(data + pos);
        if (length >= 0) {
            const std::uint64_t end = std::uint64_t{pos} + 4 + static_cast<std::uint32_t>(length);
            if (end > size || end > limit) {
                return 0;
            }
            pos = static_cast<std::size_t>(end);
        } else if (length == null_length) {
            pos += 4;
        } else {
            return 0;
        }
    }
    if (pos > limit) {
        return 0;
    }
    field_count = count;
    return pos;
}

// Gathers the `size` big-endian bytes of a field count or length at p, across chunks: returns
// true with the value in integer_ once it has all of them.
bool RowStream::takeInteger(const std::byte*& p, const std::byte* end, int size) {
    if (integer_have_ == 0 && end - p >= size) {
        integer_ = size == 2 ? static_cast<std::uint16_t>(loadInt16(p))
                             : static_cast<std::uint32_t>(loadInt32(p));
        p += size;
        return true;
    }
    if (integer_have_ == 0) {
        integer_ = 0;
    }
    while (p < end && integer_have_ < size) {
        integer_ = (integer_ << 8) | std::to_integer<std::uint32_t>(*p++);
        ++integer_have_;
    }
    if (integer_have_ < size) {
        return false;
    }
    integer_have_ = 0;
    return true;
}

// Walks the row from rest_ as far as it goes in the chunk, and hands that much out.
RowPiece RowStream::scanRow() {
    const std::byte* const begin = rest_.data();
    const std::byte* const end = begin + rest_.size();
    const std::byte* p = begin;
    const std::uint64_t row = rows_ + 1;
    // The row offset of `at` (a position in the chunk).
    const auto position = [&](const std::byte* at) {
        return consumed_ + static_cast<std::uint64_t>(at - begin) - row_start_;
    };
    // After a field: the row ends, or its next length header must fit in the limit.
    bool done = false;
    const auto endField = [&] {
        if (--fields_left_ == 0) {
            done = true;
            return;
        }
        step_ = Step::length;
        if (position(p) + 4 > options_.max_row_bytes) {
            throwLimit(position(p) + 4);
        }
    };
    while (p < end && !done) {
        switch (step_) {
            case Step::count:
                if (!takeInteger(p, end, 2)) {
                    break;
                }
                // Not negative: the row's first byte was below 0x80.
                field_count_ = static_cast<int>(integer_);
                // Checked as soon as the count is known, as RowSplitter does.
                if (options_.expected_fields != any_field_count &&
                    field_count_ != options_.expected_fields) {
                    throw FormatError(
                        std::string{prefix} + "row " + std::to_string(row) + " at offset " +
                        std::to_string(row_start_) + " has " + std::to_string(field_count_) +
                        " fields but " + std::to_string(options_.expected_fields) +
                        " columns were expected; the COPY column list does not match the "
                        "table");
                }
                fields_left_ = field_count_ + 1;
                endField();
                break;
            case Step::length: {
                if (!takeInteger(p, end, 4)) {
                    break;
                }
                const std::uint64_t header_at = position(p) - 4;
                const auto length = static_cast<std::int32_t>(integer_);
                if (length == null_length) {
                    endField();
                } else if (length < 0) {
                    throwBadFieldLength(length, field_count_ - fields_left_, row,
                                        row_start_ + header_at);
                } else {
                    const std::uint64_t needed = header_at + 4 + static_cast<std::uint32_t>(length);
                    if (needed > options_.max_row_bytes) {
                        throwLimit(needed);
                    }
                    data_left_ = static_cast<std::uint32_t>(length);
                    if (data_left_ == 0) {
                        endField();
                    } else {
                        step_ = Step::data;
                    }
                }
                break;
            }
            case Step::data: {
                const auto take = static_cast<std::uint32_t>(
                    std::min<std::uint64_t>(data_left_, static_cast<std::uint64_t>(end - p)));
                p += take;
                data_left_ -= take;
                if (data_left_ == 0) {
                    endField();
                }
                break;
            }
        }
    }
    RowPiece piece;
    piece.bytes = rest_.first(static_cast<std::size_t>(p - begin));
    piece.row = row;
    piece.offset = consumed_;
    piece.first = consumed_ == row_start_;
    piece.last = done;
    piece.field_count = field_count_;
    rest_ = rest_.subspan(piece.bytes.size());
    consumed_ += piece.bytes.size();
    if (done) {
        in_row_ = false;
        ++rows_;
    }
    return piece;
}

void RowStream::throwLimit(std::uint64_t needed) const {
    const bool header = phase_ == Phase::header;
    const std::string what =
        header ? std::string{"the header"} : "row " + std::to_string(rows_ + 1);
    throw FormatError(std::string{prefix} + what + " at offset " +
                      std::to_string(header ? 0 : row_start_) + " needs at least " +
                      std::to_string(needed) + " bytes, more than the limit of " +
                      std::to_string(options_.max_row_bytes) +
                      "; PostgreSQL never sends a row that large, so the stream is corrupt");
}

std::uint64_t RowStream::partialBytes() const noexcept {
    switch (phase_) {
        case Phase::header:
            return consumed_;
        case Phase::rows:
            return in_row_ ? consumed_ - row_start_ : (pending_negative_ ? 1 : 0);
        case Phase::done:
            return 0;
    }
    return 0;
}

void RowStream::finish() const {
    if (!rest_.empty()) {
        throw Error("internal error: RowStream::finish called before next() used up the input");
    }
    const std::uint64_t partial = partialBytes();
    if (phase_ == Phase::done) {
        return;
    }
    throwCutOff(phase_ == Phase::header, consumed_, rows_, partial);
}

}  // namespace pgsluice::copy
