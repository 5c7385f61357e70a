#include "pgsluice/io/file_reader.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/io/ring.hpp"
#include "posix.hpp"

namespace pgsluice::io {

namespace {

constexpr std::uint64_t cancel_tag = ~std::uint64_t{0};

}  // namespace

class FileReader::Impl {
  public:
    Impl(FileDescriptor fd, std::string name, IoMode mode, ReaderOptions options);
    ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    std::size_t read(char* out, std::size_t size);
    std::size_t readAt(std::uint64_t offset, char* out, std::size_t size) const;
    std::optional<std::uint64_t> size() const;

    bool seekable() const noexcept { return regular_; }
    std::uint64_t position() const noexcept { return position_; }
    Backend backend() const noexcept { return backend_; }
    const std::string& name() const noexcept { return name_; }

  private:
    enum class State : std::uint8_t { free, in_flight, ready };
    struct Buffer {
        std::unique_ptr<char[]> data;
        std::size_t filled = 0;
        std::size_t consumed = 0;
        std::uint64_t offset = 0;  // stream offset of data[0]
        bool eof = false;          // the input ends after `filled` bytes
        State state = State::free;
    };

    [[noreturn]] void fail(std::string message);
    void checkHealthy() const;

    std::size_t readUring(char* out, std::size_t size);
    void startReads();
    void submitRead(std::size_t index);
    void reapOne();
    void drainForDestruction() noexcept;

    std::size_t readSync(char* out, std::size_t size);
    std::size_t readOnce(char* out, std::size_t size, std::uint64_t stream_offset);

    std::string name_;
    FileDescriptor fd_;
    ReaderOptions options_;
    Backend backend_ = Backend::sync;
    bool regular_ = false;
    bool positional_ = false;  // regular file: reads at explicit offsets, several in flight
    std::uint64_t start_offset_ = 0;

    // Outlive the ring: the kernel writes into a buffer until its completion has been reaped.
    std::vector<Buffer> buffers_;
    std::optional<Ring> ring_;
    std::deque<std::size_t> order_;  // in flight or ready buffers, in stream order
    unsigned in_flight_ = 0;
    std::uint64_t next_submit_ = 0;  // stream offset of the next read to submit
    bool eof_seen_ = false;          // some read hit the end: submit no more
    bool ended_ = false;             // the caller has been given every byte

    std::uint64_t position_ = 0;
    std::string error_;
};

FileReader::Impl::Impl(FileDescriptor fd, std::string name, IoMode mode, ReaderOptions options)
    : name_(std::move(name)), fd_(std::move(fd)), options_(options) {
    if (options_.buffer_size == 0 || options_.buffer_size > (std::size_t{1} << 30) ||
        options_.buffer_count == 0 || options_.buffer_count > 64) {
        throw Error("FileReader for " + name_ +
                    ": buffer size must be 1 byte to 1 GiB and buffer count 1 to 64");
    }
    backend_ = chooseBackend(mode);
    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) {
        throw Error("cannot read " + name_ + ": fstat failed: " + detail::errnoText(errno));
    }
    if (S_ISDIR(info.st_mode)) {
        throw Error("cannot read " + name_ + ": it is a directory");
    }
    regular_ = S_ISREG(info.st_mode);
    if (regular_) {
        const off_t position = ::lseek(fd_.get(), 0, SEEK_CUR);
        if (position >= 0) {
            positional_ = true;
            start_offset_ = static_cast<std::uint64_t>(position);
        }
    }
    if (backend_ == Backend::uring) {
        try {
            ring_.emplace(options_.buffer_count * 2);
        } catch (const Error&) {
            if (mode == IoMode::uring) {
                throw;
            }
            backend_ = Backend::sync;
        }
    }
    buffers_.resize(backend_ == Backend::uring ? options_.buffer_count : 1);
    for (Buffer& buffer : buffers_) {
        buffer.data = std::make_unique_for_overwrite<char[]>(options_.buffer_size);
    }
}

FileReader::Impl::~Impl() {
    drainForDestruction();
}

void FileReader::Impl::fail(std::string message) {
    error_ = std::move(message);
    throw Error(error_);
}

void FileReader::Impl::checkHealthy() const {
    if (!error_.empty()) {
        throw Error(error_);
    }
}

std::size_t FileReader::Impl::read(char* out, std::size_t size) {
    checkHealthy();
    const std::size_t count =
        backend_ == Backend::uring ? readUring(out, size) : readSync(out, size);
    position_ += count;
    return count;
}

// --- io_uring --------------------------------------------------------------------------------

std::size_t FileReader::Impl::readUring(char* out, std::size_t size) {
    std::size_t total = 0;
    while (total < size && !ended_) {
        if (order_.empty()) {
            startReads();
            if (order_.empty()) {
                ended_ = true;  // nothing in flight and the end was seen
                break;
            }
        }
        Buffer& buffer = buffers_[order_.front()];
        while (buffer.state == State::in_flight) {
            reapOne();
        }
        const std::size_t take = std::min(size - total, buffer.filled - buffer.consumed);
        std::memcpy(out + total, buffer.data.get() + buffer.consumed, take);
        buffer.consumed += take;
        total += take;
        if (buffer.consumed == buffer.filled) {
            if (buffer.eof) {
                // Buffers after this one were read past the end and hold nothing; their
                // completions are reaped when the reader is destroyed.
                ended_ = true;
                break;
            }
            buffer.state = State::free;
            order_.pop_front();
            startReads();
        }
    }
    return total;
}

void FileReader::Impl::startReads() {
    if (eof_seen_) {
        return;
    }
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
        // A pipe must see one read at a time: two reads at offset -1 in flight may complete in
        // either order, and the bytes would be swapped.
        if (!positional_ && in_flight_ > 0) {
            return;
        }
        Buffer& buffer = buffers_[i];
        if (buffer.state != State::free) {
            continue;
        }
        buffer.filled = 0;
        buffer.consumed = 0;
        buffer.eof = false;
        buffer.offset = next_submit_;
        next_submit_ += options_.buffer_size;
        order_.push_back(i);
        submitRead(i);
    }
}

void FileReader::Impl::submitRead(std::size_t index) {
    Buffer& buffer = buffers_[index];
    io_uring_sqe* sqe = ring_->sqe();
    const std::uint64_t offset =
        positional_ ? start_offset_ + buffer.offset + buffer.filled : ~std::uint64_t{0};
    io_uring_prep_read(sqe, fd_.get(), buffer.data.get() + buffer.filled,
                       static_cast<unsigned>(options_.buffer_size - buffer.filled), offset);
    io_uring_sqe_set_data64(sqe, index);
    buffer.state = State::in_flight;
    ++in_flight_;
    try {
        ring_->submit();
    } catch (const Error& error) {
        fail("cannot read " + name_ + " at byte " + std::to_string(buffer.offset + buffer.filled) +
             ": " + error.what());
    }
}

void FileReader::Impl::reapOne() {
    Completion completion;
    try {
        completion = ring_->wait();
    } catch (const Error& error) {
        fail("cannot read " + name_ + ": " + error.what());
    }
    if (completion.user_data == cancel_tag || completion.user_data >= buffers_.size()) {
        return;
    }
    const std::size_t index = static_cast<std::size_t>(completion.user_data);
    Buffer& buffer = buffers_[index];
    --in_flight_;
    const std::uint64_t at = buffer.offset + buffer.filled;
    if (completion.result < 0) {
        const int error = -completion.result;
        if (error == EINTR || error == EAGAIN) {
            if (error == EAGAIN) {
                if (const int poll_error = detail::waitReady(fd_.get(), POLLIN)) {
                    fail("cannot read " + name_ + " at byte " + std::to_string(at) +
                         ": poll failed: " + detail::errnoText(poll_error));
                }
            }
            submitRead(index);
            return;
        }
        buffer.state = State::ready;  // not in flight any more: nothing to cancel
        fail("cannot read " + name_ + " at byte " + std::to_string(at) + ": " +
             detail::errnoText(error));
    }
    if (completion.result == 0) {
        buffer.eof = true;
        eof_seen_ = true;
        buffer.state = State::ready;
    } else {
        buffer.filled += static_cast<std::size_t>(completion.result);
        if (positional_ && buffer.filled < options_.buffer_size) {
            // A short read of a file: either the end (the next read returns 0) or an
            // interruption; either way the buffer must be full or at the end before the next
            // buffer's bytes, read at a fixed offset, may follow it.
            submitRead(index);
            return;
        }
        buffer.state = State::ready;
    }
    if (!positional_) {
        startReads();  // keep the next pipe read in flight while the caller works
    }
}

void FileReader::Impl::drainForDestruction() noexcept {
    if (ring_) {
        cancelAndDrain(*ring_, buffers_, in_flight_, State::in_flight, State::ready, cancel_tag);
    }
}

// --- plain syscalls --------------------------------------------------------------------------

std::size_t FileReader::Impl::readOnce(char* out, std::size_t size, std::uint64_t stream_offset) {
    for (;;) {
        const ssize_t rc = ::read(fd_.get(), out, size);
        if (rc >= 0) {
            return static_cast<std::size_t>(rc);
        }
        const int error = errno;
        if (error == EINTR) {
            continue;
        }
        if (error == EAGAIN) {
            if (const int poll_error = detail::waitReady(fd_.get(), POLLIN)) {
                fail("cannot read " + name_ + " at byte " + std::to_string(stream_offset) +
                     ": poll failed: " + detail::errnoText(poll_error));
            }
            continue;
        }
        fail("cannot read " + name_ + " at byte " + std::to_string(stream_offset) + ": " +
             detail::errnoText(error));
    }
}

std::size_t FileReader::Impl::readSync(char* out, std::size_t size) {
    Buffer& buffer = buffers_.front();
    std::size_t total = 0;
    while (total < size && !ended_) {
        if (buffer.consumed < buffer.filled) {
            const std::size_t take = std::min(size - total, buffer.filled - buffer.consumed);
            std::memcpy(out + total, buffer.data.get() + buffer.consumed, take);
            buffer.consumed += take;
            total += take;
            continue;
        }
        const std::uint64_t at = position_ + total;
        if (size - total >= options_.buffer_size) {
            // A large request goes straight into the caller's memory.
            const std::size_t got = readOnce(out + total, size - total, at);
            if (got == 0) {
                ended_ = true;
            }
            total += got;
            continue;
        }
        buffer.consumed = 0;
        buffer.filled = readOnce(buffer.data.get(), options_.buffer_size, at);
        if (buffer.filled == 0) {
            ended_ = true;
        }
    }
    return total;
}

// --- positional ------------------------------------------------------------------------------

std::size_t FileReader::Impl::readAt(std::uint64_t offset, char* out, std::size_t size) const {
    if (!regular_) {
        throw Error("cannot read " + name_ + " at byte " + std::to_string(offset) +
                    ": reading at an offset needs a regular file, not a pipe or device");
    }
    std::size_t total = 0;
    while (total < size) {
        const ssize_t rc =
            ::pread(fd_.get(), out + total, size - total, static_cast<off_t>(offset + total));
        if (rc > 0) {
            total += static_cast<std::size_t>(rc);
            continue;
        }
        if (rc == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        throw Error("cannot read " + name_ + " at byte " + std::to_string(offset + total) + ": " +
                    detail::errnoText(errno));
    }
    return total;
}

std::optional<std::uint64_t> FileReader::Impl::size() const {
    if (!regular_) {
        return std::nullopt;
    }
    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) {
        throw Error("cannot read " + name_ + ": fstat failed: " + detail::errnoText(errno));
    }
    return static_cast<std::uint64_t>(info.st_size);
}

// --- FileReader ------------------------------------------------------------------------------

FileReader FileReader::open(const std::string& path, IoMode mode, ReaderOptions options) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw Error("cannot open " + path + ": " + detail::errnoText(errno));
    }
    return FileReader(FileDescriptor(fd), path, mode, options);
}

FileReader::FileReader(FileDescriptor fd, std::string name, IoMode mode, ReaderOptions options)
    : impl_(std::make_unique<Impl>(std::move(fd), std::move(name), mode, options)) {}

FileReader::~FileReader() = default;
FileReader::FileReader(FileReader&&) noexcept = default;
FileReader& FileReader::operator=(FileReader&&) noexcept = default;

std::size_t FileReader::read(char* out, std::size_t size) {
    return impl_->read(out, size);
}
std::size_t FileReader::readAt(std::uint64_t offset, char* out, std::size_t size) const {
    return impl_->readAt(offset, out, size);
}
bool FileReader::seekable() const noexcept {
    return impl_->seekable();
}
std::optional<std::uint64_t> FileReader::size() const {
    return impl_->size();
}
std::uint64_t FileReader::position() const noexcept {
    return impl_->position();
}
Backend FileReader::backend() const noexcept {
    return impl_->backend();
}
std::string_view FileReader::backendName() const noexcept {
    return io::backendName(impl_->backend());
}
const std::string& FileReader::name() const noexcept {
    return impl_->name();
}

}  // namespace pgsluice::io
