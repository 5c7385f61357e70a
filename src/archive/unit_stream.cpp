#include "pgsluice/archive/unit_stream.hpp"

#include <algorithm>
#include <cstring>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::archive {

namespace {

// 2 * frame_bytes must fit in a frame, and a frame must hold something.
std::size_t checkedFrameBytes(std::size_t frame_bytes) {
    if (frame_bytes == 0 || frame_bytes > max_raw_length / 2) {
        throw Error("archive: a data frame size of " + std::to_string(frame_bytes) +
                    " bytes is not between 1 and " + std::to_string(max_raw_length / 2));
    }
    return frame_bytes;
}

}  // namespace

FrameBuffer::FrameBuffer(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit,
                         std::size_t frame_bytes)
    : writer_(writer),
      encoder_(encoder),
      unit_(unit),
      frame_bytes_(checkedFrameBytes(frame_bytes)) {
    // Room for a frame and the end of the record that fills it; the UnitWriter grows it to
    // 2 * frame_bytes only when a row needs it.
    buffer_.reserve(std::min(frame_bytes_ + (64 << 10), 2 * frame_bytes_));
}

void FrameBuffer::recordAdded() {
    ++records_;
    if (buffer_.size() >= frame_bytes_) {
        flush(buffer_.size());
    }
}

void FrameBuffer::flush(std::size_t length, bool continued) {
    if (length == 0) {
        return;
    }
    writer_.appendFrame(encoder_.encode(FrameType::data, unit_, seq_, records_,
                                        std::string_view(buffer_).substr(0, length), false,
                                        continued));
    ++seq_;
    raw_bytes_ += length;
    buffer_.erase(0, length);
    records_ = 0;
}

void FrameBuffer::close() {
    flush(buffer_.size());
    writer_.endUnit(unit_);
}

void FrameBuffer::abandon() {
    buffer_.clear();
    records_ = 0;
    writer_.abandonUnit(unit_);
    seq_ = 0;
    raw_bytes_ = 0;
}

UnitWriter::UnitWriter(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit,
                       bool binary, int columns, std::size_t frame_bytes)
    : binary_(binary),
      frames_(writer, encoder, unit, frame_bytes),
      rows_(copy::SplitterOptions{columns}) {}

std::size_t UnitWriter::bufferCapacity() const {
    return frames_.buffer().capacity();
}

void UnitWriter::append(std::string_view bytes, bool row_end) {
    std::string& buf = frames_.buffer();
    const std::size_t limit = 2 * frames_.frameBytes();
    for (;;) {
        const std::size_t take = std::min(limit - buf.size(), bytes.size());
        if (buf.size() + take > buf.capacity()) {
            // Exactly the limit (reserve() on the buffer itself may double its capacity): the
            // buffer is flushed when it reaches it, so it never needs more.
            std::string bigger;
            bigger.reserve(limit);
            bigger.append(buf);
            buf.swap(bigger);
        }
        buf.append(bytes.data(), take);
        bytes.remove_prefix(take);
        high_water_ = std::max(high_water_, buf.size());
        if (bytes.empty()) {
            break;
        }
        // Full in the middle of a row: the frame ends inside it. (A row that ends exactly where
        // the buffer is full ends its frame instead, below.)
        frames_.flush(buf.size(), true);
    }
    if (row_end) {
        frames_.recordAdded();
    }
}

void UnitWriter::write(std::string_view chunk) {
    if (binary_) {
        rows_.feed(copy::asBytes(chunk), [&](const copy::RowPiece& piece) {
            const std::string_view bytes = copy::asText(piece.bytes);
            hasher_.add(bytes, piece.first, piece.last, digest_);
            append(bytes, piece.last);
        });
        return;
    }
    // COPY text: one row per line (a raw newline always ends one); frames end at line ends
    // unless a line is longer than the buffer.
    std::size_t start = 0;
    while (start < chunk.size()) {
        const void* found = std::memchr(chunk.data() + start, '\n', chunk.size() - start);
        if (found == nullptr) {
            const std::string_view rest = chunk.substr(start);
            hasher_.add(rest, !in_line_, false, digest_);
            in_line_ = true;
            append(rest, false);
            return;
        }
        const auto nl = static_cast<std::size_t>(static_cast<const char*>(found) - chunk.data());
        hasher_.add(chunk.substr(start, nl - start), !in_line_, true, digest_);
        in_line_ = false;
        append(chunk.substr(start, nl + 1 - start), true);
        start = nl + 1;
    }
}

void UnitWriter::finish() {
    if (binary_) {
        rows_.finish();
    } else if (in_line_) {
        throw FormatError("COPY text stream ended inside a row");
    }
    frames_.close();
}

void UnitWriter::abandon() {
    frames_.abandon();
    rows_.reset();
    in_line_ = false;
    digest_ = copy::RowDigest{};
    ++abandoned_;
}

std::optional<std::string_view> UnitSource::next() {
    switch (step_) {
        case Step::header:
            step_ = Step::frames;
            if (binary_) {
                return copy::copy_plain_header;
            }
            [[fallthrough]];
        case Step::frames:
            if (std::optional<std::string_view> payload = nextPayload()) {
                return payload;
            }
            step_ = Step::trailer;
            [[fallthrough]];
        case Step::trailer:
            step_ = Step::done;
            if (binary_) {
                return copy::copy_trailer;
            }
            [[fallthrough]];
        case Step::done:
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::string_view> UnitReader::nextPayload() {
    if (next_frame_ >= unit_.frames.size()) {
        return std::nullopt;
    }
    std::size_t index = unit_.frames[next_frame_++];
    return archive_.readFrame(archive_.entries()[index], decoder_).payload;
}

}  // namespace pgsluice::archive
