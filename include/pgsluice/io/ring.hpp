#pragma once

// The one owner of an io_uring instance. liburing stays out of the other headers.

#include <cstdint>
#include <memory>
#include <vector>

struct io_uring;
struct io_uring_sqe;

namespace pgsluice::io {

// One completed request: the user_data it was submitted with and its result (bytes moved, or a
// negative errno).
struct Completion {
    std::uint64_t user_data = 0;
    int result = 0;
};

// Owns one io_uring (queue_init / queue_exit). Move-only and not thread-safe: one thread
// submits and reaps. Callers must reap every request they submitted before destroying the ring
// if the request points at memory they are about to free.
class Ring {
  public:
    // Sets up a ring with `entries` submission slots; throws Error with the errno text on
    // failure (callers in automatic mode catch it and fall back to plain syscalls).
    explicit Ring(unsigned entries);
    // Tears the ring down (the kernel cancels whatever is still queued).
    ~Ring();
    // Transfers ownership; the moved-from object may only be destroyed or assigned to.
    Ring(Ring&&) noexcept;
    Ring& operator=(Ring&&) noexcept;
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // A free submission slot (the caller fills every field with an io_uring_prep_* call);
    // submits the queued ones first if the queue is full.
    // Never null.
    io_uring_sqe* sqe();

    // Hands every prepared request to the kernel; retries EINTR and transient EAGAIN/EBUSY;
    // throws Error on any other failure.
    void submit();

    // Waits for the next completion, marks it seen and returns it; retries EINTR.
    Completion wait();

    // Queues a cancellation of the request whose user data is `target`; its own completion
    // carries `tag`. Throws Error when the submission queue stays full.
    void prepareCancel(std::uint64_t target, std::uint64_t tag);

  private:
    std::unique_ptr<io_uring> ring_;  // on the heap so that a move never copies the mmap pointers
};

// For destructors of ring users whose requests carry their buffer's index as user data:
// cancels every request whose buffer is `in_flight_state` (a pipe nobody serves would otherwise
// keep us waiting forever), waits for all `in_flight` completions and marks those buffers
// `idle_state`. If the ring fails meanwhile, the buffers are leaked: the kernel may still use
// them. Never throws.
template <class Buffer, class State>
void cancelAndDrain(Ring& ring, std::vector<Buffer>& buffers, unsigned& in_flight,
                    State in_flight_state, State idle_state, std::uint64_t cancel_tag) noexcept {
    if (in_flight == 0) {
        return;
    }
    try {
        for (std::size_t i = 0; i < buffers.size(); ++i) {
            if (buffers[i].state == in_flight_state) {
                ring.prepareCancel(i, cancel_tag);
            }
        }
        ring.submit();
        while (in_flight > 0) {
            const Completion completion = ring.wait();
            if (completion.user_data < buffers.size()) {
                buffers[completion.user_data].state = idle_state;
                --in_flight;
            }
        }
    } catch (...) {
        for (Buffer& buffer : buffers) {
            (void)buffer.data.release();
        }
    }
}

}  // namespace pgsluice::io
