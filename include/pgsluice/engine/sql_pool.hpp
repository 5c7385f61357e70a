#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/engine/abort.hpp"

namespace pgsluice::engine {

// A statement for the pool, with the label its errors and logs name.
struct SqlTask {
    std::string label;
    std::string sql;
    int tag = -1;  // the caller's, handed back to Done (e.g. which table an index belongs to)
};

// N target connections running queued statements (index builds, ANALYZE) in parallel with
// whatever else the run does. Statements may be queued while it runs; close() says no more will
// come, join() waits for the queue to drain. A failure aborts the whole run.
class SqlPool {
  public:
    using Connect = std::function<pg::Connection()>;
    using Done = std::function<void(const SqlTask&, double seconds)>;

    SqlPool(int threads, Connect connect, AbortSignal& abort, Done done);
    ~SqlPool();
    SqlPool(const SqlPool&) = delete;
    SqlPool& operator=(const SqlPool&) = delete;

    // Queues a statement.
    void push(SqlTask task);
    // No more statements will be queued.
    void close();
    // Waits until every queued statement ran (or the run aborted).
    void join();

  private:
    void worker();

    Connect connect_;
    AbortSignal& abort_;
    Done done_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<SqlTask> queue_;
    bool closed_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace pgsluice::engine
