#pragma once

// The one place that starts workers, as pg_dump's parallel.c is: every parallel step of a run
// (data units, index builds, ANALYZE, verify, the pipe restore's reader) runs through here. A
// worker's failure aborts the whole run (the other workers stop at their next check, their
// queries are cancelled); once every worker stopped, the run's first failure is rethrown.

#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "pgsluice/engine/abort.hpp"

namespace pgsluice::engine {

// Workers running in the background while the caller goes on; join() waits for them.
class BackgroundWorkers {
  public:
    // Starts body(worker) for worker 0..workers-1 (at least one), each on a thread of its own;
    // whatever a worker throws is recorded in `abort`.
    BackgroundWorkers(int workers, AbortSignal& abort, std::function<void(int worker)> body);
    // Joins what is still running (without rethrowing).
    ~BackgroundWorkers();
    BackgroundWorkers(const BackgroundWorkers&) = delete;
    BackgroundWorkers& operator=(const BackgroundWorkers&) = delete;

    // Waits for every worker, then rethrows the run's first failure, if any.
    void join();

  private:
    void joinAll() noexcept;

    AbortSignal& abort_;
    std::function<void(int)> body_;
    std::vector<std::thread> threads_;
};

// Runs body(worker) for worker 0..workers-1 on threads of their own and waits for all of them;
// rethrows the run's first failure.
void runParallel(int workers, AbortSignal& abort, const std::function<void(int worker)>& body);

// Runs body(state, item) for every item in [0, count) on min(workers, count) threads. Each
// worker first makes its own state with make_state(worker) on its thread (its connections,
// say, which then live as long as its loop), then takes the next item in order until none is
// left or the run aborts. Rethrows the run's first failure.
template <class MakeState, class Body>
void forEachParallel(int workers, std::size_t count, AbortSignal& abort, MakeState&& make_state,
                     Body&& body) {
    if (count == 0) {
        abort.rethrow();
        return;
    }
    int n = static_cast<int>(
        std::min<std::size_t>(static_cast<std::size_t>(std::max(1, workers)), count));
    std::atomic<std::size_t> next{0};
    runParallel(n, abort, [&](int worker) {
        auto state = make_state(worker);
        for (std::size_t item; !abort.aborted() && (item = next.fetch_add(1)) < count;) {
            body(state, item);
        }
    });
}

}  // namespace pgsluice::engine
