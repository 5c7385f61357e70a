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

void AbortSignal::fail(std::exception_ptr error) {
    {
        std::lock_guard lock(mutex_);
        if (!error_) {
            error_ = error;
        }
    }
    if (aborted_.exchange(true)) {
        return;  // the first failure already cancelled and woke everything
    }
    cancelAll();
    std::lock_guard lock(wakers_mutex_);
    for (auto& wake : wakers_) {
        wake();
    }
}

void AbortSignal::interrupt(int signal_number) {
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

std::exception_ptr AbortSignal::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void AbortSignal::watch(pg::Connection* conn) {
    std::lock_guard lock(mutex_);
    watched_.push_back(conn);
    if (aborted_.load()) {
        conn->cancel();
    }
}

void AbortSignal::unwatch(pg::Connection* conn) {
    std::lock_guard lock(mutex_);
    watched_.erase(std::remove(watched_.begin(), watched_.end(), conn), watched_.end());
}

void AbortSignal::cancelAll() {
    std::lock_guard lock(mutex_);
    for (pg::Connection* conn : watched_) {
        conn->cancel();
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
