#include "pgsluice/io/io_mode.hpp"

#include <liburing.h>

#include <cerrno>
#include <system_error>

#include "pgsluice/error.hpp"

namespace pgsluice::io {

namespace {

std::optional<std::string> probeUring() {
    io_uring ring{};
    const int rc = io_uring_queue_init(4, &ring, 0);
    if (rc < 0) {
        std::string reason = "io_uring_setup failed: " + std::system_category().message(-rc);
        if (rc == -ENOSYS || rc == -EPERM) {
            // The usual cause, worth naming so nobody goes looking for a kernel bug.
            reason += " (a seccomp profile or kernel.io_uring_disabled forbids it)";
        }
        return reason;
    }
    std::optional<std::string> reason;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (probe == nullptr) {
        // IORING_REGISTER_PROBE arrived in 5.6 together with IORING_OP_READ/WRITE, so a kernel
        // without it lacks the opcodes too.
        reason = "the kernel's io_uring is too old (no opcode probe, Linux < 5.6)";
    } else {
        for (const auto& [opcode, name] :
             {std::pair{IORING_OP_READ, "IORING_OP_READ"},
              std::pair{IORING_OP_WRITE, "IORING_OP_WRITE"},
              std::pair{IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL"}}) {
            if (!io_uring_opcode_supported(probe, opcode)) {
                reason = std::string{"the kernel's io_uring lacks "} + name;
                break;
            }
        }
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring);
    return reason;
}

}  // namespace

IoMode parseIoMode(std::string_view text) {
    if (text == "auto") {
        return IoMode::automatic;
    }
    if (text == "uring") {
        return IoMode::uring;
    }
    if (text == "sync") {
        return IoMode::sync;
    }
    throw UsageError("--io: unknown mode '" + std::string{text} +
                     "'; use auto (io_uring when available), uring or sync");
}

std::string_view ioModeName(IoMode mode) noexcept {
    switch (mode) {
        case IoMode::automatic:
            return "auto";
        case IoMode::uring:
            return "uring";
        case IoMode::sync:
            return "sync";
    }
    return "auto";
}

std::string_view backendName(Backend backend) noexcept {
    return backend == Backend::uring ? "io_uring" : "sync";
}

const std::optional<std::string>& uringUnavailableReason() {
    // A function-local static: initialised once, thread-safely, on first use.
    static const std::optional<std::string> reason = probeUring();
    return reason;
}

Backend chooseBackend(IoMode mode) {
    switch (mode) {
        case IoMode::sync:
            return Backend::sync;
        case IoMode::automatic:
            return uringUnavailableReason() ? Backend::sync : Backend::uring;
        case IoMode::uring:
            if (const auto& reason = uringUnavailableReason()) {
                throw Error("--io uring: io_uring is not available here (" + *reason +
                            "); use --io sync (or --io auto)");
            }
            return Backend::uring;
    }
    return Backend::sync;
}

}  // namespace pgsluice::io
