#include "pgsluice/engine/snapshot_source.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <future>

#include "pgsluice/engine/verify.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"
#include "pgsluice/pg/copy_stream.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/util/temp_dir.hpp"

namespace pgsluice::engine {

namespace {

// One worker's reader session in the snapshot and the COPY it is reading.
class SnapshotWorker : public UnitFeed::Worker {
  public:
    SnapshotWorker(const pg::Snapshot& snapshot, const Plan& plan, AbortSignal& abort)
        : snapshot_(snapshot), plan_(plan), reader_(snapshot.openReader(), abort) {}

    pg::Connection* connection() override { return &reader_.conn; }

    copy::ChunkSource& open(std::size_t unit) override {
        const WorkUnit& u = plan_.units[unit];
        copy_.reset();
        if (++opened_ % kUnitsPerTransaction == 0) {
            snapshot_.refresh(reader_.conn);  // let go of the locks of the tables read so far
        }
        copy_.emplace(reader_.conn, copyOutSql(*plan_.tables[u.table].table, u));
        return *copy_;
    }

  private:
    static constexpr std::size_t kUnitsPerTransaction = 100;

    const pg::Snapshot& snapshot_;
    std::size_t opened_ = 0;
    const Plan& plan_;
    WatchedConnection reader_;
    std::optional<pg::CopyOut> copy_;
};

}  // namespace

std::unique_ptr<UnitFeed::Worker> SnapshotFeed::worker(int) {
    return std::make_unique<SnapshotWorker>(snapshot_, plan_, abort_);
}

// pg_dump of the schema started before the catalogue is read (both take seconds with
// thousands of tables, and one waits on the other's server otherwise).
struct SnapshotSource::EarlyDump {
    util::TempDir dir{"pgsluice-schema"};  // first: it goes once the dump is stopped
    std::string path = dir.path() + "/schema.dump";
    std::vector<std::string> args;
    std::atomic<bool> cancel{false};
    std::future<void> done;

    ~EarlyDump() {
        cancel = true;
        if (done.valid()) {
            done.wait();
        }
    }
};

SnapshotSource::SnapshotSource(std::string conninfo, long long split_bytes, AbortSignal& abort)
    : conninfo_(std::move(conninfo)), split_bytes_(split_bytes), abort_(abort) {}

SnapshotSource::~SnapshotSource() = default;

ServerIdentity SnapshotSource::open() {
    snapshot_.emplace(pg::Snapshot::exportFrom(conninfo_));
    watch_.emplace(abort_, snapshot_->control());
    return snapshot_->onControl([&](pg::Connection& control) { return identify(control); });
}

int SnapshotSource::serverVersion() {
    return snapshot_->control().serverVersion();
}

void SnapshotSource::startSchemaDump(const pg::SchemaTool& tool,
                                     const std::vector<std::string>& args) {
    auto early = std::make_unique<EarlyDump>();
    early->args = args;
    pg::SchemaTool dumper = tool;
    dumper.stopWhen(
        [&cancel = early->cancel, &abort = abort_] { return cancel.load() || abort.aborted(); });
    pg::DumpCommand command =
        dumper.dumpCommand(snapshot_->control(), snapshot_->id(), early->path, args);
    early->done = std::async(
        std::launch::async,
        [dumper = std::move(dumper), command = std::move(command)] { dumper.dump(command); });
    early_dump_ = std::move(early);
}

void SnapshotSource::readCatalog() {
    snapshot_->onControl([&](pg::Connection& control) { catalog_ = pg::loadCatalog(control); });
}

bool SnapshotSource::takeEarlyDump(const std::string& path, const std::vector<std::string>& args) {
    std::unique_ptr<EarlyDump> early = std::move(early_dump_);
    if (!early || early->args != args) {
        return false;
    }
    try {
        early->done.get();
    } catch (const std::exception&) {
        return false;  // dumped again: that run says what is wrong
    }
    return std::rename(early->path.c_str(), path.c_str()) == 0;
}

std::string SnapshotSource::describe() {
    return fmt::format("{} (snapshot {})", snapshot_->control().describe(), snapshot_->id());
}

std::string SnapshotSource::snapshotTime() {
    return snapshot_->onControl([](pg::Connection& control) {
        pg::Result now = control.exec(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        return std::string(now.get(0, 0));
    });
}

Plan SnapshotSource::plan(const Prepared& prepared) {
    Plan plan = makePlan(catalog_, PlanOptions{split_bytes_}, prepared.selection);
    if (!prepared.subset.empty()) {
        subset_ = snapshot_->onControl([&](pg::Connection& control) {
            return computeSubset(control, catalog_, prepared.selection, prepared.subset);
        });
        applySubset(plan, *subset_);
    }
    return plan;
}

void SnapshotSource::writeSchema(const pg::SchemaTool& tool, const std::string& path,
                                 const TableSelection& selection) {
    if (takeEarlyDump(path, selection.pg_dump_args)) {
        return;
    }
    try {
        tool.dump(
            tool.dumpCommand(snapshot_->control(), snapshot_->id(), path, selection.pg_dump_args));
    } catch (const Error&) {
        // pg_dump cannot join a snapshot whose control session ended: say that, not its
        // "invalid snapshot identifier".
        snapshot_->onControl([](pg::Connection& control) { control.exec("SELECT 1"); });
        throw;
    }
}

UnitFeed& SnapshotSource::feed(const Plan& plan, LargeObjectSink&) {
    feed_.emplace(*snapshot_, plan, abort_);
    return *feed_;
}

std::vector<archive::SequenceValue> SnapshotSource::sequenceValues() {
    return snapshot_->onControl([&](pg::Connection& control) {
        std::vector<archive::SequenceValue> values;
        for (const auto& seq : catalog_.sequences) {
            pg::Result res = control.exec("SELECT last_value, is_called FROM " + seq.qualified);
            values.push_back(
                {seq.oid, seq.qualified, std::string(res.get(0, 0)), res.getBool(0, 1)});
        }
        return values;
    });
}

void SnapshotSource::readLargeObjects(LargeObjectSink& out) {
    std::vector<uint32_t> wanted;
    for (uint32_t oid : catalog_.large_objects) {
        if (out.wanted(oid)) {
            wanted.push_back(oid);  // pg_dump leaves large objects out under -t/-n, and so do we
        }
    }
    readLargeObjects(wanted, [&](const archive::LargeObjectChunk& chunk) { out.put(chunk); });
}

void SnapshotSource::readLargeObjects(
    const std::vector<uint32_t>& oids,
    const std::function<void(const archive::LargeObjectChunk&)>& on_chunk) {
    snapshot_->onControl([&](pg::Connection& source) { readChunks(source, oids, on_chunk); });
}

void SnapshotSource::readChunks(
    pg::Connection& source, const std::vector<uint32_t>& oids,
    const std::function<void(const archive::LargeObjectChunk&)>& on_chunk) {
    constexpr long long kChunk = 1 << 20;
    std::string bytes;
    for (uint32_t oid : oids) {
        for (long long offset = 0;; offset += kChunk) {
            abort_.check();
            pg::Result chunk = source.execParams(
                "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::bigint, $3::int)",
                {std::to_string(oid), std::to_string(offset), std::to_string(kChunk)});
            std::string_view hex = chunk.get(0, 0);  // \x...: two characters per byte
            if (hex.size() < 2 || hex.size() % 2 != 0) {
                throw Error(fmt::format("large object {}: unexpected lo_get result", oid));
            }
            bytes.clear();
            for (size_t i = 2; i < hex.size(); i += 2) {
                int high = hexDigitValue(hex[i]);
                int low = hexDigitValue(hex[i + 1]);
                if (high < 0 || low < 0) {
                    throw Error(fmt::format("large object {}: unexpected lo_get result", oid));
                }
                bytes += static_cast<char>(high * 16 + low);
            }
            on_chunk({oid, static_cast<uint64_t>(offset), bytes});
            if (static_cast<long long>(bytes.size()) < kChunk) {
                break;
            }
        }
    }
}

void SnapshotSource::verify(const LoadedTarget& target) {
    pg::Snapshot snapshot =
        pg::Snapshot::exportFrom(target.conninfo, pg::Role::target, target.database);
    std::vector<TableVerdict> verdicts =
        verifyDatabases(*snapshot_, snapshot, target.prepared.options, target.jobs, target.abort,
                        target.prepared.sanitizing.get(), subset_.get());
    std::vector<std::string> differing;
    std::string text = formatVerdicts(verdicts, false, differing);
    if (!differing.empty()) {
        target.progress.warn(text);
        throw Error("--verify: " + differMessage(differing));
    }
    target.progress.info(
        fmt::format("verified: all {} tables agree with the source", verdicts.size()));
}

}  // namespace pgsluice::engine
