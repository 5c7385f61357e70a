#pragma once

// The target side of copy and restore, written once: guards, --swap, schema, the data phase
// (engine::DataPhase), sequences, large objects, constraints, ANALYZE, --verify,
// after-statements and the report. What it loads comes from a LoadSource (load_source.hpp).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/engine/data_phase.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/load_source.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/run.hpp"
#include "pgsluice/engine/task_pool.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/toc.hpp"

namespace pgsluice::engine {

class Swap;

// What every command that writes a database was asked.
struct LoadOptions {
    std::string target;  // libpq conninfo or URI (may be empty: PG* variables)
    int jobs = 2;
    int index_jobs = 2;
    bool clean = false;
    bool create = false;  // create the target database when it does not exist
    bool no_owner = false;
    bool no_privileges = false;
    bool skip_analyze = false;
    ProgressMode progress = ProgressMode::automatic;
    std::string report_file;
    std::string pg_bin;  // --pg-bin: where pg_dump and pg_restore are
    filter::SelectionOptions selection;
    bool drop_dangling_foreign_keys = false;
    std::vector<std::string> protect;    // --protect patterns (empty: PGSLUICE_PROTECT or *prod*)
    bool yes = false;                    // no confirmation question
    bool swap = false;                   // load into a new database, then rename it into place
    bool keep_old = false;               // --swap: keep the replaced database
    bool terminate_connections = false;  // --swap: end other sessions on the live database
    int swap_wait_seconds = 30;          // --swap: how long to wait for them otherwise
    bool verify = false;                 // prove the result before finishing
    std::string rules_file;              // --rules: sanitisation rules (YAML)
    bool strict = false;  // --strict: refuse personal data no rule covers (engine/coverage.hpp)
    int retries = 5;      // --retries: attempts after a transient failure
    int stall_timeout_seconds = 60;   // --stall-timeout: no byte for this long = dead
    std::vector<std::string> subset;  // --subset TABLE:CONDITION
    bool verbose = false;
    bool quiet = false;
};

// Throws UsageError unless -j and --index-jobs are at least 1 (and --retries and
// --stall-timeout are not negative).
void requireJobs(const LoadOptions& options);

// How far a run got with the target, for the message a failure ends with.
enum class TargetState { untouched, schema_partial, schema_loaded, data_loaded, complete };

// One sentence saying what a failed run left on the target and what to do next.
std::string describeState(TargetState state);

// One load of a target database.
class TargetLoad {
  public:
    TargetLoad(const LoadOptions& options, Run& run);
    ~TargetLoad();
    TargetLoad(const TargetLoad&) = delete;
    TargetLoad& operator=(const TargetLoad&) = delete;

    // Runs every phase with rows from `source`; throws the first failure (its type and exit
    // code kept) with the state the target is left in and the tables loaded completely.
    void run(LoadSource& source);

  private:
    void loadAll(LoadSource& source, const ServerIdentity& source_id, Swap* swap);
    // Opens the main target session and checks the guards on it; for a database that does not
    // exist, refuses without --create, else keeps the maintenance session to create it with.
    void openMainTarget(const ServerIdentity& source_id);
    // --create: creates the missing target database with the source's locale, then opens it.
    void createTarget();
    // Warns when the target server is an older major version than the source.
    void warnOlderTarget(pg::Connection& target_server);
    // Runs body(session, attempt) on the main target session, again on a new session after a
    // transient failure.
    void step(const std::string& what,
              const std::function<void(pg::Connection&, int attempt)>& body);
    void loadSchema(LoadSource& source, bool swapping);
    void restorePreData(const pg::SchemaTool& tool, pg::Connection& target,
                        const pg::RestoreFlags& flags);
    void loadData(LoadSource& source);
    void finishLoad(LoadSource& source);
    pg::Connection openTarget() const;
    RetryPolicy retryPolicy() const;
    // pg_dump's and pg_restore's runner, stopped with the run.
    pg::SchemaTool schemaTool() const;
    bool wantsEntry(std::string_view desc, uint32_t oid) const;
    void setSequences(pg::Connection& target, const std::vector<archive::SequenceValue>& sequences);
    void analyze();
    void writeReport(LoadSource& source, const std::string& status, const std::string& error);

    const LoadOptions& options_;
    Run& run_;
    std::optional<WatchedConnection> target_;  // the main target session, during loadAll
    const pg::Catalog* catalog_ = nullptr;
    Prepared prepared_;
    Plan plan_;
    std::vector<bool> attached_;  // per plan table: constraints set while it loaded
    std::vector<pg::TocEntry> toc_;
    std::set<int> leave_out_;      // TOC entries the selection leaves out
    std::string schema_archive_;   // the pg_dump archive of pre- and post-data
    std::string work_dir_;         // where it and the restore lists are
    std::string target_database_;  // --swap: the new database loaded instead of the target's
    TargetState state_ = TargetState::untouched;
    std::optional<pg::ClientTools> tools_;
    std::optional<pg::Connection> create_server_;  // --create: the target database is missing
    std::string create_name_;
    UnitTally tally_;
};

}  // namespace pgsluice::engine
