#pragma once

// Sequential output to a file or a pipe, through io_uring when it is available.
//
// The caller's bytes are copied into one of a fixed number of buffers; a full buffer is handed to
// the kernel and the call returns, so the next frame can be compressed while earlier buffers are
// written. append() blocks only while every buffer is in flight, which bounds memory at
// buffer_count * buffer_size whatever the archive size.
//
// Regular files get positional writes at explicit offsets, several in flight at once: their
// completion order does not matter. Pipes, terminals, sockets and O_APPEND files get one write
// in flight at a time, in order. Chaining them with IOSQE_IO_LINK at offset -1 was rejected:
// a short write (normal on a pipe) breaks the chain and the kernel cancels every later link, so
// recovery means resubmitting the remainder and each cancelled buffer in order, and any write
// outside a chain may be reordered by io-wq. One write in flight still overlaps the write with
// the caller's compression, which is the point, and the reader of the pipe sets the pace anyway.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pgsluice/io/file_descriptor.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::io {

// Buffering of a FileWriter.
struct WriterOptions {
    std::size_t buffer_size = std::size_t{1} << 20;
    // Buffers that may be in flight at once (io_uring; the sync backend uses one).
    unsigned buffer_count = 4;
};

// Writes a byte stream to a file or descriptor. Move-only; not thread-safe (one thread appends,
// the archive writer serialises its callers). Writing to a pipe whose reader has gone raises
// SIGPIPE in the sync backend unless the process ignores it: the CLI should ignore SIGPIPE so
// that EPIPE is reported as an error instead of killing the process.
class FileWriter {
  public:
    // Creates `path` atomically: bytes go to a new temporary file in the same directory
    // (PATH.partial-XXXXXX) that commit() renames to `path`; if the writer is destroyed without
    // commit() the temporary file is removed, so a failed run never leaves a complete-looking
    // file. An existing `path` that is not a regular file (a FIFO, /dev/null) is written in
    // place. Throws Error if the file cannot be created or `mode` cannot be honoured.
    static FileWriter create(const std::string& path, IoMode mode, WriterOptions options = {});

    // Writes to `fd` (owned or borrowed, e.g. FileDescriptor::borrow(1) for `-f -`) from its
    // current position; `name` is used in messages ("standard output").
    FileWriter(FileDescriptor fd, std::string name, IoMode mode, WriterOptions options = {});

    // Cancels and waits for the writes still in flight, closes an owned descriptor and removes an
    // uncommitted temporary file. Never throws.
    ~FileWriter();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    FileWriter(FileWriter&&) noexcept;
    FileWriter& operator=(FileWriter&&) noexcept;
    FileWriter(const FileWriter&) = delete;
    FileWriter& operator=(const FileWriter&) = delete;

    // Queues `bytes` after the bytes appended so far; they are copied, so the caller may reuse
    // its buffer at once. Blocks while all buffers are in flight. Throws Error (naming the file
    // and byte offset) if this or any earlier write failed, or after finish().
    void append(std::string_view bytes);

    // Waits until no write is in flight (the partly filled buffer stays). io_uring runs a write
    // that would block (a full pipe, a slow disk) on kernel workers that belong to the thread
    // that submitted it, and cancels it when that thread exits: every thread that appended
    // must settle() before it ends. Throws Error as append() does.
    void settle();

    // Writes what is buffered, waits for every write and checks it (short writes resubmitted,
    // EINTR/EAGAIN retried), fsyncs a regular file, and throws Error on any failure. Calling it
    // again after success does nothing.
    void finish();

    // finish(), then, for a file from create(), renames the temporary file to its final name and
    // fsyncs the directory so the rename survives a crash. For a descriptor, just finish().
    void commit();

    // Bytes accepted by append() so far (the offset the next appended byte will have).
    std::uint64_t bytesAppended() const noexcept;
    // The backend in use.
    Backend backend() const noexcept;
    // "io_uring" or "sync".
    std::string_view backendName() const noexcept;
    // The file's final path, or the name given for a descriptor.
    const std::string& name() const noexcept;
    // Where the bytes are being written right now: the temporary path before commit(), else
    // name().
    const std::string& currentPath() const noexcept;

  private:
    class Impl;
    explicit FileWriter(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pgsluice::io
