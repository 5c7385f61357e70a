#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgsluice/pg/client_tools.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/toc.hpp"

namespace pgsluice::pg {

// The outcome of a child process.
struct ProcessResult {
    int exit_code = 0;
    std::string out;
    std::string err;
};

// Runs `argv` with `env` added to this process's environment and waits for it, capturing
// stdout and stderr. Signals blocked in this process are unblocked in the child.
// With `stop`, asked every 200 ms: once it says true, the child is sent SIGTERM (SIGKILL 2 s
// later), so that a run being stopped never waits for a child blocked on a dead link.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         const std::function<bool()>& stop = {});

// Options shared by the pg_restore steps.
struct RestoreFlags {
    bool no_owner = false;
    bool no_privileges = false;
    int jobs = 1;
};

// A pg_dump run, made from the source session on the thread that uses that session: the dump
// itself may then run on another thread.
struct DumpCommand {
    std::vector<std::string> argv;
    std::vector<std::pair<std::string, std::string>> env;
};

// pg_dump and pg_restore, the real dependency for schema DDL.
class SchemaTool {
  public:
    // Runs the pg_dump and pg_restore `tools` name (see findClientTools).
    explicit SchemaTool(const ClientTools& tools);

    // Children are stopped as soon as `stop` says true (the run is being stopped).
    void stopWhen(std::function<bool()> stop) { stop_ = std::move(stop); }

    // The pg_dump of pre-data and post-data of `source` in custom format to `path`, inside
    // `snapshot`. `extra_args` carries selection options (-t, -n...).
    DumpCommand dumpCommand(const Connection& source, const std::string& snapshot,
                            const std::string& path,
                            const std::vector<std::string>& extra_args) const;
    // Runs it (thread-safe: it touches no session).
    void dump(const DumpCommand& command) const;

    // The table of contents of a custom-format archive.
    std::vector<TocEntry> list(const std::string& path) const;

    // Restores one section ("pre-data" or "post-data") into the target, optionally limited to
    // the entries of `list_file`; post-data on options.jobs connections. Each statement commits
    // on its own, as pg_restore does without --single-transaction.
    void restore(const Connection& target, const std::string& path, const std::string& section,
                 const RestoreFlags& options, const std::string& list_file) const;

    // The DROP ... IF EXISTS statements `pg_restore --clean --if-exists` would run for this
    // archive, in its order, as one SQL script.
    // With `list_file`, only for the entries that list keeps.
    std::string cleanScript(const std::string& path, const RestoreFlags& options,
                            const std::string& list_file = "") const;

  private:
    void check(const ProcessResult& result, const std::string& what) const;

    std::string pg_dump_;
    std::string pg_restore_;
    std::function<bool()> stop_;
};

}  // namespace pgsluice::pg
