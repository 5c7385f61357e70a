#include "pgsluice/archive/unit_stream.hpp"

#include "pgsluice/copy/binary_reader.hpp"

namespace pgsluice::archive {

FrameBuffer::FrameBuffer(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit)
    : writer_(writer), encoder_(encoder), unit_(unit) {
    buffer_.reserve(data_frame_bytes + (64 << 10));
}

void FrameBuffer::recordAdded() {
    ++records_;
    if (buffer_.size() >= data_frame_bytes) {
        flush(buffer_.size());
    }
}

void FrameBuffer::flush(std::size_t length) {
    if (length == 0) {
        return;
    }
    writer_.appendFrame(encoder_.encode(FrameType::data, unit_, seq_++, records_,
                                        std::string_view(buffer_).substr(0, length)));
    raw_bytes_ += length;
    buffer_.erase(0, length);
    records_ = 0;
}

void FrameBuffer::close() {
    flush(buffer_.size());
    writer_.endUnit(unit_);
}

UnitWriter::UnitWriter(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit,
                       bool binary, int columns)
    : binary_(binary),
      frames_(writer, encoder, unit),
      splitter_(copy::SplitterOptions{columns}),
      lines_(false) {}

void UnitWriter::write(std::string_view chunk) {
    std::string& buf = frames_.buffer();
    if (binary_) {
        splitter_.feed(copy::asBytes(chunk), [&](const copy::Row& row) {
            std::string_view bytes = copy::asText(row.bytes);
            buf.append(bytes);
            digest_.addRow(bytes);
            frames_.recordAdded();
        });
        return;
    }
    // COPY text: one row per line; frames end at line ends.
    std::uint64_t before = lines_.digest().rows;
    lines_.feed(chunk);
    buf.append(chunk);
    frames_.addRecords(lines_.digest().rows - before);
    if (size_t end = buf.rfind('\n'); buf.size() >= data_frame_bytes && end != buf.npos) {
        frames_.flush(end + 1);
    }
}

void UnitWriter::finish() {
    if (binary_) {
        splitter_.finish();
    } else {
        lines_.finish();
    }
    frames_.close();
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
