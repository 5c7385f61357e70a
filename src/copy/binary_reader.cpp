#include "pgsluice/copy/binary_reader.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::copy {

namespace {

// Every message starts the same way so that a user seeing it in a long log knows which layer
// complained.
constexpr std::string_view prefix = "COPY binary data: ";

std::string hexByte(std::byte value) {
    constexpr std::string_view digits = "0123456789abcdef";
    const auto v = std::to_integer<unsigned>(value);
    return std::string{"0x"} + digits[v >> 4] + digits[v & 0xF];
}

std::string hexWord(std::uint32_t value) {
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) {
        out += digits[(value >> shift) & 0xF];
    }
    return out;
}

std::string rowLabel(std::uint64_t row_number) {
    return row_number == 0 ? std::string{"a row"} : "row " + std::to_string(row_number);
}

// The throwing paths are kept out of line so the scanning loops stay small.

[[noreturn]] void throwBadFieldCount(int count, std::uint64_t row_number, std::string_view where,
                                     std::uint64_t offset) {
    throw FormatError(std::string{prefix} + "invalid field count " + std::to_string(count) +
                      " for " + rowLabel(row_number) + " at " + std::string{where} + " " +
                      std::to_string(offset) +
                      " (only -1, the end-of-data trailer, may be negative)");
}

[[noreturn]] void throwBadFieldLength(std::int32_t length, int field_index,
                                      std::uint64_t row_number, std::string_view where,
                                      std::uint64_t offset) {
    throw FormatError(std::string{prefix} + "invalid length " + std::to_string(length) +
                      " for field " + std::to_string(field_index + 1) + " of " +
                      rowLabel(row_number) + " at " + std::string{where} + " " +
                      std::to_string(offset) + " (only -1, a NULL, may be negative)");
}

}  // namespace

void BinaryReader::throwPastEnd(std::size_t count, std::string_view what) const {
    throw FormatError(std::string{prefix} + "ends early: expected " + std::string{what} + " (" +
                      std::to_string(count) + " bytes) at offset " +
                      std::to_string(streamOffset()) + ", but only " + std::to_string(remaining()) +
                      " bytes remain");
}

void throwCutOff(bool in_header, std::uint64_t offset, std::uint64_t rows, std::uint64_t partial) {
    if (in_header && partial == 0) {
        throw FormatError(std::string{prefix} + "the stream is empty; expected at least the " +
                          std::to_string(min_header_length) + "-byte header");
    }
    if (in_header) {
        throw FormatError(std::string{prefix} + "the stream ends inside its header after " +
                          std::to_string(partial) + " bytes; it was cut off");
    }
    std::string message = std::string{prefix} + "the stream ends at offset " +
                          std::to_string(offset) + " after " + std::to_string(rows) +
                          " rows without the end-of-data trailer";
    if (partial != 0) {
        message += ", inside row " + std::to_string(rows + 1) + " (" + std::to_string(partial) +
                   " bytes of it received)";
    }
    message += "; the COPY or the file was cut off";
    throw FormatError(message);
}

HeaderScan scanHeader(ByteSpan buffer) {
    // Check whatever part of the signature we have: a text-format or truncated stream is then
    // refused on its first bytes instead of after buffering more.
    const std::size_t have = std::min(buffer.size(), copy_signature.size());
    for (std::size_t i = 0; i < have; ++i) {
        if (buffer[i] != static_cast<std::byte>(copy_signature[i])) {
            throw FormatError(std::string{prefix} + "bad signature: byte " + std::to_string(i) +
                              " is " + hexByte(buffer[i]) + ", expected " +
                              hexByte(static_cast<std::byte>(copy_signature[i])) +
                              "; the stream must start with PGCOPY\\n\\377\\r\\n\\0, so the COPY "
                              "must use (FORMAT binary)");
        }
    }
    if (buffer.size() < min_header_length) {
        return {false, min_header_length};
    }

    const auto flags = static_cast<std::uint32_t>(loadInt32(buffer.data() + 11));
    if ((flags & oids_flag) != 0) {
        throw FormatError(std::string{prefix} +
                          "header flags say the rows carry OIDs (flag bit 16); pgsluice never "
                          "asks for OIDs and cannot read such a stream");
    }
    if ((flags & critical_flags_mask) != 0) {
        throw FormatError(std::string{prefix} + "header has unknown critical flags " +
                          hexWord(flags & critical_flags_mask) +
                          "; the stream comes from a newer or different COPY implementation");
    }
    // Low flag bits are "harmless" by definition and are ignored, as the format asks.

    const std::int32_t extension = loadInt32(buffer.data() + 15);
    if (extension < 0) {
        throw FormatError(std::string{prefix} + "invalid header extension length " +
                          std::to_string(extension) + " at offset 15");
    }
    const std::uint64_t length = min_header_length + static_cast<std::uint64_t>(extension);
    return {buffer.size() >= length, length};
}

RowScan RowScanner::scan(ByteSpan row, std::uint64_t stream_offset, std::uint64_t row_number) {
    const std::byte* const data = row.data();
    const std::size_t size = row.size();
    if (pos_ > size) {
        // Resuming on fewer bytes than last time would read outside `row`.
        throw Error("internal error: RowScanner resumed on a shorter buffer than before");
    }

    std::size_t pos = pos_;
    int fields_left = fields_left_;
    if (fields_left < 0) {
        if (size < 2) {
            return {RowStatus::incomplete, 2, -1};
        }
        const std::int16_t count = loadInt16(data);
        if (count == trailer_marker) {
            return {RowStatus::trailer, 2, -1};
        }
        if (count < 0) {
            throwBadFieldCount(count, row_number, "offset", stream_offset);
        }
        field_count_ = count;
        fields_left = count;
        pos = 2;
    }

    while (fields_left > 0) {
        if (size - pos < 4) {
            pos_ = pos;
            fields_left_ = fields_left;
            return {RowStatus::incomplete, pos + 4, field_count_};
        }
        const std::int32_t length = loadInt32(data + pos);
        if (length >= 0) {
            const std::uint64_t end = std::uint64_t{pos} + 4 + static_cast<std::uint32_t>(length);
            if (end > size) {
                // Stop before this field's header so the resumed scan re-reads a known length.
                pos_ = pos;
                fields_left_ = fields_left;
                return {RowStatus::incomplete, end, field_count_};
            }
            pos = static_cast<std::size_t>(end);
        } else if (length == null_length) {
            pos += 4;
        } else {
            throwBadFieldLength(length, field_count_ - fields_left, row_number, "offset",
                                stream_offset + pos);
        }
        --fields_left;
    }

    const int field_count = field_count_;
    reset();
    return {RowStatus::row, pos, field_count};
}

RowView::RowView(ByteSpan row, int expected_fields, std::uint64_t row_number)
    : row_(row), row_number_(row_number) {
    if (row.size() < 2) {
        throw FormatError(std::string{prefix} + rowLabel(row_number) + " is " +
                          std::to_string(row.size()) +
                          " bytes long, too short to hold its field count");
    }
    const std::int16_t count = loadInt16(row.data());
    if (count == trailer_marker) {
        throw FormatError(std::string{prefix} + "expected " + rowLabel(row_number) +
                          " but found the end-of-data trailer");
    }
    if (count < 0) {
        throwBadFieldCount(count, row_number, "row offset", 0);
    }
    if (expected_fields != any_field_count && count != expected_fields) {
        throw FormatError(std::string{prefix} + rowLabel(row_number) + " has " +
                          std::to_string(count) + " fields but " + std::to_string(expected_fields) +
                          " columns were expected; the COPY column list does not match the "
                          "table");
    }
    field_count_ = count;
}

FieldIterator::FieldIterator(ByteSpan row, int field_count, std::uint64_t row_number)
    : row_(row), pos_(2), fields_left_(field_count), row_number_(row_number), done_(false) {
    field_.index = -1;
    advance();
}

void FieldIterator::advance() {
    if (fields_left_ == 0) {
        done_ = true;
        return;
    }
    const int index = field_.index + 1;
    const std::size_t remaining = row_.size() - pos_;
    if (remaining < 4) {
        throw FormatError(std::string{prefix} + rowLabel(row_number_) +
                          " ends early: expected the length of field " + std::to_string(index + 1) +
                          " (4 bytes) at row offset " + std::to_string(pos_) + ", but only " +
                          std::to_string(remaining) + " bytes remain");
    }
    const std::int32_t length = loadInt32(row_.data() + pos_);
    if (length == null_length) {
        field_ = Field{index, true, {}};
        pos_ += 4;
    } else if (length < 0) {
        throwBadFieldLength(length, index, row_number_, "row offset", pos_);
    } else if (static_cast<std::uint32_t>(length) > remaining - 4) {
        throw FormatError(std::string{prefix} + "field " + std::to_string(index + 1) + " of " +
                          rowLabel(row_number_) + " declares " + std::to_string(length) +
                          " bytes at row offset " + std::to_string(pos_) + ", but only " +
                          std::to_string(remaining - 4) + " bytes remain in the row");
    } else {
        field_ = Field{index, false, row_.subspan(pos_ + 4, static_cast<std::size_t>(length))};
        pos_ += 4 + static_cast<std::size_t>(length);
    }
    --fields_left_;
}

}  // namespace pgsluice::copy
