#include "pgsluice/io/file_writer.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/io/ring.hpp"
#include "posix.hpp"

namespace pgsluice::io {

namespace {

// user_data of cancel requests; buffer indexes are small, so it cannot collide.
constexpr std::uint64_t cancel_tag = ~std::uint64_t{0};

std::string directoryOf(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseNameOf(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// PATH.partial-XXXXXX, created with O_EXCL. mkstemp is not used because it creates the file
// 0600 whatever the umask; a dump should get the permissions any other new file would.
std::pair<FileDescriptor, std::string> createTemporary(const std::string& path) {
    static constexpr std::string_view alphabet =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::random_device entropy;
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string candidate = path + ".partial-";
        for (int i = 0; i < 6; ++i) {
            candidate += alphabet[pick(entropy)];
        }
        const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            return {FileDescriptor(fd), std::move(candidate)};
        }
        if (errno != EEXIST) {
            throw Error("cannot create " + candidate + ": " + detail::errnoText(errno) +
                        " (the output is written there first and renamed to " + baseNameOf(path) +
                        " when complete; check the directory exists and is "
                        "writable)");
        }
    }
    throw Error("cannot create a temporary file next to " + path +
                ": 100 random names were all taken");
}

}  // namespace

class FileWriter::Impl {
  public:
    Impl(FileDescriptor fd, PendingFile pending, std::string name, IoMode mode,
         WriterOptions options);
    ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void append(std::string_view bytes);
    void settle();
    void finish();
    void commit();

    std::uint64_t appended() const noexcept { return appended_; }
    Backend backend() const noexcept { return backend_; }
    const std::string& name() const noexcept { return name_; }
    // The path commit() renames the temporary file to (the target of a symbolic link).
    void setFinalPath(std::string path) { final_path_ = std::move(path); }
    const std::string& currentPath() const noexcept {
        return pending_.path().empty() ? name_ : pending_.path();
    }

  private:
    enum class State : std::uint8_t { free, filling, queued, in_flight };
    struct Buffer {
        std::unique_ptr<char[]> data;
        std::size_t size = 0;      // bytes filled
        std::size_t done = 0;      // bytes the kernel has confirmed
        std::uint64_t offset = 0;  // stream offset of data[0], counted from our first byte
        State state = State::free;
    };

    std::string where() const;
    [[noreturn]] void fail(std::string message);
    void checkHealthy() const;

    std::size_t acquireBuffer();
    void bufferFull(std::size_t index);
    void submitWrite(std::size_t index);
    void reapOne();
    void drainForDestruction() noexcept;

    void writeAllSync(const char* data, std::size_t size, std::uint64_t stream_offset);

    // Declared first so it is destroyed last: the temporary file is unlinked after the
    // descriptor is closed.
    PendingFile pending_;
    std::string name_;
    std::string final_path_;
    FileDescriptor fd_;
    WriterOptions options_;
    Backend backend_ = Backend::sync;
    bool regular_ = false;     // fsync at the end
    bool positional_ = false;  // several writes in flight at explicit offsets
    std::uint64_t start_offset_ = 0;

    // The buffers outlive the ring (declared before it): the kernel may touch a buffer until
    // its completion has been reaped.
    std::vector<Buffer> buffers_;
    std::optional<Ring> ring_;
    std::optional<std::size_t> current_;  // buffer being filled
    std::deque<std::size_t> queue_;       // ordered mode: full buffers behind the one in flight
    unsigned in_flight_ = 0;

    std::uint64_t appended_ = 0;
    std::uint64_t next_offset_ = 0;  // stream offset the next full buffer starts at
    std::string error_;
    bool finished_ = false;
    bool committed_ = false;
};

FileWriter::Impl::Impl(FileDescriptor fd, PendingFile pending, std::string name, IoMode mode,
                       WriterOptions options)
    : pending_(std::move(pending)), name_(std::move(name)), fd_(std::move(fd)), options_(options) {
    // A single io_uring write moves at most UINT_MAX bytes; 1 GiB keeps far clear of it.
    if (options_.buffer_size == 0 || options_.buffer_size > (std::size_t{1} << 30) ||
        options_.buffer_count == 0 || options_.buffer_count > 64) {
        throw Error("FileWriter for " + name_ +
                    ": buffer size must be 1 byte to 1 GiB and buffer count 1 to 64");
    }
    final_path_ = name_;
    backend_ = chooseBackend(mode);

    struct stat info {};
    if (::fstat(fd_.get(), &info) != 0) {
        throw Error("cannot write " + name_ + ": fstat failed: " + detail::errnoText(errno));
    }
    regular_ = S_ISREG(info.st_mode);
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (regular_ && flags >= 0 && (flags & O_APPEND) == 0) {
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
            // The probe succeeded but this ring could not be made (RLIMIT_MEMLOCK on older
            // kernels, too many rings): honour an explicit request, otherwise fall back.
            if (mode == IoMode::uring) {
                throw;
            }
            backend_ = Backend::sync;
        }
    }
    const std::size_t count = backend_ == Backend::uring ? options_.buffer_count : 1;
    buffers_.resize(count);
    for (Buffer& buffer : buffers_) {
        buffer.data = std::make_unique_for_overwrite<char[]>(options_.buffer_size);
    }
}

FileWriter::Impl::~Impl() {
    drainForDestruction();
}

std::string FileWriter::Impl::where() const {
    if (!pending_.path().empty()) {
        return name_ + " (being written as " + pending_.path() + ")";
    }
    return name_;
}

void FileWriter::Impl::fail(std::string message) {
    error_ = std::move(message);
    throw Error(error_);
}

void FileWriter::Impl::checkHealthy() const {
    if (!error_.empty()) {
        throw Error(error_);
    }
}

void FileWriter::Impl::append(std::string_view bytes) {
    checkHealthy();
    if (finished_) {
        throw Error("cannot write " + where() + ": the output was already finished");
    }
    while (!bytes.empty()) {
        if (backend_ == Backend::sync && !current_ && bytes.size() >= options_.buffer_size) {
            // Nothing buffered and at least a buffer's worth: write it straight from the
            // caller's memory instead of copying it first.
            writeAllSync(bytes.data(), bytes.size(), appended_);
            appended_ += bytes.size();
            next_offset_ += bytes.size();
            return;
        }
        if (!current_) {
            current_ = acquireBuffer();
        }
        Buffer& buffer = buffers_[*current_];
        const std::size_t take = std::min(bytes.size(), options_.buffer_size - buffer.size);
        std::memcpy(buffer.data.get() + buffer.size, bytes.data(), take);
        buffer.size += take;
        appended_ += take;
        bytes.remove_prefix(take);
        if (buffer.size == options_.buffer_size) {
            const std::size_t index = *current_;
            current_.reset();
            bufferFull(index);
        }
    }
}

std::size_t FileWriter::Impl::acquireBuffer() {
    for (;;) {
        for (std::size_t i = 0; i < buffers_.size(); ++i) {
            if (buffers_[i].state == State::free) {
                buffers_[i].state = State::filling;
                buffers_[i].size = 0;
                buffers_[i].done = 0;
                return i;
            }
        }
        // Every buffer is queued or in flight (only possible with io_uring): wait for one.
        reapOne();
    }
}

void FileWriter::Impl::bufferFull(std::size_t index) {
    Buffer& buffer = buffers_[index];
    buffer.offset = next_offset_;
    next_offset_ += buffer.size;
    if (backend_ == Backend::sync) {
        writeAllSync(buffer.data.get(), buffer.size, buffer.offset);
        buffer.state = State::free;
        return;
    }
    if (!positional_ && in_flight_ > 0) {
        buffer.state = State::queued;
        queue_.push_back(index);
        return;
    }
    submitWrite(index);
}

void FileWriter::Impl::submitWrite(std::size_t index) {
    Buffer& buffer = buffers_[index];
    io_uring_sqe* sqe = ring_->sqe();
    // Offset -1 means "at the file position" for a stream; positional files get the exact spot.
    const std::uint64_t offset =
        positional_ ? start_offset_ + buffer.offset + buffer.done : ~std::uint64_t{0};
    io_uring_prep_write(sqe, fd_.get(), buffer.data.get() + buffer.done,
                        static_cast<unsigned>(buffer.size - buffer.done), offset);
    io_uring_sqe_set_data64(sqe, index);
    buffer.state = State::in_flight;
    ++in_flight_;
    try {
        ring_->submit();
    } catch (const Error& error) {
        // The request may not be queued; treat the writer as broken (the destructor cancels
        // whatever did reach the kernel).
        fail("cannot write " + where() + " at byte " + std::to_string(buffer.offset + buffer.done) +
             ": " + error.what());
    }
}

void FileWriter::Impl::reapOne() {
    Completion completion;
    try {
        completion = ring_->wait();
    } catch (const Error& error) {
        fail("cannot write " + where() + ": " + error.what());
    }
    if (completion.user_data == cancel_tag || completion.user_data >= buffers_.size()) {
        return;
    }
    const std::size_t index = static_cast<std::size_t>(completion.user_data);
    Buffer& buffer = buffers_[index];
    --in_flight_;
    const std::uint64_t at = buffer.offset + buffer.done;
    if (completion.result < 0) {
        const int error = -completion.result;
        if (error == EINTR || error == EAGAIN) {
            if (error == EAGAIN) {
                if (const int poll_error = detail::waitReady(fd_.get(), POLLOUT)) {
                    fail("cannot write " + where() + " at byte " + std::to_string(at) +
                         ": poll failed: " + detail::errnoText(poll_error));
                }
            }
            submitWrite(index);
            return;
        }
        buffer.state = State::free;
        fail("cannot write " + where() + " at byte " + std::to_string(at) + ": " +
             detail::errnoText(error) +
             (error == EPIPE ? " (the reading side of the pipe has gone)" : ""));
    }
    if (completion.result == 0) {
        buffer.state = State::free;
        fail("cannot write " + where() + " at byte " + std::to_string(at) +
             ": the kernel accepted 0 bytes");
    }
    buffer.done += static_cast<std::size_t>(completion.result);
    if (buffer.done < buffer.size) {
        // A short write: the rest goes again, at the right offset.
        submitWrite(index);
        return;
    }
    buffer.state = State::free;
    if (!queue_.empty() && in_flight_ == 0) {
        const std::size_t next = queue_.front();
        queue_.pop_front();
        submitWrite(next);
    }
}

void FileWriter::Impl::writeAllSync(const char* data, std::size_t size,
                                    std::uint64_t stream_offset) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t rc = ::write(fd_.get(), data + done, size - done);
        if (rc > 0) {
            done += static_cast<std::size_t>(rc);
            continue;
        }
        const std::uint64_t at = stream_offset + done;
        if (rc == 0) {
            fail("cannot write " + where() + " at byte " + std::to_string(at) +
                 ": write accepted 0 bytes");
        }
        const int error = errno;
        if (error == EINTR) {
            continue;
        }
        if (error == EAGAIN) {
            if (const int poll_error = detail::waitReady(fd_.get(), POLLOUT)) {
                fail("cannot write " + where() + " at byte " + std::to_string(at) +
                     ": poll failed: " + detail::errnoText(poll_error));
            }
            continue;
        }
        fail("cannot write " + where() + " at byte " + std::to_string(at) + ": " +
             detail::errnoText(error) +
             (error == EPIPE ? " (the reading side of the pipe has gone)" : ""));
    }
}

void FileWriter::Impl::settle() {
    checkHealthy();
    while (in_flight_ > 0 || !queue_.empty()) {
        reapOne();
    }
}

void FileWriter::Impl::finish() {
    checkHealthy();
    if (finished_) {
        return;
    }
    if (current_) {
        const std::size_t index = *current_;
        current_.reset();
        if (buffers_[index].size > 0) {
            bufferFull(index);
        } else {
            buffers_[index].state = State::free;
        }
    }
    while (in_flight_ > 0 || !queue_.empty()) {
        reapOne();
    }
    if (regular_) {
        // The data must be on disk before a rename publishes the file, or a crash could leave a
        // complete-looking name over missing blocks.
        while (::fsync(fd_.get()) != 0) {
            if (errno != EINTR) {
                fail("cannot write " + where() + ": fsync failed: " + detail::errnoText(errno));
            }
        }
        if (positional_ && backend_ == Backend::uring && !fd_.owned()) {
            // Positional writes leave the descriptor's offset alone; move it past our bytes so
            // whoever writes to this descriptor next appends after them.
            ::lseek(fd_.get(), static_cast<off_t>(start_offset_ + appended_), SEEK_SET);
        }
    }
    if (fd_.owned()) {
        if (const int error = fd_.close()) {
            fail("cannot write " + where() + ": close failed: " + detail::errnoText(error));
        }
    }
    finished_ = true;
}

void FileWriter::Impl::commit() {
    finish();
    if (committed_ || pending_.path().empty()) {
        committed_ = true;
        return;
    }
    if (::rename(pending_.path().c_str(), final_path_.c_str()) != 0) {
        fail("cannot rename " + pending_.path() + " to " + final_path_ + ": " +
             detail::errnoText(errno));
    }
    pending_.release();
    committed_ = true;
    const std::string directory = directoryOf(final_path_);
    FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) {
        // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as
        // that file system makes it, and nothing more can be done.
        if (::fsync(dir.get()) != 0 && errno != EINVAL && errno != EROFS) {
            fail("wrote " + final_path_ + " but cannot fsync its directory " + directory + ": " +
                 detail::errnoText(errno) + "; the file may not survive a crash");
        }
    }
}

void FileWriter::Impl::drainForDestruction() noexcept {
    if (ring_) {
        cancelAndDrain(*ring_, buffers_, in_flight_, State::in_flight, State::free, cancel_tag);
    }
}

FileWriter FileWriter::create(const std::string& path, IoMode mode, WriterOptions options) {
    if (path.empty()) {
        throw Error("cannot write a file with an empty name");
    }
    // Through a symbolic link, replace the file it points to, as writing through the link
    // would, rather than the link itself.
    std::string target = path;
    struct stat link_info {};
    if (::lstat(path.c_str(), &link_info) == 0 && S_ISLNK(link_info.st_mode)) {
        if (char* resolved = ::realpath(path.c_str(), nullptr)) {
            target = resolved;
            std::free(resolved);
        }
    }
    struct stat info {};
    if (::stat(target.c_str(), &info) == 0) {
        if (S_ISDIR(info.st_mode)) {
            throw Error("cannot write " + path + ": it is a directory");
        }
        if (!S_ISREG(info.st_mode)) {
            // A FIFO, /dev/null, a terminal: there is nothing to rename over, write in place.
            const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) {
                throw Error("cannot open " + path + " for writing: " + detail::errnoText(errno));
            }
            return FileWriter(
                std::make_unique<Impl>(FileDescriptor(fd), PendingFile{}, path, mode, options));
        }
    }
    auto [fd, temporary] = createTemporary(target);
    PendingFile pending(std::move(temporary));
    auto impl = std::make_unique<Impl>(std::move(fd), std::move(pending), path, mode, options);
    impl->setFinalPath(std::move(target));
    return FileWriter(std::move(impl));
}

FileWriter::FileWriter(FileDescriptor fd, std::string name, IoMode mode, WriterOptions options)
    : impl_(std::make_unique<Impl>(std::move(fd), PendingFile{}, std::move(name), mode, options)) {}

FileWriter::FileWriter(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
FileWriter::~FileWriter() = default;
FileWriter::FileWriter(FileWriter&&) noexcept = default;
FileWriter& FileWriter::operator=(FileWriter&&) noexcept = default;

void FileWriter::append(std::string_view bytes) {
    impl_->append(bytes);
}
void FileWriter::settle() {
    impl_->settle();
}
void FileWriter::finish() {
    impl_->finish();
}
void FileWriter::commit() {
    impl_->commit();
}
std::uint64_t FileWriter::bytesAppended() const noexcept {
    return impl_->appended();
}
Backend FileWriter::backend() const noexcept {
    return impl_->backend();
}
std::string_view FileWriter::backendName() const noexcept {
    return io::backendName(impl_->backend());
}
const std::string& FileWriter::name() const noexcept {
    return impl_->name();
}
const std::string& FileWriter::currentPath() const noexcept {
    return impl_->currentPath();
}

}  // namespace pgsluice::io
