#include "pgsluice/copy/binary_writer.hpp"

#include <cstring>
#include <limits>
#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::copy {

namespace {

constexpr std::string_view prefix = "internal error: COPY binary writer: ";

[[noreturn]] void throwMisuse(const std::string& message) {
    throw Error(std::string{prefix} + message);
}

void storeInt32(void* at, std::int32_t value) {
    const auto v = static_cast<std::uint32_t>(value);
    const unsigned char bytes[4] = {
        static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
        static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
    std::memcpy(at, bytes, sizeof bytes);
}

}  // namespace

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendRaw(const void* data, std::size_t size) {
    using Char = typename Buffer::value_type;
    const auto* first = static_cast<const Char*>(data);
    if constexpr (std::is_same_v<Buffer, std::string>) {
        // Not insert(): libstdc++ builds a temporary string for an iterator range, which would
        // allocate for every field.
        out_->append(first, size);
    } else {
        out_->insert(out_->end(), first, first + size);
    }
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendInt16(std::int16_t value) {
    const auto v = static_cast<std::uint16_t>(value);
    const unsigned char bytes[2] = {static_cast<unsigned char>(v >> 8),
                                    static_cast<unsigned char>(v)};
    appendRaw(bytes, sizeof bytes);
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendInt32(std::int32_t value) {
    unsigned char bytes[4];
    storeInt32(bytes, value);
    appendRaw(bytes, sizeof bytes);
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::requireNoOpenRow(std::string_view action) const {
    if (fields_left_ != 0 || field_open_) {
        throwMisuse(std::string{action} + " while a row still expects " +
                    std::to_string(fields_left_) + " of its " + std::to_string(fields_in_row_) +
                    " fields");
    }
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::startField() {
    if (field_open_) {
        throwMisuse("a field was started before closeField() ended the previous one");
    }
    if (fields_left_ == 0) {
        throwMisuse("more fields written than the " + std::to_string(fields_in_row_) +
                    " the row declared");
    }
    --fields_left_;
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::writeHeader() {
    requireNoOpenRow("header written");
    appendRaw(copy_signature.data(), copy_signature.size());
    appendInt32(0);  // flags: no OIDs
    appendInt32(0);  // header extension length
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::beginRow(int field_count) {
    requireNoOpenRow("row started");
    if (field_count < 0 || field_count > std::numeric_limits<std::int16_t>::max()) {
        throwMisuse("a row cannot have " + std::to_string(field_count) + " fields");
    }
    appendInt16(static_cast<std::int16_t>(field_count));
    fields_left_ = field_count;
    fields_in_row_ = field_count;
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendField(ByteSpan bytes) {
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        throwMisuse("a field value of " + std::to_string(bytes.size()) +
                    " bytes does not fit COPY binary's 32-bit length");
    }
    startField();
    appendInt32(static_cast<std::int32_t>(bytes.size()));
    appendRaw(bytes.data(), bytes.size());
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendNull() {
    startField();
    appendInt32(null_length);
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::openField() {
    startField();
    field_open_ = true;
    open_field_at_ = out_->size();
    appendInt32(0);  // placeholder, patched by closeField()
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::closeField() {
    if (!field_open_) {
        throwMisuse("closeField() without openField()");
    }
    if (out_->size() < open_field_at_ + 4) {
        throwMisuse("the buffer shrank below the field opened by openField()");
    }
    const std::size_t length = out_->size() - open_field_at_ - 4;
    if (length > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        throwMisuse("a field value of " + std::to_string(length) +
                    " bytes does not fit COPY binary's 32-bit length");
    }
    storeInt32(out_->data() + open_field_at_, static_cast<std::int32_t>(length));
    field_open_ = false;
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::appendRow(ByteSpan row) {
    requireNoOpenRow("whole row appended");
    appendRaw(row.data(), row.size());
}

template <CopyOutputBuffer Buffer>
void BinaryWriter<Buffer>::writeTrailer() {
    requireNoOpenRow("trailer written");
    appendInt16(trailer_marker);
}

template class BinaryWriter<std::string>;
template class BinaryWriter<std::vector<char>>;
template class BinaryWriter<std::vector<std::byte>>;

}  // namespace pgsluice::copy
