#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::pg {

// The outcome of a child process.
struct ProcessResult {
    int exit_code = 0;
    std::string out;
    std::string err;
};

// Runs `argv` with `env` added to this process's environment and waits for it, capturing
// stdout and stderr. Signals blocked in this process are unblocked in the child.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env);

// One entry of `pg_restore --list --verbose`:
//   `dumpId; tableoid oid DESC NAMESPACE TAG OWNER`, then `;\tdepends on: 12 34` when it has
// dependencies. The columns are separated by single spaces that the names themselves may hold,
// so SCHEMA and TAG are only exact when the namespace and the owner have no space in them.
struct TocEntry {
    int dump_id = 0;
    uint32_t catalog_oid = 0;  // 1259 pg_class, 2606 pg_constraint...
    uint32_t oid = 0;
    std::string desc;    // INDEX, CONSTRAINT, FK CONSTRAINT, SEQUENCE OWNED BY, TABLE ATTACH...
    std::string schema;  // the namespace column, empty for "-"
    std::string tag;     // the name column: "orders", "orders orders_pkey", "f(integer, text)"
    std::vector<int> dependencies;  // dump ids of the entries this one depends on
    std::string line;               // the entry line as listed, for -L lists
};

// Parses the output of `pg_restore --list --verbose` (or plain --list: no dependencies). Skips
// comment lines other than "depends on"; throws FormatError naming the line for anything else
// that is not an entry.
std::vector<TocEntry> parseTocList(std::string_view text);

// Options shared by the pg_restore steps.
struct RestoreOptions {
    bool no_owner = false;
    bool no_privileges = false;
    int jobs = 1;
};

// pg_dump and pg_restore, the real dependency for schema DDL.
class SchemaTool {
  public:
    // Finds pg_dump and pg_restore at least as new as the source server (PGSLUICE_PG_BINDIR,
    // /usr/lib/postgresql/N/bin, then PATH).
    explicit SchemaTool(int source_server_version);

    // Dumps pre-data and post-data of the source in custom format to `path`, inside `snapshot`.
    // `extra_args` carries selection options (-t, -n...).
    void dump(const Connection& source, const std::string& snapshot, const std::string& path,
              const std::vector<std::string>& extra_args) const;

    // The table of contents of a custom-format archive.
    std::vector<TocEntry> list(const std::string& path) const;

    // Restores one section ("pre-data" or "post-data") into the target, optionally limited to
    // the entries of `list_file`. Pre-data runs in a single transaction.
    void restore(const Connection& target, const std::string& path, const std::string& section,
                 const RestoreOptions& options, const std::string& list_file) const;

    // The DROP ... IF EXISTS statements `pg_restore --clean --if-exists` would run for this
    // archive, in its order, as one SQL script.
    // With `list_file`, only for the entries that list keeps.
    std::string cleanScript(const std::string& path, const RestoreOptions& options,
                            const std::string& list_file = "") const;

  private:
    void check(const ProcessResult& result, const std::string& what) const;

    std::string pg_dump_;
    std::string pg_restore_;
};

}  // namespace pgsluice::pg
