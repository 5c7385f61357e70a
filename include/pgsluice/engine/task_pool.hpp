#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/engine/runner.hpp"

namespace pgsluice::engine {

// A statement for the pool, with the label its errors and logs name.
struct SqlTask {
    std::string label;
    std::string sql;
    int tag = -1;  // the caller's, handed back to Done (e.g. which table an index belongs to)
};

// N target connections running queued statements (index builds, ANALYZE) in parallel with
// whatever else the run does. Statements may be queued while it runs, also from `done`;
// close() says no more will come, join() waits for the queue to drain. A failure aborts the
// whole run; an abort empties the queue.
class TaskPool {
  public:
    using Connect = std::function<pg::Connection()>;
    using Done = std::function<void(const SqlTask&, double seconds)>;

    // Starts `threads` workers; each opens its connection with `connect` when it gets its first
    // statement, so a pool that never gets work opens none. Each statement runs in a
    // transaction of its own; after a transient failure it runs again on a new connection
    // (unless its lost COMMIT went through), as `retry` says, with a warning through
    // `progress`.
    TaskPool(int threads, Connect connect, AbortSignal& abort, Progress& progress,
             RetryPolicy retry, Done done = {});
    ~TaskPool();
    TaskPool(const TaskPool&) = delete;
    TaskPool& operator=(const TaskPool&) = delete;

    // Queues a statement.
    void push(SqlTask task);
    // No more statements will be queued (but `done` may still add some).
    void close();
    // Closes, waits until every queued statement ran, and rethrows the run's first failure.
    void join();

  private:
    void worker();
    std::optional<SqlTask> take();

    void run(const SqlTask& task, std::optional<WatchedConnection>& session);

    Connect connect_;
    AbortSignal& abort_;
    Progress& progress_;
    RetryPolicy retry_;
    Done done_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<SqlTask> queue_;
    bool closed_ = false;
    int busy_ = 0;  // workers running a statement (whose `done` may queue more)
    AbortSignal::Waker waker_;
    std::optional<BackgroundWorkers> workers_;
};

}  // namespace pgsluice::engine
