#include "pgsluice/engine/run.hpp"

namespace pgsluice::engine {

std::exception_ptr Run::execute(const std::function<void()>& body) {
    {
        SignalWatcher signals(abort_);
        abort_.capture([&] {
            body();
            progress_.endPhase();
        });
    }
    progress_.endPhase();
    progress_.stop();
    return abort_.error();
}

void Run::rethrowAs(std::exception_ptr failure, const std::string& message) {
    try {
        std::rethrow_exception(failure);
    } catch (Error& e) {
        e.setMessage(message);
        throw;
    } catch (...) {
        throw Error(message);
    }
}

}  // namespace pgsluice::engine
