#include "pgsluice/io/file_descriptor.hpp"

#include <unistd.h>

#include <cerrno>

namespace pgsluice::io {

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
        reset();
        fd_ = other.fd_;
        owned_ = other.owned_;
        other.fd_ = -1;
        other.owned_ = false;
    }
    return *this;
}

int FileDescriptor::close() noexcept {
    int error = 0;
    if (owned_ && fd_ >= 0) {
        // Linux frees the descriptor even when close fails (EINTR included), so never retry:
        // a retry could close a descriptor another thread has just been given.
        if (::close(fd_) != 0) {
            error = errno;
        }
    }
    fd_ = -1;
    owned_ = false;
    return error;
}

void FileDescriptor::reset() noexcept {
    (void)close();
}

PendingFile::~PendingFile() {
    if (!path_.empty()) {
        ::unlink(path_.c_str());
    }
}

PendingFile& PendingFile::operator=(PendingFile&& other) noexcept {
    if (this != &other) {
        if (!path_.empty()) {
            ::unlink(path_.c_str());
        }
        path_ = std::move(other.path_);
        other.path_.clear();
    }
    return *this;
}

}  // namespace pgsluice::io
