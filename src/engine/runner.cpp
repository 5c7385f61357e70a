#include "pgsluice/engine/runner.hpp"

namespace pgsluice::engine {

BackgroundWorkers::BackgroundWorkers(int workers, AbortSignal& abort, std::function<void(int)> body)
    : abort_(abort), body_(std::move(body)) {
    int n = std::max(1, workers);
    threads_.reserve(static_cast<size_t>(n));
    for (int w = 0; w < n; ++w) {
        threads_.emplace_back([this, w] { abort_.capture([&] { body_(w); }); });
    }
}

BackgroundWorkers::~BackgroundWorkers() {
    joinAll();
}

void BackgroundWorkers::joinAll() noexcept {
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void BackgroundWorkers::join() {
    joinAll();
    abort_.rethrow();
}

void runParallel(int workers, AbortSignal& abort, const std::function<void(int)>& body) {
    BackgroundWorkers running(workers, abort, body);
    running.join();
}

}  // namespace pgsluice::engine
