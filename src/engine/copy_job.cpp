#include "pgsluice/engine/copy_job.hpp"

#include <fmt/format.h>

#include <atomic>
#include <optional>

#include "pgsluice/engine/source.hpp"
#include "pgsluice/engine/verify_job.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

namespace {

// One copy run: the source is a live database read in one exported snapshot.
class CopyRun : public LoadRun {
  public:
    explicit CopyRun(const CopyOptions& options) : LoadRun(options, "copy"), copy_(options) {}

  private:
    ServerIdentity openSource() override {
        snapshot_.emplace(pg::Snapshot::exportFrom(copy_.source));
        watch_source_.emplace(abort_, snapshot_->control());
        return identify(snapshot_->control());
    }
    pg::Catalog readCatalog() override { return pg::loadCatalog(snapshot_->control()); }
    std::string describeSource() override {
        return fmt::format("{} (snapshot {})", snapshot_->control().describe(), snapshot_->id());
    }
    Plan planLoad() override {
        return makePlan(catalog_, PlanOptions{copy_.split_bytes}, prepared_.selection);
    }
    void writeSchema(const std::string& path) override {
        pg::SchemaTool(catalog_.server_version)
            .dump(snapshot_->control(), snapshot_->id(), path, prepared_.selection.pg_dump_args);
    }
    void moveData() override;
    std::vector<SequenceValue> sequenceValues() override {
        return readSequenceValues(snapshot_->control(), catalog_.sequences);
    }
    void moveLargeObjects(pg::Connection& target) override;
    void verifyLoad() override;

    const CopyOptions& copy_;
    std::optional<pg::Snapshot> snapshot_;
    std::optional<Watch> watch_source_;
    std::atomic<size_t> next_unit_{0};
};

void CopyRun::moveData() {
    int n = std::max(1, std::min<int>(copy_.jobs, static_cast<int>(plan_.units.size())));
    runWorkers(n, [this](int, pg::Connection& dst) {
        pg::Connection src = snapshot_->openReader();
        Watch watch_src(abort_, src);
        for (;;) {
            abort_.check();
            size_t i = next_unit_.fetch_add(1);
            if (i >= plan_.units.size()) {
                return;
            }
            const WorkUnit& unit = plan_.units[i];
            loadUnit(dst, unit, [&](const CopySink& sink) {
                readUnit(src, *plan_.tables[unit.table].table, unit, sink);
            });
        }
    });
}

void CopyRun::moveLargeObjects(pg::Connection& target) {
    std::vector<uint32_t> wanted;
    for (uint32_t oid : catalog_.large_objects) {
        if (wantsEntry("BLOB", oid)) {
            wanted.push_back(oid);  // pg_dump leaves large objects out under -t/-n, and so do we
        }
    }
    if (wanted.empty()) {
        return;
    }
    long long total = 0;
    target.exec("BEGIN");
    readLargeObjects(snapshot_->control(), wanted, abort_, [&](const LargeObjectChunk& chunk) {
        putLargeObjectChunk(target, chunk);
        total += static_cast<long long>(chunk.bytes.size());
    });
    target.exec("COMMIT");
    progress_.info(fmt::format("copied {} large objects ({})", wanted.size(),
                               formatBytes(static_cast<double>(total))));
}

void CopyRun::verifyLoad() {
    pg::Snapshot target =
        pg::Snapshot::exportFrom(copy_.target, pg::Role::target, target_database_);
    std::vector<TableVerdict> verdicts = verifyDatabases(
        *snapshot_, target, prepared_.options, copy_.jobs, abort_, prepared_.sanitizing.get());
    std::vector<std::string> differing;
    std::string text = formatVerdicts(verdicts, false, differing);
    if (!differing.empty()) {
        progress_.warn(text);
        throw Error("--verify: " + differMessage(differing));
    }
    progress_.info(fmt::format("verified: all {} tables agree with the source", verdicts.size()));
}

}  // namespace

void runCopy(const CopyOptions& options) {
    if (options.jobs < 1 || options.index_jobs < 1) {
        throw UsageError("--jobs and --index-jobs must be at least 1");
    }
    CopyRun run(options);
    run.run();
}

}  // namespace pgsluice::engine
