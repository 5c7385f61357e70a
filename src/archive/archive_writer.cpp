#include "pgsluice/archive/archive_writer.hpp"

#include <chrono>
#include <mutex>
#include <vector>

#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/error.hpp"
#include "stream_tracker.hpp"

namespace pgsluice::archive {

class ArchiveWriter::Impl {
  public:
    Impl(io::FileWriter file, const ArchiveWriterOptions& options);

    void appendFrame(std::string_view frame);
    void appendBlob(FrameType type, std::uint32_t unit, std::string_view bytes);
    UnitSummary endUnit(std::uint32_t unit);
    void abandonUnit(std::uint32_t unit);
    void finish();
    void settle() {
        std::lock_guard lock(mutex_);
        file_.settle();
    }

    std::uint64_t bytesWritten() const {
        std::lock_guard lock(mutex_);
        return file_.bytesAppended();
    }
    std::size_t frameCount() const {
        std::lock_guard lock(mutex_);
        return index_.size();
    }
    std::string_view backendName() const { return file_.backendName(); }
    const std::string& name() const { return file_.name(); }

  private:
    void checkUsable() const;
    // Records and writes a frame whose place in its stream the tracker has accepted.
    void write(std::string_view frame, const FrameHeader& header, std::uint64_t offset);
    void appendChecked(std::string_view frame, const FrameHeader& header, std::uint64_t offset);
    void appendEncoded(std::string_view frame);

    mutable std::mutex mutex_;
    io::FileWriter file_;
    FrameEncoder encoder_;
    std::size_t blob_chunk_size_;
    std::uint16_t version_;
    detail::StreamTracker tracker_;
    std::vector<IndexEntry> index_;
    // The first write failure (ENOSPC...): every later call fails with it, so that whichever
    // worker reports first, the cause is what it reports.
    std::string failure_;
    bool finished_ = false;
};

ArchiveWriter::Impl::Impl(io::FileWriter file, const ArchiveWriterOptions& options)
    : file_(std::move(file)),
      encoder_(options.level),
      blob_chunk_size_(std::min<std::size_t>(options.blob_chunk_size, max_raw_length)),
      version_(options.format_version),
      tracker_(options.format_version) {
    if (blob_chunk_size_ == 0) {
        throw Error("archive: blob_chunk_size must be positive");
    }
    ArchiveHeader header;
    header.version = version_;
    header.writer = options.writer_name;
    header.created_unix_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    file_.append(encodeFileHeader(header));
}

void ArchiveWriter::Impl::checkUsable() const {
    if (!failure_.empty()) {
        throw Error(failure_);
    }
    if (finished_) {
        throw Error("archive " + file_.name() + ": cannot append after finish()");
    }
}

void ArchiveWriter::Impl::write(std::string_view frame, const FrameHeader& header,
                                std::uint64_t offset) {
    try {
        file_.append(frame);
    } catch (const std::exception& e) {
        // Part of the frame may be buffered: nothing appended after it could be read back.
        failure_ = e.what();
        throw;
    }
    index_.push_back({header, offset});
}

void ArchiveWriter::Impl::appendEncoded(std::string_view frame) {
    const std::uint64_t offset = file_.bytesAppended();
    appendChecked(frame, decodeFrameHeader(frame, file_.name(), offset, version_), offset);
}

void ArchiveWriter::Impl::appendChecked(std::string_view frame, const FrameHeader& header,
                                        std::uint64_t offset) {
    if (frame.size() != header.frameLength()) {
        throw FormatError("archive " + file_.name() + ": " + describeFrame(header) + " is " +
                          std::to_string(frame.size()) + " bytes, its header says " +
                          std::to_string(header.frameLength()));
    }
    tracker_.accept(header, offset, file_.name());
    write(frame, header, offset);
}

void ArchiveWriter::Impl::appendFrame(std::string_view frame) {
    std::lock_guard lock(mutex_);
    checkUsable();
    const std::uint64_t offset = file_.bytesAppended();
    const FrameHeader header = decodeFrameHeader(frame, file_.name(), offset, version_);
    if (header.type == FrameType::unit_end || header.type == FrameType::footer) {
        throw Error("archive " + file_.name() + ": " + describeFrame(header) +
                    " cannot be appended directly; use endUnit(), abandonUnit() or finish()");
    }
    appendChecked(frame, header, offset);
}

void ArchiveWriter::Impl::appendBlob(FrameType type, std::uint32_t unit, std::string_view bytes) {
    std::lock_guard lock(mutex_);
    checkUsable();
    if (type != FrameType::schema && type != FrameType::manifest) {
        throw Error("archive " + file_.name() +
                    ": appendBlob() takes schema or manifest bytes, "
                    "not " +
                    frameTypeName(type));
    }
    std::uint32_t seq = tracker_.blob(type, unit).frames;
    do {
        const std::string_view chunk = bytes.substr(0, blob_chunk_size_);
        bytes.remove_prefix(chunk.size());
        appendEncoded(encoder_.encode(type, unit, seq++, 0, chunk, bytes.empty()));
    } while (!bytes.empty());
}

UnitSummary ArchiveWriter::Impl::endUnit(std::uint32_t unit) {
    std::lock_guard lock(mutex_);
    checkUsable();
    const detail::StreamState state = tracker_.dataUnit(unit);
    appendEncoded(encoder_.encode(FrameType::unit_end, unit, state.frames, state.rows, {}));
    return {unit, state.frames, state.rows};
}

void ArchiveWriter::Impl::abandonUnit(std::uint32_t unit) {
    std::lock_guard lock(mutex_);
    checkUsable();
    if (version_ < 2) {
        throw FormatError("archive " + file_.name() + ": unit " + std::to_string(unit) +
                          " cannot be abandoned in a version 1 archive (abandoned attempts are "
                          "new in version 2)");
    }
    const detail::StreamState state = tracker_.dataUnit(unit);
    appendEncoded(encoder_.encodeWithFlags(FrameType::unit_end, unit, state.frames, state.rows, {},
                                           flag_abandoned));
}

void ArchiveWriter::Impl::finish() {
    std::lock_guard lock(mutex_);
    if (finished_) {
        return;
    }
    checkUsable();
    const std::uint64_t footer_offset = file_.bytesAppended();
    tracker_.checkAllClosed(file_.name(), footer_offset);
    if (index_.size() > max_footer_raw_length / index_entry_size) {
        throw Error("archive " + file_.name() + ": " + std::to_string(index_.size()) +
                    " frames exceed the footer's limit of " +
                    std::to_string(max_footer_raw_length / index_entry_size) +
                    "; use larger data frames");
    }
    std::string index_bytes;
    index_bytes.reserve(index_.size() * index_entry_size);
    for (const IndexEntry& entry : index_) {
        appendIndexEntry(index_bytes, entry);
    }
    const std::string_view footer =
        encoder_.encode(FrameType::footer, 0, 0, index_.size(), index_bytes);
    Trailer trailer;
    trailer.footer_offset = footer_offset;
    trailer.footer_length = footer.size();
    trailer.footer_checksum = loadLE(footer.data() + frame_checksummed_size, 8);
    try {
        file_.append(footer);
        file_.append(encodeTrailer(trailer));
        file_.commit();
    } catch (const std::exception& e) {
        failure_ = e.what();
        throw;
    }
    finished_ = true;
}

ArchiveWriter ArchiveWriter::create(const std::string& path, ArchiveWriterOptions options) {
    return ArchiveWriter(
        std::make_unique<Impl>(io::FileWriter::create(path, options.io, options.buffers), options));
}

ArchiveWriter::ArchiveWriter(io::FileDescriptor fd, std::string name, ArchiveWriterOptions options)
    : impl_(std::make_unique<Impl>(
          io::FileWriter(std::move(fd), std::move(name), options.io, options.buffers), options)) {}

ArchiveWriter::ArchiveWriter(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ArchiveWriter::~ArchiveWriter() = default;
ArchiveWriter::ArchiveWriter(ArchiveWriter&&) noexcept = default;
ArchiveWriter& ArchiveWriter::operator=(ArchiveWriter&&) noexcept = default;

void ArchiveWriter::appendFrame(std::string_view frame) {
    impl_->appendFrame(frame);
}
void ArchiveWriter::appendBlob(FrameType type, std::uint32_t unit, std::string_view bytes) {
    impl_->appendBlob(type, unit, bytes);
}
UnitSummary ArchiveWriter::endUnit(std::uint32_t unit) {
    return impl_->endUnit(unit);
}
void ArchiveWriter::abandonUnit(std::uint32_t unit) {
    impl_->abandonUnit(unit);
}
void ArchiveWriter::finish() {
    impl_->finish();
}
void ArchiveWriter::settle() {
    impl_->settle();
}
std::uint64_t ArchiveWriter::bytesWritten() const {
    return impl_->bytesWritten();
}
std::size_t ArchiveWriter::frameCount() const {
    return impl_->frameCount();
}
std::string_view ArchiveWriter::backendName() const {
    return impl_->backendName();
}
const std::string& ArchiveWriter::name() const {
    return impl_->name();
}

}  // namespace pgsluice::archive
