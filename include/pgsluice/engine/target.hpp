#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/sanitize/rules.hpp"

namespace pgsluice::engine {

// How far a run got with the target, for the message a failure ends with.
enum class TargetState { untouched, schema_partial, schema_loaded, data_loaded, complete };

// One sentence saying what a failed run left on the target and what to do next.
std::string describeState(TargetState state);

// A private temporary directory, removed with everything in it when this object dies.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// A target connection with the session settings every loader uses; to `database` instead of the
// conninfo's when not empty (--swap loads into a new database).
pg::Connection openTargetSession(const std::string& conninfo, const std::string& database = "");

// Throws UsageError naming some of the objects when the target database is not empty.
void requireEmptyTarget(pg::Connection& target);

// Drops the objects of `archive` from the target as `pg_restore --clean --if-exists` would,
// in one transaction; with `list_file`, only the objects that pg_restore list keeps. Returns a
// warning for each drop that failed even when retried.
std::vector<std::string> cleanTarget(pg::Connection& target, const pg::SchemaTool& tool,
                                     const std::string& archive, const pg::RestoreOptions& options,
                                     const std::string& list_file = "");

// The dump ids of the archive's entries to leave out so that restoring it loads only
// `selection`: the relations in selection.skip, the SCHEMA entries of excluded_schemas and the
// entries in those schemas, and every entry that depends on one of them, transitively. The TABLE
// entry of a relation the selection keeps is never left out for a dependency: a partition
// whose parent is left out is restored as a plain table (its TABLE ATTACH is left out).
std::set<int> leftOutEntries(const std::vector<pg::TocEntry>& toc,
                             const SelectionResult& selection);

// Writes every entry of `toc` to `dir/name` as a pg_restore --use-list file, those in
// `leave_out` commented out; returns the file's path.
std::string writeRestoreList(const std::vector<pg::TocEntry>& toc, const std::set<int>& leave_out,
                             const std::string& dir, const std::string& name);

// Writes the pg_restore list of the archive with the indexes and constraints the run builds
// itself (IndexDef of the catalog), the constraints in `drop_constraints` and the entries in
// `leave_out` commented out; returns the list file's path.
std::string writePostDataList(const std::vector<pg::TocEntry>& toc, const pg::Catalog& catalog,
                              const std::set<uint32_t>& drop_constraints,
                              const std::set<int>& leave_out, const std::string& dir);

// The archive's entry `desc` (or "desc ..." in newer pg_dumps, e.g. BLOB METADATA) for `oid`,
// or null.
const pg::TocEntry* findTocEntry(const std::vector<pg::TocEntry>& toc, std::string_view desc,
                                 uint32_t oid);

// True when the archive's table of contents holds an entry `desc` for `oid`.
bool tocHas(const std::vector<pg::TocEntry>& toc, std::string_view desc, uint32_t oid);

// Turns the indexes built for PK/UNIQUE constraints into those constraints, and sets CLUSTER ON
// and REPLICA IDENTITY, in one transaction (each statement only touches the catalog).
void attachIndexes(pg::Connection& target, const Plan& plan);

// Runs the rules' `after` statements on the target in one transaction; a failure names the
// statement, its line in the rules file and the server's message.
void runAfterStatements(pg::Connection& target, const sanitize::Rules& rules);

// ANALYZE every table of the catalog but those in `skip`, on `jobs` target connections.
void analyzeTables(const std::string& target_conninfo, const std::string& database,
                   const pg::Catalog& catalog, const std::set<uint32_t>& skip, int jobs,
                   AbortSignal& abort);

}  // namespace pgsluice::engine
