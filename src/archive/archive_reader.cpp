#include "pgsluice/archive/archive_reader.hpp"

#include <optional>

#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/error.hpp"
#include "stream_tracker.hpp"

namespace pgsluice::archive {

class ArchiveReader::Impl {
  public:
    explicit Impl(io::FileReader input);

    bool next(Frame& out);

    const ArchiveHeader& header() const noexcept { return header_; }
    const std::vector<IndexEntry>& framesRead() const noexcept { return seen_; }
    const FrameHeader* failedFrame() const noexcept {
        return failed_frame_ ? &*failed_frame_ : nullptr;
    }
    std::uint64_t position() const noexcept { return input_.position(); }
    const std::string& name() const noexcept { return input_.name(); }
    std::string_view backendName() const noexcept { return input_.backendName(); }

  private:
    bool readNext(Frame& out);
    void readFooter(const char* header_bytes, const FrameHeader& header, std::uint64_t offset);
    void readTrailer(const FrameHeader& footer, std::uint64_t footer_offset);
    // Reads exactly `size` bytes or throws the truncation error built by `where` (called with
    // the offset where the input ended).
    template <class Where>
    void readExactly(char* out, std::size_t size, const Where& where);

    io::FileReader input_;
    FrameDecoder decoder_;
    ArchiveHeader header_;
    detail::StreamTracker tracker_;
    std::vector<IndexEntry> seen_;
    bool done_ = false;
    std::string error_;
    std::optional<FrameHeader> reading_;       // the frame readNext() is inside of
    std::optional<FrameHeader> failed_frame_;  // reading_ when next() failed
};

template <class Where>
void ArchiveReader::Impl::readExactly(char* out, std::size_t size, const Where& where) {
    const std::size_t got = input_.read(out, size);
    if (got < size) {
        throw FormatError("archive " + input_.name() + " truncated at byte " +
                          std::to_string(input_.position()) + where());
    }
}

ArchiveReader::Impl::Impl(io::FileReader input) : input_(std::move(input)) {
    char prefix[16];
    const std::size_t got = input_.read(prefix, sizeof prefix);
    if (got == 0) {
        throw FormatError("archive " + input_.name() + " is empty: no file header");
    }
    if (got < sizeof prefix) {
        // "Not an archive" says more than "truncated" about a short file of the wrong kind: if
        // the bytes present already differ from the magic, the padded prefix fails on it.
        const std::string_view have(prefix, got);
        if (have.substr(0, std::min(got, file_magic.size())) !=
            file_magic.substr(0, std::min(got, file_magic.size()))) {
            checkFileHeaderPrefix(std::string(have) + std::string(16 - got, '\0'), input_.name());
        }
        throw FormatError("archive " + input_.name() + " truncated at byte " + std::to_string(got) +
                          ": the file header is incomplete");
    }
    const std::uint32_t length = checkFileHeaderPrefix({prefix, sizeof prefix}, input_.name());
    std::string bytes(length, '\0');
    bytes.replace(0, sizeof prefix, prefix, sizeof prefix);
    readExactly(bytes.data() + sizeof prefix, length - sizeof prefix, [&] {
        return ": the file header (" + std::to_string(length) + " bytes) is incomplete";
    });
    header_ = decodeFileHeader(bytes, input_.name());
    tracker_ = detail::StreamTracker(header_.version);
}

bool ArchiveReader::Impl::next(Frame& out) {
    if (!error_.empty()) {
        throw FormatError(error_);
    }
    if (done_) {
        return false;
    }
    try {
        return readNext(out);
    } catch (const Error& error) {
        // A reader that failed once stays failed: its position is inside a damaged frame.
        error_ = error.what();
        failed_frame_ = reading_;
        throw;
    }
}

bool ArchiveReader::Impl::readNext(Frame& out) {
    const std::uint64_t offset = input_.position();
    reading_.reset();
    char header_bytes[frame_header_size];
    const std::size_t got = input_.read(header_bytes, frame_header_size);
    if (got == 0) {
        throw FormatError("archive " + input_.name() + " truncated at byte " +
                          std::to_string(offset) + ": the footer is missing (" +
                          std::to_string(seen_.size()) +
                          " intact frames before it; the dump did not finish or the file was cut)");
    }
    if (got < frame_header_size) {
        throw FormatError("archive " + input_.name() + " truncated at byte " +
                          std::to_string(offset + got) +
                          " inside the frame header that starts at byte " + std::to_string(offset) +
                          ": the footer is missing");
    }
    const FrameHeader header = decodeFrameHeader({header_bytes, frame_header_size}, input_.name(),
                                                 offset, header_.version);
    reading_ = header;
    if (header.type == FrameType::footer) {
        readFooter(header_bytes, header, offset);
        readTrailer(header, offset);
        done_ = true;
        return false;
    }
    char* stored = decoder_.frameBuffer(header.stored_length);
    readExactly(stored, header.stored_length, [&] {
        return " inside " + describeFrame(header) + " that starts at byte " +
               std::to_string(offset) + ": the footer is missing";
    });
    out.payload = decoder_.decode({header_bytes, frame_header_size}, header,
                                  {stored, header.stored_length}, input_.name(), offset);
    tracker_.accept(header, offset, input_.name());
    seen_.push_back({header, offset});
    out.header = header;
    out.offset = offset;
    return true;
}

void ArchiveReader::Impl::readFooter(const char* header_bytes, const FrameHeader& header,
                                     std::uint64_t offset) {
    // The footer must list exactly the frames read. Comparing the count before reading the
    // payload keeps a damaged count from sizing any buffer.
    if (header.rows != seen_.size()) {
        throw FormatError("archive " + input_.name() + ": the footer at byte " +
                          std::to_string(offset) + " lists " + std::to_string(header.rows) +
                          " frames, but " + std::to_string(seen_.size()) +
                          " were read (the footer header is damaged or frames are missing)");
    }
    char* stored_bytes = decoder_.frameBuffer(header.stored_length);
    readExactly(stored_bytes, header.stored_length,
                [&] { return " inside the footer that starts at byte " + std::to_string(offset); });
    const std::string_view stored(stored_bytes, header.stored_length);
    const std::string_view index =
        decoder_.decode({header_bytes, frame_header_size}, header, stored, input_.name(), offset);
    tracker_.checkAllClosed(input_.name(), offset);
    for (std::size_t i = 0; i < seen_.size(); ++i) {
        const IndexEntry entry =
            decodeIndexEntry(index.substr(i * index_entry_size, index_entry_size), input_.name(),
                             offset, i, header_.version);
        if (entry != seen_[i]) {
            throw FormatError(
                "archive " + input_.name() + ": footer index entry " + std::to_string(i) + " (" +
                describeFrame(entry.header) + " at byte " + std::to_string(entry.offset) +
                ") does not match the frame read there (" + describeFrame(seen_[i].header) +
                " at byte " + std::to_string(seen_[i].offset) + ")");
        }
    }
}

void ArchiveReader::Impl::readTrailer(const FrameHeader& header, std::uint64_t offset) {
    const std::uint64_t trailer_offset = input_.position();
    char trailer_bytes[trailer_size];
    const std::size_t got = input_.read(trailer_bytes, trailer_size);
    if (got < trailer_size) {
        throw FormatError("archive " + input_.name() + " truncated at byte " +
                          std::to_string(trailer_offset + got) +
                          (got == 0 ? ": the trailer is missing"
                                    : " inside the trailer that starts at byte " +
                                          std::to_string(trailer_offset)));
    }
    const Trailer trailer =
        decodeTrailer({trailer_bytes, trailer_size}, input_.name(), trailer_offset);
    if (trailer.footer_offset != offset || trailer.footer_length != header.frameLength() ||
        trailer.footer_checksum != header.checksum) {
        throw FormatError("archive " + input_.name() + ": the trailer at byte " +
                          std::to_string(trailer_offset) + " points to a footer at byte " +
                          std::to_string(trailer.footer_offset) + " of " +
                          std::to_string(trailer.footer_length) +
                          " bytes, but the footer read is at byte " + std::to_string(offset) +
                          " and " + std::to_string(header.frameLength()) + " bytes long");
    }
    char extra = 0;
    if (input_.read(&extra, 1) != 0) {
        throw FormatError("archive " + input_.name() +
                          ": unexpected bytes after the trailer at byte " +
                          std::to_string(input_.position() - 1) +
                          " (two archives concatenated, or garbage appended)");
    }
}

ArchiveReader ArchiveReader::open(const std::string& path, io::IoMode mode) {
    return ArchiveReader(io::FileReader::open(path, mode));
}

ArchiveReader::ArchiveReader(io::FileReader input)
    : impl_(std::make_unique<Impl>(std::move(input))) {}
ArchiveReader::~ArchiveReader() = default;
ArchiveReader::ArchiveReader(ArchiveReader&&) noexcept = default;
ArchiveReader& ArchiveReader::operator=(ArchiveReader&&) noexcept = default;

const ArchiveHeader& ArchiveReader::header() const noexcept {
    return impl_->header();
}
bool ArchiveReader::next(Frame& out) {
    return impl_->next(out);
}
const std::vector<IndexEntry>& ArchiveReader::framesRead() const noexcept {
    return impl_->framesRead();
}
const FrameHeader* ArchiveReader::failedFrame() const noexcept {
    return impl_->failedFrame();
}
std::uint64_t ArchiveReader::position() const noexcept {
    return impl_->position();
}
const std::string& ArchiveReader::name() const noexcept {
    return impl_->name();
}
std::string_view ArchiveReader::backendName() const noexcept {
    return impl_->backendName();
}

}  // namespace pgsluice::archive
