#pragma once

// The stall watchdog: a data connection on which no byte has moved for --stall-timeout is taken
// for dead (a black-holed link that TCP has not noticed yet, a server stuck behind a lock) and
// interrupted, so the call blocked on it fails and the unit is retried.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

class StallWatchdog {
  public:
    // One watched stream: the connections it runs on and the bytes moved so far.
    class Watched {
      public:
        // Counts bytes that moved (cheap: one relaxed atomic add).
        void moved(std::size_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
        // True once the watchdog interrupted the connections for a stall.
        bool stalled() const { return stalled_.load(); }

      private:
        friend class StallWatchdog;
        std::vector<pg::Connection*> connections_;
        std::atomic<std::uint64_t> bytes_{0};
        std::uint64_t last_bytes_ = 0;
        std::chrono::steady_clock::time_point last_change_;
        std::atomic<bool> stalled_{false};
    };

    // Watches for as long as it lives (no thread at all when `timeout` is zero).
    explicit StallWatchdog(std::chrono::seconds timeout);
    ~StallWatchdog();
    StallWatchdog(const StallWatchdog&) = delete;
    StallWatchdog& operator=(const StallWatchdog&) = delete;

    // Keeps one stream watched for as long as it lives.
    class Lease {
      public:
        Lease(StallWatchdog& dog, std::vector<pg::Connection*> connections);
        ~Lease();
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Watched& operator*() { return *it_; }
        Watched* operator->() { return &*it_; }
        // Called in a catch block of the watched work: throws TransientError ("no byte moved
        // for 60 s (--stall-timeout)") when the watchdog interrupted the stream, so that it is
        // retried, and rethrows the failure being handled otherwise.
        [[noreturn]] void rethrowFailure() const;

      private:
        StallWatchdog& dog_;
        std::list<Watched>::iterator it_;
    };

    std::chrono::seconds timeout() const { return timeout_; }

  private:
    void loop();

    std::chrono::seconds timeout_;
    std::mutex mutex_;  // guards watched_ and keeps its connections alive while in use
    std::condition_variable wake_;
    std::list<Watched> watched_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace pgsluice::engine
