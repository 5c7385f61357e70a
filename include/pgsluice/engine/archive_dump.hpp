#pragma once

// Writing a source database to an archive: the schema (pg_dump custom format), a contents
// manifest, the rows of every unit as compressed frames written in parallel by -j workers in
// one snapshot, the large objects, a results manifest (rows and digests, sequences), the footer
// index. A file appears under its name only once complete.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/archive/zstd_context.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/engine/run.hpp"
#include "pgsluice/engine/snapshot_source.hpp"
#include "pgsluice/engine/watchdog.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/io/io_mode.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/toc.hpp"

namespace pgsluice::engine {

// Everything `pgsluice dump` was asked to do.
struct DumpOptions {
    std::string source;  // libpq conninfo or URI (may be empty: PG* variables)
    std::string file;    // the archive, "-" for standard output
    int jobs = 2;
    int compression_level = archive::default_compression_level;
    io::IoMode io = io::IoMode::automatic;
    long long split_bytes = 1LL << 30;
    filter::SelectionOptions selection;
    std::vector<std::string> selection_args;  // the filter options as given, for the manifest
    bool drop_dangling_foreign_keys = false;
    std::string rules_file;  // --rules: the archive holds rewritten rows only
    bool strict = false;     // --strict: refuse personal data no rule covers (engine/coverage.hpp)
    std::vector<std::string> subset;  // --subset TABLE:CONDITION
    int retries = 5;                  // --retries
    int stall_timeout_seconds = 60;   // --stall-timeout
    ProgressMode progress = ProgressMode::automatic;
    std::string report_file;
    std::string pg_bin;  // --pg-bin: where pg_dump and pg_restore are
    bool verbose = false;
    bool quiet = false;
};

// "zstd" or "zstd:LEVEL" -> the zstd level; throws UsageError for anything else.
int parseCompression(const std::string& text);

// One dump of a source into an archive.
class ArchiveDump {
  public:
    ArchiveDump(const DumpOptions& options, Run& run) : options_(options), run_(run) {}

    // Runs every step; throws the first failure (its type and exit code kept), saying that no
    // archive was written (a file) or that the stream is incomplete (standard output).
    void run(SnapshotSource& source);

  private:
    struct Worker;

    void dump(SnapshotSource& source);
    void openArchive();
    pg::SchemaTool schemaTool() const;
    void writeSchema(SnapshotSource& source);
    archive::Contents contents(SnapshotSource& source) const;
    void writeData(SnapshotSource& source);
    // Dumps plan unit `unit` on `worker`; after a transient failure of its source session the
    // frames written so far are abandoned and the unit is dumped again from its start on a new
    // session in the same snapshot, as --retries says.
    void dumpUnit(Worker& worker, std::size_t unit, const RetryPolicy& policy,
                  StallWatchdog& watchdog);
    void writeLargeObjects(SnapshotSource& source);
    void writeResults(SnapshotSource& source, double seconds);
    void writeReport(const std::string& status, const std::string& error);

    const DumpOptions& options_;
    Run& run_;
    Prepared prepared_;
    Plan plan_;
    std::vector<pg::TocEntry> toc_;
    std::optional<pg::ClientTools> tools_;
    std::optional<archive::ArchiveWriter> writer_;
    archive::Contents contents_;
    std::vector<archive::UnitResult> results_;  // per plan unit (unit id = plan index)
    std::uint64_t large_object_bytes_ = 0;
};

}  // namespace pgsluice::engine
