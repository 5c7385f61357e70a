#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// Shared stop switch of a run: the first failure (or Ctrl-C) is kept, every registered
// connection is interrupted (its query cancelled, its socket shut down: nothing blocks on a
// dead link), every registered waiter is woken, and workers stop at their next check.
class AbortSignal {
  public:
    AbortSignal() = default;
    AbortSignal(const AbortSignal&) = delete;
    AbortSignal& operator=(const AbortSignal&) = delete;

    // True once the run must stop.
    bool aborted() const noexcept { return aborted_.load(std::memory_order_relaxed); }

    // Records the first failure, interrupts every registered connection and wakes every
    // registered waiter. Later failures are consequences and are dropped; a Cancelled that
    // got here first (a consequence that outran its cause) gives way to the first real error.
    void fail(std::exception_ptr error);
    // Runs `body`; whatever it throws is recorded with fail() (a foreign exception as an Error
    // with its message) instead of propagating.
    void capture(const std::function<void()>& body) noexcept;
    // Stops the run because the user asked (a signal).
    void interrupt(int signal_number);
    // Throws Cancelled when the run must stop.
    void check() const;
    // Waits `duration`, or less if the run aborts meanwhile; false when it did.
    bool sleepFor(std::chrono::milliseconds duration);

    // Rethrows the first failure, if any.
    void rethrow() const;
    // The first failure, or null.
    std::exception_ptr error() const;
    // True when the stop came from a signal.
    bool interrupted() const noexcept { return signal_.load() != 0; }

    // Registers a connection to cancel on abort; unregister before the connection dies.
    void watch(pg::Connection* conn);
    void unwatch(pg::Connection* conn);

    // A registration made by onAbort(); the callback is not called after it died.
    class Waker {
      public:
        Waker(Waker&&) noexcept;
        Waker& operator=(Waker&&) = delete;
        ~Waker();

      private:
        friend class AbortSignal;
        Waker(AbortSignal* abort, std::list<std::function<void()>>::iterator it)
            : abort_(abort), it_(it) {}
        AbortSignal* abort_;
        std::list<std::function<void()>>::iterator it_;
    };
    // Calls `wake` when the run aborts (at once when it already has), for as long as the
    // returned Waker lives: how a thread blocked on a condition variable learns of the abort
    // without polling. `wake` runs on the failing thread; it may lock the waiter's mutex (it
    // should, before notifying), so never create or destroy a Waker while holding that mutex.
    [[nodiscard]] Waker onAbort(std::function<void()> wake);

  private:
    void interruptAll();

    std::atomic<bool> aborted_{false};
    std::atomic<int> signal_{0};
    mutable std::mutex mutex_;
    std::exception_ptr error_;
    bool error_is_consequence_ = false;  // error_ is a Cancelled that a cause may replace
    std::vector<pg::Connection*> watched_;
    std::mutex wakers_mutex_;  // guards wakers_ and is held while they run
    std::list<std::function<void()>> wakers_;
};

// Inside a catch block: rethrows the exception in flight with `context` in front of its message
// ("copying table t: ..."), its type and fields kept; or Cancelled when the run was already
// stopping, because the failure is then a consequence of the first one.
[[noreturn]] void rethrowInContext(const AbortSignal& abort, const std::string& context);

// Keeps a connection registered with an AbortSignal for the scope's duration.
class Watch {
  public:
    Watch(AbortSignal& abort, pg::Connection& conn) : abort_(abort), conn_(conn) {
        abort_.watch(&conn_);
    }
    ~Watch() { abort_.unwatch(&conn_); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

  private:
    AbortSignal& abort_;
    pg::Connection& conn_;
};

// A connection that is cancelled when the run aborts, for as long as it lives.
struct WatchedConnection {
    WatchedConnection(pg::Connection c, AbortSignal& abort)
        : conn(std::move(c)), watch(abort, conn) {}
    pg::Connection conn;
    Watch watch;
};

// Interrupts a connection when the scope has not ended after `timeout`: bounds a statement that
// must run even when the network may be dead (cleaning up after a failed run).
class ConnectionDeadline {
  public:
    ConnectionDeadline(pg::Connection& conn, std::chrono::milliseconds timeout);
    ~ConnectionDeadline();
    ConnectionDeadline(const ConnectionDeadline&) = delete;
    ConnectionDeadline& operator=(const ConnectionDeadline&) = delete;

  private:
    std::mutex mutex_;
    std::condition_variable done_;
    bool ended_ = false;
    std::thread thread_;
};

// Turns SIGINT and SIGTERM into AbortSignal::interrupt while it lives. Construct it before any
// other thread starts: it blocks the signals for the whole process and waits for them on a
// thread of its own, so workers are never interrupted in the middle of a libpq call.
class SignalWatcher {
  public:
    explicit SignalWatcher(AbortSignal& abort);
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

  private:
    std::thread thread_;
};

}  // namespace pgsluice::engine
