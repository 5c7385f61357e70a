#pragma once

#include <exception>
#include <functional>
#include <string>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/progress.hpp"

namespace pgsluice::engine {

// What every command's run shares: its name, the abort switch that the first failure, Ctrl-C or
// SIGTERM trips, and the progress it shows and reports.
class Run {
  public:
    Run(std::string command, ProgressMode mode, bool verbose, bool quiet)
        : command_(std::move(command)), progress_(mode, verbose, quiet) {}
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    // "copy", "dump", "restore"...
    const std::string& command() const { return command_; }
    AbortSignal& abort() { return abort_; }
    Progress& progress() { return progress_; }

    // Runs `body` with SIGINT and SIGTERM turned into an abort of the run, then ends the last
    // phase and the live display. Returns the run's first failure (null when it succeeded),
    // once every thread the run started has stopped.
    std::exception_ptr execute(const std::function<void()>& body);

    // Throws `failure` again with `message` instead of its own message, its type and exit
    // status kept (a non-pgsluice exception becomes an Error).
    [[noreturn]] static void rethrowAs(std::exception_ptr failure, const std::string& message);

  private:
    std::string command_;
    AbortSignal abort_;
    Progress progress_;
};

}  // namespace pgsluice::engine
