#pragma once

// Input from a file or a pipe: sequential reads with read-ahead through io_uring when it is
// available, and positional reads for seekable files.
//
// Sequential mode keeps a few buffers in flight: a regular file gets positional reads at
// increasing offsets, several at once; a pipe gets one read at a time (offset -1), issued as soon
// as the previous one completes, so the kernel fills the next buffer while the caller
// decompresses the current one. Nothing is read before the first read() call, so a reader
// opened only for readAt() costs no I/O.
//
// readAt() is plain pread(2), whatever the backend: it is called from several restore threads at
// once, a ring has a single issuer, and each call is one multi-MiB read its thread waits for, so
// a ring would add a lock (or a ring per thread) and gain nothing.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pgsluice/io/file_descriptor.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::io {

// Read-ahead of a FileReader.
struct ReaderOptions {
    std::size_t buffer_size = std::size_t{1} << 20;
    // Buffers that may be in flight at once (io_uring; the sync backend uses one).
    unsigned buffer_count = 4;
};

// Reads a file or descriptor. Move-only. read() is for one thread; readAt() may be called from
// any number of threads at once (also while another thread uses read()).
class FileReader {
  public:
    // Opens `path` read-only; throws Error naming it if it cannot be opened or `mode` cannot be
    // honoured.
    static FileReader open(const std::string& path, IoMode mode, ReaderOptions options = {});

    // Reads `fd` (owned or borrowed, e.g. FileDescriptor::borrow(0) for `-f -`) from its current
    // position; `name` is used in messages ("standard input").
    FileReader(FileDescriptor fd, std::string name, IoMode mode, ReaderOptions options = {});

    // Cancels and waits for the reads still in flight, closes an owned descriptor. Never throws.
    ~FileReader();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    FileReader(FileReader&&) noexcept;
    FileReader& operator=(FileReader&&) noexcept;
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;

    // Copies the next bytes of the stream into out[0, size); returns how many, fewer than `size`
    // only at the end of the input (0 once it is reached). Throws Error naming the file and byte
    // offset on a read error; after that the reader is unusable.
    std::size_t read(char* out, std::size_t size);

    // Copies the bytes at `offset` into out[0, size) with pread(2); returns how many, fewer only
    // where the file ends. Thread-safe. Throws Error if the input is not a regular file or the
    // read fails.
    std::size_t readAt(std::uint64_t offset, char* out, std::size_t size) const;

    // True for a regular file: readAt() works and size() is known.
    bool seekable() const noexcept;
    // The file's current size for a regular file, nothing for a pipe.
    std::optional<std::uint64_t> size() const;
    // Bytes handed out by read() so far (the stream offset of the next byte).
    std::uint64_t position() const noexcept;
    // The backend sequential reads use.
    Backend backend() const noexcept;
    // "io_uring" or "sync".
    std::string_view backendName() const noexcept;
    // The path, or the name given for a descriptor.
    const std::string& name() const noexcept;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pgsluice::io
