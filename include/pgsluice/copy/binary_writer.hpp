#pragma once

// Writing side of the COPY ... (FORMAT binary) tuple codec: appends a header, tuples and the
// trailer to a buffer the caller owns, so a sanitiser can rewrite some fields of a row and pass
// the others (or whole rows) through, reusing one output buffer for many rows.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pgsluice/copy/binary_reader.hpp"

namespace pgsluice::copy {

// The output buffers a BinaryWriter can append to.
template <class Buffer>
concept CopyOutputBuffer = std::is_same_v<Buffer, std::string> ||
    std::is_same_v<Buffer, std::vector<char>> || std::is_same_v<Buffer, std::vector<std::byte>>;

// Appends COPY binary data to `Buffer`. It checks that each row gets exactly the fields it
// declared, so a sanitiser bug shows up here with a clear message rather than as a confusing
// server error half-way through a COPY FROM. Misuse throws pgsluice::Error.
template <CopyOutputBuffer Buffer>
class BinaryWriter {
  public:
    // A writer appending to `out`, which must outlive it; existing contents are kept.
    explicit BinaryWriter(Buffer& out) noexcept : out_(&out) {}

    // Appends the 19-byte header: signature, no flags, no extension.
    void writeHeader();

    // Starts a tuple of `field_count` fields (0 to 32767); the previous one must be complete.
    void beginRow(int field_count);

    // Appends the next field's value (an empty span is a zero-length value, not NULL).
    void appendField(ByteSpan bytes);
    // Appends the next field's value from text.
    void appendField(std::string_view text) { appendField(asBytes(text)); }
    // Appends the next field as NULL.
    void appendNull();
    // Appends the next field exactly as a reader saw it (NULL stays NULL).
    void appendField(const Field& field) {
        if (field.is_null) {
            appendNull();
        } else {
            appendField(field.bytes);
        }
    }

    // Starts the next field whose bytes the caller then appends to buffer() directly, for
    // transforms that do not know the output length beforehand; closeField() sets its length.
    void openField();
    // Ends the field started by openField(); its length is what was appended since.
    void closeField();

    // Appends a whole tuple unchanged, as RowSplitter handed it out; no row may be open.
    void appendRow(ByteSpan row);

    // Appends the end-of-data trailer; no row may be open.
    void writeTrailer();

    // Fields the current row still expects (0 when no row is open).
    int fieldsLeft() const noexcept { return fields_left_; }
    // The buffer written to.
    Buffer& buffer() noexcept { return *out_; }

  private:
    void requireNoOpenRow(std::string_view action) const;
    void startField();
    void appendRaw(const void* data, std::size_t size);
    void appendInt16(std::int16_t value);
    void appendInt32(std::int32_t value);

    Buffer* out_;
    int fields_left_ = 0;
    int fields_in_row_ = 0;
    bool field_open_ = false;
    std::size_t open_field_at_ = 0;
};

extern template class BinaryWriter<std::string>;
extern template class BinaryWriter<std::vector<char>>;
extern template class BinaryWriter<std::vector<std::byte>>;

}  // namespace pgsluice::copy
