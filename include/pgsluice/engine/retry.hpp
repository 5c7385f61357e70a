#pragma once

// Unattended runs: what failed for a transient reason (a lost connection, a server restarting,
// a stalled link) is tried again on new connections, inside the run's one snapshot, instead of
// throwing away everything copied so far.

#include <chrono>
#include <exception>
#include <optional>
#include <string>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// How often and how patiently a run retries.
struct RetryPolicy {
    // --retries: attempts after the first, per unit or step. The waits between attempts are 1,
    // 2, 4, 8, 16 s (then 16 s): with the default 5, a server that stays down ends the run
    // 31 s (plus the connection attempts) after the first failure.
    int retries = 5;
    std::chrono::milliseconds first_wait{1000};
    std::chrono::milliseconds max_wait{16000};

    // The wait before attempt `attempt` (2, 3, ...).
    std::chrono::milliseconds waitBefore(int attempt) const;
};

// A failure that a new attempt on new connections may not meet again. Thrown by code that
// knows it (a reconnect that failed, a stalled connection), and what transientCause() finds.
class TransientError : public Error {
  public:
    explicit TransientError(std::string message) : Error(std::move(message)) {}
};

// What an attempt that writes in one transaction knows of it, so that the next attempt can
// end what is left of it and tell whether its COMMIT went through, instead of doing the work
// twice or waiting behind its locks.
class CommitTracker {
  public:
    // Starts a transaction on `conn`, runs `first` in it (SQL, may be empty), and records the
    // transaction's id and the session (pid and start time) it runs in.
    void begin(pg::Connection& conn, const std::string& first = "");
    // Commits the transaction begun last.
    void commit(pg::Connection& conn);
    // Asked on a new connection before an attempt redoes the work. The last attempt's session
    // may still live on the server (it has not noticed that its client is gone, and holds its
    // locks): it is terminated and waited for. Then: true when the last attempt's COMMIT went
    // through (txid_status); false, and the tracker forgets it, otherwise.
    bool committedBefore(pg::Connection& conn);

  private:
    std::string xid_;
    std::string pid_;
    std::string backend_start_;
    bool commit_sent_ = false;
};

// Why `error` may pass on a new attempt ("the connection was lost", "57P01 ..."), or nothing
// when it may not (bad SQL, a damaged archive, bad usage, the run being stopped).
std::optional<std::string> transientCause(const std::exception_ptr& error);

// Runs attempt(n) for n = 1, 2, ... until it returns. When it throws a transient failure, the
// run is not stopping and attempts remain: says so (a warning naming `what`, the cause and the
// attempt, counted in the summary and the report), calls before_retry(), waits (woken early by
// an abort) and tries again. Otherwise rethrows the failure.
template <class Attempt, class BeforeRetry>
void withRetries(const RetryPolicy& policy, AbortSignal& abort, Progress& progress,
                 const std::string& what, Attempt&& attempt, BeforeRetry&& before_retry) {
    for (int n = 1;; ++n) {
        try {
            attempt(n);
            return;
        } catch (...) {
            std::exception_ptr error = std::current_exception();
            std::optional<std::string> cause = transientCause(error);
            if (!cause || abort.aborted() || n > policy.retries) {
                throw;
            }
            progress.retrying(what, *cause, n + 1, policy.retries + 1);
            before_retry();
            if (!abort.sleepFor(policy.waitBefore(n + 1))) {
                abort.check();
            }
        }
    }
}

}  // namespace pgsluice::engine
