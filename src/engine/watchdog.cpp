#include "pgsluice/engine/watchdog.hpp"

#include <fmt/format.h>

#include "pgsluice/engine/retry.hpp"

namespace pgsluice::engine {

StallWatchdog::StallWatchdog(std::chrono::seconds timeout) : timeout_(timeout) {
    if (timeout_.count() > 0) {
        thread_ = std::thread([this] { loop(); });
    }
}

StallWatchdog::~StallWatchdog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

StallWatchdog::Lease::Lease(StallWatchdog& dog, std::vector<pg::Connection*> connections)
    : dog_(dog) {
    std::lock_guard lock(dog_.mutex_);
    it_ = dog_.watched_.emplace(dog_.watched_.end());
    it_->connections_ = std::move(connections);
    it_->last_change_ = std::chrono::steady_clock::now();
}

StallWatchdog::Lease::~Lease() {
    std::lock_guard lock(dog_.mutex_);
    dog_.watched_.erase(it_);
}

void StallWatchdog::Lease::rethrowFailure() const {
    if (it_->stalled()) {
        throw TransientError(
            fmt::format("no byte moved for {} s (--stall-timeout)", dog_.timeout().count()));
    }
    throw;
}

// Once a second: a stream whose byte count has not changed for the timeout is interrupted.
// Sampling the counter keeps the clock out of the data path.
void StallWatchdog::loop() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) {
        auto now = std::chrono::steady_clock::now();
        for (Watched& w : watched_) {
            std::uint64_t bytes = w.bytes_.load(std::memory_order_relaxed);
            if (bytes != w.last_bytes_) {
                w.last_bytes_ = bytes;
                w.last_change_ = now;
            } else if (!w.stalled_ && now - w.last_change_ >= timeout_) {
                w.stalled_ = true;
                for (pg::Connection* conn : w.connections_) {
                    conn->interrupt();
                }
            }
        }
    }
}

}  // namespace pgsluice::engine
