#pragma once

// A live source database read inside one exported snapshot: what copy loads from and dump
// writes out. Every session it opens is read-only and imports the one snapshot.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/target_load.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

// The units of a plan read from the snapshot: each worker has a reader session of its own, and
// each unit is one COPY ... TO STDOUT on it.
class SnapshotFeed : public UnitFeed {
  public:
    SnapshotFeed(const pg::Snapshot& snapshot, const Plan& plan, AbortSignal& abort)
        : snapshot_(snapshot), plan_(plan), abort_(abort) {}

    std::unique_ptr<Worker> worker(int index) override;

  private:
    const pg::Snapshot& snapshot_;
    const Plan& plan_;
    AbortSignal& abort_;
};

class SnapshotSource : public LoadSource {
  public:
    // Nothing is opened before open().
    SnapshotSource(std::string conninfo, long long split_bytes, AbortSignal& abort);

    ~SnapshotSource() override;
    SnapshotSource(const SnapshotSource&) = delete;
    SnapshotSource& operator=(const SnapshotSource&) = delete;

    ServerIdentity open() override;
    int serverVersion() override;
    // pg_dump runs on a thread of its own, into a directory of this source's, until
    // writeSchema() takes its archive (or this source is destroyed: then it is stopped).
    void startSchemaDump(const pg::SchemaTool& tool, const std::vector<std::string>& args) override;
    void readCatalog() override;
    std::string describe() override;
    const pg::Catalog& catalog() override { return catalog_; }
    const pg::Snapshot* scanSnapshot() override { return &*snapshot_; }
    // With a subset, computes it first (in the snapshot) and cuts the subsetted tables' units
    // to their kept rows.
    Plan plan(const Prepared& prepared) override;
    void writeSchema(const pg::SchemaTool& tool, const std::string& path,
                     const TableSelection& selection) override;
    UnitFeed& feed(const Plan& plan, LargeObjectSink& large_objects) override;
    std::vector<archive::SequenceValue> sequenceValues() override;
    void readLargeObjects(LargeObjectSink& out) override;
    void verify(const LoadedTarget& target) override;

    // The subset plan() computed, or null.
    const Subset* subset() const { return subset_.get(); }
    // The snapshot every reader shares (after open()).
    pg::Snapshot& snapshot() { return *snapshot_; }
    // The snapshot's time, ISO 8601 UTC (after open()).
    std::string snapshotTime();
    // Reads the large objects `oids` in chunks of at most 1 MiB and hands each chunk to
    // `on_chunk` (its bytes are valid during the call only).
    void readLargeObjects(const std::vector<uint32_t>& oids,
                          const std::function<void(const archive::LargeObjectChunk&)>& on_chunk);

  private:
    void readChunks(pg::Connection& source, const std::vector<uint32_t>& oids,
                    const std::function<void(const archive::LargeObjectChunk&)>& on_chunk);

    struct EarlyDump;
    // Waits for the early dump; true when it wrote `path` with `args`.
    bool takeEarlyDump(const std::string& path, const std::vector<std::string>& args);

    std::string conninfo_;
    long long split_bytes_;
    AbortSignal& abort_;
    std::unique_ptr<EarlyDump> early_dump_;
    std::optional<pg::Snapshot> snapshot_;
    std::optional<Watch> watch_;
    pg::Catalog catalog_;
    std::optional<SnapshotFeed> feed_;
    std::shared_ptr<const Subset> subset_;
};

}  // namespace pgsluice::engine
