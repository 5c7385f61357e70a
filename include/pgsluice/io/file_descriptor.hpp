#pragma once

// Owners of the two OS resources a file writer holds besides its buffers: the descriptor and,
// for an atomically created file, the temporary name that must vanish unless committed.

#include <string>
#include <utility>

namespace pgsluice::io {

// Owns a file descriptor (closed on destruction) or borrows one (stdin/stdout, never closed
// here). Move-only.
class FileDescriptor {
  public:
    // No descriptor.
    FileDescriptor() noexcept = default;
    // Takes ownership of `fd`: it is closed when this object is destroyed.
    explicit FileDescriptor(int fd) noexcept : fd_(fd), owned_(fd >= 0) {}
    // Refers to `fd` without owning it: the caller keeps it open and closes it.
    static FileDescriptor borrow(int fd) noexcept {
        FileDescriptor descriptor;
        descriptor.fd_ = fd;
        return descriptor;
    }

    // Closes an owned descriptor, ignoring errors (use close() to see them).
    ~FileDescriptor() { reset(); }
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_), owned_(other.owned_) {
        other.fd_ = -1;
        other.owned_ = false;
    }
    FileDescriptor& operator=(FileDescriptor&& other) noexcept;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    // The descriptor number, or -1.
    int get() const noexcept { return fd_; }
    // True when there is a descriptor.
    bool valid() const noexcept { return fd_ >= 0; }
    // True when destroying this object closes the descriptor.
    bool owned() const noexcept { return owned_; }

    // Closes an owned descriptor now and returns close(2)'s errno (0 on success); a borrowed one
    // is only forgotten. NFS and some FUSE file systems report write errors only here.
    int close() noexcept;

  private:
    void reset() noexcept;

    int fd_ = -1;
    bool owned_ = false;
};

// A path that is unlinked on destruction unless release() was called: the temporary file of an
// atomic write. Move-only.
class PendingFile {
  public:
    // Nothing to remove.
    PendingFile() noexcept = default;
    // Removes `path` on destruction unless released.
    explicit PendingFile(std::string path) noexcept : path_(std::move(path)) {}
    // Unlinks the path if still pending; errors are ignored (nothing useful can be done).
    ~PendingFile();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    PendingFile(PendingFile&& other) noexcept : path_(std::move(other.path_)) {
        other.path_.clear();
    }
    PendingFile& operator=(PendingFile&& other) noexcept;
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;

    // The pending path (empty when released or default-constructed).
    const std::string& path() const noexcept { return path_; }
    // Keeps the file: it will not be removed.
    void release() noexcept { path_.clear(); }

  private:
    std::string path_;
};

}  // namespace pgsluice::io
