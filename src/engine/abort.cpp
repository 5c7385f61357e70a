#include "pgsluice/engine/abort.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstring>

namespace pgsluice::engine {

namespace {

// Used to wake the watcher thread when the run is over.
constexpr int kStopSignal = SIGUSR2;

sigset_t watchedSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, kStopSignal);
    return set;
}

}  // namespace

void rethrowInContext(const AbortSignal& abort, const std::string& context) {
    try {
        throw;
    } catch (const Cancelled&) {
        throw;
    } catch (Error& e) {
        if (abort.aborted()) {
            throw Cancelled("stopped");
        }
        e.addContext(context);
        throw;
    }
}

void AbortSignal::capture(const std::function<void()>& body) noexcept {
    try {
        body();
    } catch (const Error&) {
        fail(std::current_exception());
    } catch (const std::exception& e) {
        fail(std::make_exception_ptr(Error(e.what())));
    } catch (...) {
        fail(std::make_exception_ptr(Error("unknown failure")));
    }
}

namespace {

// True for a Cancelled: an error that only says the run was already stopping.
bool isConsequence(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Cancelled&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace

void AbortSignal::fail(std::exception_ptr error) {
    {
        std::lock_guard lock(mutex_);
        // The first cause wins. A consequence (another worker noticing that something failed)
        // can reach here before the cause does; the cause then takes its place. A signal is a
        // cause, whatever follows it.
        if (!error_ || (error_is_consequence_ && !isConsequence(error))) {
            error_ = error;
            error_is_consequence_ = signal_.load() == 0 && isConsequence(error);
        }
    }
    if (aborted_.exchange(true)) {
        return;  // the first failure already stopped and woke everything
    }
    interruptAll();
    std::lock_guard lock(wakers_mutex_);
    for (auto& wake : wakers_) {
        wake();
    }
}

void AbortSignal::interrupt(int signal_number) {
    {
        std::lock_guard lock(mutex_);
        if (error_ && !error_is_consequence_) {
            return;  // a real failure already stopped the run: it stays the cause
        }
        error_ = nullptr;  // what failed after the signal is its consequence
    }
    signal_.store(signal_number);
    fail(std::make_exception_ptr(Cancelled(
        fmt::format("interrupted by {}",
                    signal_number == SIGINT ? "Ctrl-C (SIGINT)" : strsignal(signal_number)))));
}

void AbortSignal::check() const {
    if (aborted()) {
        throw Cancelled("stopped because another part of the run failed");
    }
}

void AbortSignal::rethrow() const {
    if (std::exception_ptr e = error()) {
        std::rethrow_exception(e);
    }
}

bool AbortSignal::sleepFor(std::chrono::milliseconds duration) {
    std::mutex mutex;
    std::condition_variable woken;
    Waker waker = onAbort([&] {
        std::lock_guard lock(mutex);
        woken.notify_all();
    });
    std::unique_lock lock(mutex);
    return !woken.wait_for(lock, duration, [&] { return aborted(); });
}

std::exception_ptr AbortSignal::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void AbortSignal::watch(pg::Connection* conn) {
    std::lock_guard lock(mutex_);
    watched_.push_back(conn);
    if (aborted_.load()) {
        conn->interrupt();
    }
}

void AbortSignal::unwatch(pg::Connection* conn) {
    std::lock_guard lock(mutex_);
    watched_.erase(std::remove(watched_.begin(), watched_.end(), conn), watched_.end());
}

// interrupt() never blocks (its cancel request runs on a thread nobody waits for), so holding
// the lock that keeps the connections alive costs nothing, whatever the network does.
void AbortSignal::interruptAll() {
    std::lock_guard lock(mutex_);
    for (pg::Connection* conn : watched_) {
        conn->interrupt();
    }
}

AbortSignal::Waker AbortSignal::onAbort(std::function<void()> wake) {
    std::lock_guard lock(wakers_mutex_);
    if (aborted()) {
        wake();
    }
    wakers_.push_front(std::move(wake));
    return Waker(this, wakers_.begin());
}

AbortSignal::Waker::Waker(Waker&& other) noexcept
    : abort_(std::exchange(other.abort_, nullptr)), it_(other.it_) {}

AbortSignal::Waker::~Waker() {
    if (abort_) {
        std::lock_guard lock(abort_->wakers_mutex_);
        abort_->wakers_.erase(it_);
    }
}

ConnectionDeadline::ConnectionDeadline(pg::Connection& conn, std::chrono::milliseconds timeout) {
    thread_ = std::thread([this, &conn, timeout] {
        std::unique_lock lock(mutex_);
        if (!done_.wait_for(lock, timeout, [&] { return ended_; })) {
            conn.interrupt();
        }
    });
}

ConnectionDeadline::~ConnectionDeadline() {
    {
        std::lock_guard lock(mutex_);
        ended_ = true;
    }
    done_.notify_all();
    thread_.join();
}

SignalWatcher::SignalWatcher(AbortSignal& abort) {
    sigset_t set = watchedSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::thread([&abort, set] {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0 || sig == kStopSignal) {
                return;
            }
            abort.interrupt(sig);
        }
    });
}

SignalWatcher::~SignalWatcher() {
    pthread_kill(thread_.native_handle(), kStopSignal);
    thread_.join();
    sigset_t set = watchedSignals();
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace pgsluice::engine
