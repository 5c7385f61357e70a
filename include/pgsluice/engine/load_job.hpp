#pragma once

// The target side of copy and restore: guards, --swap, schema, parallel data load with each
// table's indexes built as soon as its rows are in, sequences, large objects, constraints,
// ANALYZE, after-statements, the report. A subclass supplies the rows and what it knows of the
// source (a live snapshot for copy, an archive for restore).

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/manifest.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/sql_pool.hpp"
#include "pgsluice/engine/target.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/schema_tool.hpp"

namespace pgsluice::engine {

// What every command that writes a database was asked.
struct LoadOptions {
    std::string target;  // libpq conninfo or URI (may be empty: PG* variables)
    int jobs = 2;
    int index_jobs = 2;
    bool clean = false;
    bool no_owner = false;
    bool no_privileges = false;
    bool skip_analyze = false;
    ProgressMode progress = ProgressMode::automatic;
    std::string report_file;
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
    bool verbose = false;
    bool quiet = false;
};

// Streams one unit's COPY data into a target session: call it with each piece of the COPY
// stream (header, rows, trailer, cut anywhere).
using CopySink = std::function<void(std::string_view)>;

// One load of a target database. run() drives the phases; the virtual steps are the source's.
class LoadRun {
  public:
    LoadRun(const LoadOptions& options, std::string command);
    virtual ~LoadRun();
    LoadRun(const LoadRun&) = delete;
    LoadRun& operator=(const LoadRun&) = delete;

    // Runs every phase; throws the first failure (with its exit code) and the state the target
    // is left in.
    void run();

  protected:
    // Opens the source (snapshot or archive) and returns who it is, for the self-copy guard.
    virtual ServerIdentity openSource() = 0;
    // The source's catalogue (tables, indexes, sequences...).
    virtual pg::Catalog readCatalog() = 0;
    // One line naming the source, for the log.
    virtual std::string describeSource() = 0;
    // Tables the source holds no rows for (restore: schema-only in the archive): added to the
    // selection's schema_only before the plan is made.
    virtual std::set<uint32_t> tablesWithoutData() { return {}; }
    // The tables in load order and their units.
    virtual Plan planLoad() = 0;
    // Writes the pg_dump custom-format archive of pre-data and post-data to `path`,
    // limited to the selection.
    virtual void writeSchema(const std::string& path) = 0;
    // Loads every unit of plan_ using loadUnit(), e.g. with runWorkers().
    virtual void moveData() = 0;
    // The values of the source's sequences.
    virtual std::vector<SequenceValue> sequenceValues() = 0;
    // Loads the large objects that pre-data created (calls putLargeObjectChunk()).
    virtual void moveLargeObjects(pg::Connection& target) = 0;
    // --verify: throws Error when the target does not match the source.
    virtual void verifyLoad() = 0;
    // What the source can add to a failure's message once every worker stopped (restore: which
    // tables were loaded completely); empty for nothing.
    virtual std::string failureDetails() { return ""; }
    // Adds the source's keys to the --report JSON.
    virtual void extendReport(nlohmann::ordered_json& report) { (void)report; }

    // For the data phase. Runs `n` workers, each with its own target session; the first
    // failure stops them all (abort_).
    void runWorkers(int n, const std::function<void(int worker, pg::Connection& target)>& work);
    // Loads one unit into `target`: `produce(sink)` hands the unit's COPY stream to the sink;
    // rows of a ruled table are rewritten on the way. Truncates and freezes a table loaded in
    // one unit, counts progress, and queues the table's indexes once its last unit is in.
    void loadUnit(pg::Connection& target, const WorkUnit& unit,
                  const std::function<void(const CopySink&)>& produce);
    // Writes one large-object chunk into the object pre-data created.
    static void putLargeObjectChunk(pg::Connection& target, const LargeObjectChunk& chunk);
    // A target session on the database the run loads (the new one under --swap).
    pg::Connection openTarget();
    // True when the schema archive has an entry `desc` for `oid` that this run restores.
    bool wantsEntry(std::string_view desc, uint32_t oid) const;

    const LoadOptions& options_;
    std::string command_;  // "copy" or "restore", for messages
    AbortSignal abort_;
    Progress progress_;
    pg::Catalog catalog_;
    Prepared prepared_;
    Plan plan_;
    std::vector<pg::TocEntry> toc_;
    std::set<int> leave_out_;      // TOC entries the selection leaves out
    std::string target_database_;  // --swap: the new database loaded instead of the target's

  private:
    void loadTarget(const ServerIdentity& source_id, bool swapping);
    void loadData();
    void tableLoaded(size_t table);
    void analyzeLater(size_t table);
    void setSequences(pg::Connection& target);
    void writeReport(const std::string& status, const std::string& error);

    std::unique_ptr<SqlPool> index_pool_;
    std::mutex indexes_mutex_;
    std::vector<int> indexes_left_;  // per plan table: index builds still running
    TargetState state_ = TargetState::untouched;
};

}  // namespace pgsluice::engine
