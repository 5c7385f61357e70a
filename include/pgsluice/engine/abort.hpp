#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// Shared stop switch of a run: the first failure (or Ctrl-C) is kept, every registered
// connection gets its running query cancelled, and workers stop at their next check.
class AbortSignal {
  public:
    // True once the run must stop.
    bool aborted() const noexcept { return aborted_.load(std::memory_order_relaxed); }

    // Records the first failure and cancels every registered connection's query.
    void fail(std::exception_ptr error);
    // Runs `body`; whatever it throws is recorded with fail() (a foreign exception as an Error
    // with its message) instead of propagating.
    void capture(const std::function<void()>& body) noexcept;
    // Rethrows a worker's failure `error` with `context` in front ("loading table t: ..."), or
    // Cancelled when the run was already stopping (the failure is then a consequence).
    [[noreturn]] void rethrowWith(const Error& error, const std::string& context) const;
    // Stops the run because the user asked (a signal).
    void interrupt(int signal_number);
    // Throws Cancelled when the run must stop.
    void check() const;

    // Rethrows the first failure, if any.
    void rethrow() const;
    // True when the stop came from a signal.
    bool interrupted() const noexcept { return signal_.load() != 0; }

    // Registers a connection to cancel on abort; unregister before the connection dies.
    void watch(pg::Connection* conn);
    void unwatch(pg::Connection* conn);

  private:
    void cancelAll();

    std::atomic<bool> aborted_{false};
    std::atomic<int> signal_{0};
    mutable std::mutex mutex_;
    std::exception_ptr error_;
    std::vector<pg::Connection*> watched_;
};

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
