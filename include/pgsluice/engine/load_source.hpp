#pragma once

// What the target side of a load (engine::TargetLoad) asks of the source it loads from: a
// LoadSource (a live snapshot for copy, an archive for restore) that never calls back into the
// target side, and its UnitFeed that hands out each unit's rows as a COPY stream.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

// Writes large objects' bytes into the objects pre-data created, in one target transaction
// opened with the first chunk and committed by commit(). Not thread-safe: one caller at a time.
class LargeObjectSink {
  public:
    LargeObjectSink(std::function<pg::Connection()> connect,
                    std::function<bool(uint32_t oid)> wanted, AbortSignal& abort)
        : connect_(std::move(connect)), wanted_(std::move(wanted)), abort_(abort) {}

    // True when the run restores large object `oid` (pg_dump leaves them out under -t/-n).
    bool wanted(uint32_t oid) const { return wanted_(oid); }
    // Writes one chunk into its object; chunks of objects not wanted are skipped.
    void put(const archive::LargeObjectChunk& chunk);
    // Commits what was written (nothing when no chunk came).
    void commit();
    // Forgets what was written and not committed (it is rolled back): before a new attempt.
    void reset();
    std::size_t objects() const { return objects_.size(); }
    std::uint64_t bytes() const { return bytes_; }

  private:
    std::function<pg::Connection()> connect_;
    std::function<bool(uint32_t)> wanted_;
    AbortSignal& abort_;
    std::optional<WatchedConnection> target_;
    std::set<uint32_t> objects_;
    std::uint64_t bytes_ = 0;
};

// Thrown by a unit's stream (UnitFeed::Worker::open()) when the source voids the rows it handed
// out of the unit so far: a pipe of an archive whose dump retried the unit, at the abandoned
// unit-end frame. The caller throws away what it loaded of the unit (its target transaction)
// and opens the unit again: the stream goes on with the rows of the dump's next attempt.
class UnitAbandoned : public Error {
  public:
    explicit UnitAbandoned(std::string message) : Error(std::move(message)) {}
};

// Where a load's rows come from: the COPY stream of each unit of the plan.
class UnitFeed {
  public:
    // One worker's end of the feed, used on that worker's thread only.
    class Worker {
      public:
        virtual ~Worker() = default;
        // The COPY stream of plan unit `unit` (binary with its header and trailer, or text
        // lines); valid until the next open().
        virtual copy::ChunkSource& open(std::size_t unit) = 0;
        // The connection the stream comes from, for the stall watchdog; null for none.
        virtual pg::Connection* connection() { return nullptr; }
    };

    virtual ~UnitFeed() = default;
    // The connections the data phase needs for -j `jobs`.
    virtual int workers(int jobs) { return jobs; }
    // Worker `index`'s end, made on its thread (what it opens lives as long as the worker).
    virtual std::unique_ptr<Worker> worker(int index) = 0;
    // True when units come in the order a stream brings them (a pipe) instead of plan order;
    // each worker then asks nextFor() which unit is its next.
    virtual bool streamOrder() const { return false; }
    // False when a unit cannot be read a second time (a pipe): then a failed unit is not
    // retried (but a unit the stream abandons, UnitAbandoned, is loaded again from it).
    virtual bool canReread() const { return true; }
    // Stream order: the next unit for worker `index`, blocking until it is known; nothing once
    // no unit is left. Calling it again means the worker's previous unit is done.
    virtual std::optional<std::size_t> nextFor(int index) {
        (void)index;
        return std::nullopt;
    }
    // Called before the data phase's `workers` workers start, and after they all stopped
    // (never throws).
    virtual void begin(int workers) { (void)workers; }
    virtual void end() noexcept {}
};

// What --verify needs to know about the loaded target.
struct LoadedTarget {
    const std::string& conninfo;
    const std::string& database;  // empty: the conninfo's (not under --swap)
    const Prepared& prepared;
    const Plan& plan;
    int jobs;
    AbortSignal& abort;
    Progress& progress;
};

// What the target side needs from the source of a load. Each call is made once, in the order
// they are listed here, on the run's main thread (except what the feed's workers do).
class LoadSource {
  public:
    virtual ~LoadSource() = default;

    // Opens the source (exports the snapshot, reads the archive's head) and says who it is,
    // for the self-copy guard.
    virtual ServerIdentity open() = 0;
    // The PostgreSQL version the source's data and schema come from.
    virtual int serverVersion() = 0;
    // Copy: starts pg_dump of the schema with `args` (the selection as pg_dump options, when
    // they are known before the catalogue) so that it runs while readCatalog() does; a
    // writeSchema() with the same options then takes its archive instead of dumping again. An
    // archive carries its schema: nothing to start.
    virtual void startSchemaDump(const pg::SchemaTool& tool, const std::vector<std::string>& args) {
        (void)tool;
        (void)args;
    }
    // Reads the catalogue (copy: in the snapshot; an archive read it with its head).
    virtual void readCatalog() {}
    // One line naming the source, for the log.
    virtual std::string describe() = 0;
    // The catalogue of what the source holds.
    virtual const pg::Catalog& catalog() = 0;
    // The snapshot a strict run samples rows in, or null when the source has none to sample
    // before it is read (an archive: strict then judges columns by name and type).
    virtual const pg::Snapshot* scanSnapshot() { return nullptr; }
    // Tables the source has the definition of but not the rows (an archive dumped with
    // --exclude-table-data): they load schema only.
    virtual std::set<uint32_t> tablesWithoutData() { return {}; }
    // The tables in load order and their units, for this selection (and subset).
    virtual Plan plan(const Prepared& prepared) = 0;
    // Writes the pg_dump custom-format archive of pre- and post-data, limited to the selection,
    // to `path` (with `tool`'s pg_dump when it has to be dumped).
    virtual void writeSchema(const pg::SchemaTool& tool, const std::string& path,
                             const TableSelection& selection) = 0;
    // Where the units' rows come from; large objects met on the way go to `large_objects`.
    virtual UnitFeed& feed(const Plan& plan, LargeObjectSink& large_objects) = 0;
    // After the data phase: throws FormatError when the rows read differ from what the source
    // recorded of them (an archive's digests).
    virtual void checkData() {}
    // The values of the source's sequences.
    virtual std::vector<archive::SequenceValue> sequenceValues() = 0;
    // Hands the large objects' bytes (those not met during the data phase) to `out`.
    virtual void readLargeObjects(LargeObjectSink& out) = 0;
    // --verify: throws Error naming the tables that differ when the target does not hold what
    // the source does.
    virtual void verify(const LoadedTarget& target) = 0;
    // Adds the source's keys to the --report JSON.
    virtual void extendReport(nlohmann::ordered_json& report) { (void)report; }
};

// Reads the catalogue of `source` (after open()) with pg_dump of the schema, by `tool`,
// already running beside it when `selection` gives pg_dump its options before the catalogue
// does (pgDumpArgsBeforeCatalog).
void readCatalogBesideSchemaDump(LoadSource& source, const pg::SchemaTool& tool,
                                 const filter::SelectionOptions& selection);

}  // namespace pgsluice::engine
