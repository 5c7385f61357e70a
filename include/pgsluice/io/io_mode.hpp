#pragma once

// Which kernel interface moves file bytes (`--io auto|uring|sync`).
//
// io_uring is tried first because it lets one thread keep several writes (or read-aheads) in
// flight while it compresses the next frame. It is often missing where pgsluice runs: seccomp
// profiles of container runtimes return ENOSYS or EPERM for io_uring_setup, and
// kernel.io_uring_disabled can forbid it. `auto` then falls back to plain read(2)/write(2).

#include <optional>
#include <string>
#include <string_view>

namespace pgsluice::io {

// What the user asked for with --io.
enum class IoMode { automatic, uring, sync };

// The mechanism a reader or writer actually uses.
enum class Backend { uring, sync };

// Parses "auto", "uring" or "sync"; throws UsageError naming the accepted values otherwise.
IoMode parseIoMode(std::string_view text);

// The spelling parseIoMode accepts for `mode`.
std::string_view ioModeName(IoMode mode) noexcept;

// "io_uring" or "sync", as shown in progress output and reports.
std::string_view backendName(Backend backend) noexcept;

// Why io_uring cannot be used by this process, or nothing when it can. The probe (set up a ring,
// check the read, write and cancel opcodes, tear it down) runs once; later calls return the
// cached answer, from any thread.
const std::optional<std::string>& uringUnavailableReason();

// The backend to use for `mode`: automatic takes io_uring when the probe succeeded and sync
// otherwise; uring throws Error (telling the user to pass --io sync) when the probe failed.
Backend chooseBackend(IoMode mode);

}  // namespace pgsluice::io
