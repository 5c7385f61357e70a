#include "pgsluice/io/ring.hpp"

#include <liburing.h>
#include <sched.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "pgsluice/error.hpp"

namespace pgsluice::io {

Ring::Ring(unsigned entries) : ring_(std::make_unique<io_uring>()) {
    const int rc = io_uring_queue_init(entries, ring_.get(), 0);
    if (rc < 0) {
        ring_.reset();
        throw Error("cannot set up io_uring: " + std::system_category().message(-rc) +
                    "; use --io sync");
    }
}

Ring::~Ring() {
    if (ring_) {
        io_uring_queue_exit(ring_.get());
    }
}

Ring::Ring(Ring&& other) noexcept = default;

Ring& Ring::operator=(Ring&& other) noexcept {
    if (this != &other) {
        if (ring_) {
            io_uring_queue_exit(ring_.get());
        }
        ring_ = std::move(other.ring_);
    }
    return *this;
}

io_uring_sqe* Ring::sqe() {
    io_uring_sqe* entry = io_uring_get_sqe(ring_.get());
    if (entry == nullptr) {
        submit();
        entry = io_uring_get_sqe(ring_.get());
        if (entry == nullptr) {
            throw Error("io_uring: no free submission slot after submitting");
        }
    }
    return entry;
}

void Ring::submit() {
    // EAGAIN/EBUSY mean the kernel is short of memory or the completion queue is full for a
    // moment; our callers never have more requests in flight than completion slots, so a few
    // retries are enough.
    for (int attempt = 0;; ++attempt) {
        const int rc = io_uring_submit(ring_.get());
        if (rc >= 0) {
            return;
        }
        if (rc == -EINTR || ((rc == -EAGAIN || rc == -EBUSY) && attempt < 1000)) {
            sched_yield();
            continue;
        }
        throw Error("io_uring_submit failed: " + std::system_category().message(-rc) +
                    "; use --io sync");
    }
}

Completion Ring::wait() {
    io_uring_cqe* cqe = nullptr;
    for (;;) {
        const int rc = io_uring_wait_cqe(ring_.get(), &cqe);
        if (rc == 0) {
            break;
        }
        if (rc != -EINTR) {
            throw Error("io_uring_wait_cqe failed: " + std::system_category().message(-rc) +
                        "; use --io sync");
        }
    }
    const Completion completion{cqe->user_data, cqe->res};
    io_uring_cqe_seen(ring_.get(), cqe);
    return completion;
}

void Ring::prepareCancel(std::uint64_t target, std::uint64_t tag) {
    io_uring_sqe* entry = sqe();
    io_uring_prep_cancel64(entry, target, 0);
    io_uring_sqe_set_data64(entry, tag);
}

}  // namespace pgsluice::io
