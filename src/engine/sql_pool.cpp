#include "pgsluice/engine/sql_pool.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

namespace pgsluice::engine {

SqlPool::SqlPool(int threads, Connect connect, AbortSignal& abort, Done done)
    : connect_(std::move(connect)), abort_(abort), done_(std::move(done)) {
    for (int i = 0; i < std::max(1, threads); ++i) {
        threads_.emplace_back([this] { worker(); });
    }
}

SqlPool::~SqlPool() {
    close();
    join();
}

void SqlPool::push(SqlTask task) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
    }
    ready_.notify_one();
}

void SqlPool::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

void SqlPool::join() {
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void SqlPool::worker() {
    try {
        // Connect lazily: a pool that never gets work opens no connection.
        std::optional<pg::Connection> conn;
        for (;;) {
            SqlTask task;
            {
                std::unique_lock lock(mutex_);
                // Woken by push/close; the timeout notices an abort raised elsewhere.
                while (!closed_ && queue_.empty() && !abort_.aborted()) {
                    ready_.wait_for(lock, std::chrono::milliseconds(200));
                }
                if (abort_.aborted() || queue_.empty()) {
                    return;
                }
                task = std::move(queue_.front());
                queue_.pop_front();
            }
            if (!conn) {
                conn.emplace(connect_());
            }
            Watch watch(abort_, *conn);
            auto start = std::chrono::steady_clock::now();
            try {
                conn->exec(task.sql);
            } catch (const Error& e) {
                if (abort_.aborted()) {
                    return;
                }
                throw Error(fmt::format("{}: {}", task.label, e.what()));
            }
            if (done_) {
                done_(task, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                                .count());
            }
        }
    } catch (...) {
        abort_.fail(std::current_exception());
        ready_.notify_all();
    }
}

}  // namespace pgsluice::engine
