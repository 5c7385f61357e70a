#include "pgsluice/engine/task_pool.hpp"

#include <fmt/format.h>

#include <chrono>

namespace pgsluice::engine {

TaskPool::TaskPool(int threads, Connect connect, AbortSignal& abort, Progress& progress,
                   RetryPolicy retry, Done done)
    : connect_(std::move(connect)),
      abort_(abort),
      progress_(progress),
      retry_(retry),
      done_(std::move(done)),
      waker_(abort.onAbort([this] {
          std::lock_guard lock(mutex_);
          ready_.notify_all();
      })) {
    workers_.emplace(threads, abort_, [this](int) { worker(); });
}

TaskPool::~TaskPool() {
    close();
    workers_.reset();  // joins
}

void TaskPool::push(SqlTask task) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
    }
    ready_.notify_one();
}

void TaskPool::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

void TaskPool::join() {
    close();
    workers_->join();
}

// The next statement, or nothing once the pool is closed and drained (or the run aborted). A
// closed pool is only drained when no worker is still running a statement whose `done` could
// queue another.
std::optional<SqlTask> TaskPool::take() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock,
                [&] { return abort_.aborted() || !queue_.empty() || (closed_ && busy_ == 0); });
    if (abort_.aborted() || queue_.empty()) {
        return std::nullopt;
    }
    SqlTask task = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    return task;
}

void TaskPool::worker() {
    std::optional<WatchedConnection> session;
    while (std::optional<SqlTask> task = take()) {
        auto finished = [&] {
            std::lock_guard lock(mutex_);
            --busy_;
            ready_.notify_all();
        };
        try {
            auto start = std::chrono::steady_clock::now();
            run(*task, session);
            if (done_) {
                done_(*task, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                                 .count());
            }
        } catch (...) {
            finished();
            throw;
        }
        finished();
    }
}

// One statement in a transaction of its own, again on a new session after a transient failure.
void TaskPool::run(const SqlTask& task, std::optional<WatchedConnection>& session) {
    CommitTracker commit;
    try {
        withRetries(
            retry_, abort_, progress_, task.label,
            [&](int) {
                if (!session) {
                    session.emplace(connect_(), abort_);
                }
                if (commit.committedBefore(session->conn)) {
                    return;
                }
                commit.begin(session->conn);
                session->conn.exec(task.sql);
                commit.commit(session->conn);
            },
            [&] { session.reset(); });
    } catch (const Error&) {
        rethrowInContext(abort_, task.label);
    }
}

}  // namespace pgsluice::engine
