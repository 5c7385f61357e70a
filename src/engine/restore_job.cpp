#include "pgsluice/engine/restore_job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/engine/digest.hpp"
#include "pgsluice/engine/verify_job.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/io/file_reader.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

namespace {

// A bound on the frames waiting for one connection when restoring from a pipe (each is at most
// the dump's frame size, a few MiB).
constexpr size_t kLaneDepth = 2;

// One connection's queue when restoring from a pipe: the dispatcher gives it a unit, then the
// unit's frames, then marks it ended.
struct Lane {
    std::optional<size_t> unit;  // plan unit being loaded
    std::deque<std::string> frames;
    bool ended = false;
};

class RestoreRun : public LoadRun {
  public:
    explicit RestoreRun(const RestoreOptions& options)
        : LoadRun(options, "restore"), restore_(options) {
        progress_.setVerb("loaded");
    }

  private:
    ServerIdentity openSource() override;
    pg::Catalog readCatalog() override { return contents_.catalog; }
    std::string describeSource() override;
    std::set<uint32_t> tablesWithoutData() override;
    Plan planLoad() override;
    void writeSchema(const std::string& path) override;
    void moveData() override;
    std::vector<SequenceValue> sequenceValues() override { return results_->sequences; }
    void moveLargeObjects(pg::Connection& target) override;
    void verifyLoad() override;
    void extendReport(nlohmann::ordered_json& report) override;

    void readHead();
    void moveFromFile();
    void moveFromPipe();
    void dispatch(std::vector<Lane>& lanes);
    void pipeWorker(Lane& lane, pg::Connection& dst);
    void loadLargeObjects(pg::Connection& target, std::string_view payload);
    void unitLoaded(size_t unit, const RowDigest& digest);
    void checkDigests();
    std::string failureDetails() override;
    const pg::Table& tableOf(size_t unit) const {
        return *plan_.tables[plan_.units[unit].table].table;
    }

    const RestoreOptions& restore_;
    std::optional<archive::SeekableArchive> file_;  // a regular file: read through the index
    std::optional<archive::ArchiveReader> stream_;  // a pipe: read front to back
    std::string name_;
    std::string schema_;
    Contents contents_;
    std::optional<Results> results_;
    std::vector<uint32_t> unit_ids_;  // per plan unit: its id in the archive

    std::mutex mutex_;  // guards what follows, and the lanes of a pipe restore
    std::condition_variable changed_;
    std::vector<RowDigest> digests_;  // per plan unit: the rows read from the archive
    std::vector<int> units_left_;     // per plan table
    bool stream_done_ = false;
    uint64_t large_object_bytes_ = 0;
    std::set<uint32_t> large_objects_seen_;
};

ServerIdentity RestoreRun::openSource() {
    if (restore_.file == "-") {
        if (::isatty(STDIN_FILENO)) {
            throw UsageError(
                "standard input is a terminal: give -f FILE, or pipe an archive in "
                "(pgsluice dump -f - ... | pgsluice restore -f - ...)");
        }
        stream_.emplace(
            io::FileReader(io::FileDescriptor::borrow(0), "standard input", restore_.io));
    } else {
        io::FileReader input = io::FileReader::open(restore_.file, restore_.io);
        if (input.seekable()) {
            file_.emplace(std::move(input));
        } else {
            stream_.emplace(std::move(input));
        }
    }
    name_ = file_ ? file_->name() : stream_->name();
    readHead();
    progress_.info(fmt::format("reading {} ({}, {})", name_,
                               file_ ? "seekable: units load in any order" : "a stream",
                               file_ ? "footer index" : stream_->backendName()),
                   true);
    const SourceInfo& s = contents_.source;
    return {s.system_id, s.database, s.host};
}

// The schema and the contents manifest: everything that comes before the data.
void RestoreRun::readHead() {
    std::string contents;
    try {
        if (file_) {
            archive::FrameDecoder decoder;
            schema_ = file_->readBlob(archive::FrameType::schema, schema_stream, decoder);
            contents = file_->readBlob(archive::FrameType::manifest, contents_stream, decoder);
            results_ = parseResults(
                file_->readBlob(archive::FrameType::manifest, results_stream, decoder), name_);
        } else {
            archive::Frame frame;
            for (;;) {
                if (!stream_->next(frame)) {
                    throw FormatError(fmt::format(
                        "{} ends before its contents manifest: it is not a pgsluice dump", name_));
                }
                if (frame.header.type == archive::FrameType::schema) {
                    schema_.append(frame.payload);
                } else if (frame.header.type == archive::FrameType::manifest &&
                           frame.header.unit == contents_stream) {
                    contents.append(frame.payload);
                    if (frame.header.final()) {
                        break;
                    }
                } else {
                    throw FormatError(fmt::format(
                        "{}: {} at byte {} comes before the contents manifest: not a pgsluice "
                        "dump",
                        name_, archive::describeFrame(frame.header), frame.offset));
                }
            }
        }
    } catch (const FormatError&) {
        throw;
    } catch (const Error& e) {
        throw FormatError(fmt::format("{}: {} (is it a pgsluice dump?)", name_, e.what()));
    }
    contents_ = parseContents(contents, name_);
}

std::string RestoreRun::describeSource() {
    const SourceInfo& s = contents_.source;
    return fmt::format("archive {} (database {} on {}, snapshot of {}, written by {})", name_,
                       s.database, s.host, s.snapshot_time, contents_.writer);
}

std::set<uint32_t> RestoreRun::tablesWithoutData() {
    std::set<uint32_t> out;
    for (const auto& t : contents_.tables) {
        if (!t.with_data) {
            out.insert(t.oid);
        }
    }
    return out;
}

Plan RestoreRun::planLoad() {
    Plan plan;
    struct Pending {
        WorkUnit unit;
        uint32_t id;
        uint64_t bytes;
    };
    std::vector<Pending> pending;
    for (size_t i = 0; i < catalog_.tables.size(); ++i) {
        const pg::Table& table = catalog_.tables[i];
        const ArchivedTable& archived = contents_.tables[i];
        if (prepared_.selection.skip.count(table.oid) || !table.holdsData()) {
            continue;
        }
        PlannedTable pt{&table, !prepared_.selection.schema_only.count(table.oid),
                        std::max<int>(1, static_cast<int>(archived.units.size()))};
        if (pt.with_data && archived.units.empty()) {
            throw FormatError(
                fmt::format("{}: table {} has data but no units", name_, table.qualified));
        }
        size_t index = plan.tables.size();
        plan.tables.push_back(pt);
        if (!pt.with_data) {
            continue;
        }
        for (const auto& u : archived.units) {
            uint64_t bytes = static_cast<uint64_t>(std::max(0LL, u.estimated_bytes));
            if (file_) {
                const archive::UnitInfo* info = file_->findUnit(u.id);
                if (!info) {
                    throw FormatError(fmt::format("{}: the data of table {} (unit {}) is missing",
                                                  name_, table.qualified, u.id));
                }
                bytes = info->raw_bytes;
            }
            pending.push_back(
                {WorkUnit{index, u.part, u.parts, 0, -1, static_cast<long long>(bytes)}, u.id,
                 bytes});
            plan.total_bytes += static_cast<long long>(bytes);
        }
    }
    // Largest first, so the last unit to finish is a small one.
    std::stable_sort(pending.begin(), pending.end(),
                     [](const Pending& a, const Pending& b) { return a.bytes > b.bytes; });
    for (const auto& p : pending) {
        plan.units.push_back(p.unit);
        unit_ids_.push_back(p.id);
    }
    digests_.assign(plan.units.size(), RowDigest{});
    units_left_.assign(plan.tables.size(), 0);
    for (const auto& u : plan.units) {
        ++units_left_[u.table];
    }
    return plan;
}

void RestoreRun::writeSchema(const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    out.write(schema_.data(), static_cast<std::streamsize>(schema_.size()));
    out.close();
    if (!out) {
        throw Error(fmt::format("cannot write {}", path));
    }
}

void RestoreRun::moveData() {
    if (file_) {
        moveFromFile();
    } else {
        moveFromPipe();
    }
    abort_.rethrow();
    checkDigests();
}

// Loads one unit's frames: the COPY header, the rows of every frame, the trailer; the rows'
// digest is checked against the manifest once all units are in.
class UnitFeeder {
  public:
    UnitFeeder(const CopySink& sink, bool binary) : sink_(sink), binary_(binary), digest_(binary) {
        if (binary_) {
            put(copy::copy_plain_header);
        }
    }
    void put(std::string_view bytes) {
        digest_.feed(bytes);
        sink_(bytes);
    }
    RowDigest finish() {
        if (binary_) {
            put(copy::copy_trailer);
        }
        digest_.finish();
        return digest_.digest();
    }

  private:
    const CopySink& sink_;
    bool binary_;
    StreamDigest digest_;
};

void RestoreRun::moveFromFile() {
    std::atomic<size_t> next{0};
    int n = std::max(1, std::min<int>(restore_.jobs, static_cast<int>(plan_.units.size())));
    runWorkers(n, [&](int, pg::Connection& dst) {
        archive::FrameDecoder decoder;
        for (;;) {
            abort_.check();
            size_t i = next.fetch_add(1);
            if (i >= plan_.units.size()) {
                return;
            }
            const archive::UnitInfo& info = *file_->findUnit(unit_ids_[i]);
            RowDigest digest;
            loadUnit(dst, plan_.units[i], [&](const CopySink& sink) {
                UnitFeeder feeder(sink, tableOf(i).binary_safe);
                for (size_t f : info.frames) {
                    feeder.put(file_->readFrame(file_->entries()[f], decoder).payload);
                }
                digest = feeder.finish();
            });
            unitLoaded(i, digest);
        }
    });
}

void RestoreRun::moveFromPipe() {
    // Units are interleaved in the stream, at most as many at once as the dump had workers;
    // with fewer connections than that, the unit whose frames come next could wait forever
    // behind one that cannot finish yet.
    int n = std::max(restore_.jobs, contents_.jobs);
    if (n > restore_.jobs) {
        progress_.info(fmt::format(
            "reading a stream written by {} dump workers: loading on {} connections", n, n));
    }
    std::vector<Lane> lanes(static_cast<size_t>(n));
    std::thread dispatcher([&] {
        try {
            dispatch(lanes);
        } catch (...) {
            abort_.fail(std::current_exception());
        }
        std::lock_guard lock(mutex_);
        stream_done_ = true;
        changed_.notify_all();
    });
    runWorkers(n,
               [&](int w, pg::Connection& dst) { pipeWorker(lanes[static_cast<size_t>(w)], dst); });
    dispatcher.join();
}

// Reads the stream and hands every frame to the connection loading its unit.
void RestoreRun::dispatch(std::vector<Lane>& lanes) {
    std::map<uint32_t, size_t> plan_unit;  // archive unit id -> plan unit
    for (size_t i = 0; i < unit_ids_.size(); ++i) {
        plan_unit[unit_ids_[i]] = i;
    }
    std::map<uint32_t, Lane*> open;  // units being loaded
    std::optional<pg::Connection> lo_target;
    std::optional<Watch> lo_watch;
    std::string results;
    size_t started = 0;
    auto wait = [&](std::unique_lock<std::mutex>& lock, const auto& ready) {
        while (!ready()) {
            if (abort_.aborted()) {
                throw Cancelled("stopped");
            }
            changed_.wait_for(lock, std::chrono::milliseconds(100));
        }
    };
    archive::Frame frame;
    for (;;) {
        try {
            if (!stream_->next(frame)) {
                break;
            }
        } catch (const FormatError& e) {
            std::string reading;
            for (const auto& [id, lane] : open) {
                reading += (reading.empty() ? "" : ", ") + tableOf(*lane->unit).qualified;
            }
            if (const archive::FrameHeader* h = stream_->failedFrame()) {
                if (auto it = plan_unit.find(h->unit); it != plan_unit.end() &&
                                                       !open.count(h->unit) &&
                                                       (h->type == archive::FrameType::data ||
                                                        h->type == archive::FrameType::unit_end)) {
                    reading += (reading.empty() ? "" : ", ") + tableOf(it->second).qualified;
                }
            }
            throw FormatError(fmt::format(
                "{}{}", e.what(),
                reading.empty() ? "" : "\nthe stream was being read for table " + reading));
        }
        abort_.check();
        const archive::FrameHeader& h = frame.header;
        if (h.type == archive::FrameType::manifest && h.unit == results_stream) {
            results.append(frame.payload);
            continue;
        }
        if (h.type != archive::FrameType::data && h.type != archive::FrameType::unit_end) {
            continue;
        }
        if (contents_.large_object_unit && h.unit == *contents_.large_object_unit) {
            if (h.type == archive::FrameType::data) {
                if (!lo_target) {
                    lo_target.emplace(openTarget());
                    lo_watch.emplace(abort_, *lo_target);
                    lo_target->exec("BEGIN");
                }
                loadLargeObjects(*lo_target, frame.payload);
            }
            continue;
        }
        auto it = plan_unit.find(h.unit);
        if (it == plan_unit.end()) {
            continue;  // a table the selection leaves out
        }
        std::unique_lock lock(mutex_);
        Lane* lane = nullptr;
        if (auto o = open.find(h.unit); o != open.end()) {
            lane = o->second;
        } else {
            wait(lock, [&] {
                for (auto& l : lanes) {
                    if (!l.unit) {
                        lane = &l;
                        return true;
                    }
                }
                return false;
            });
            lane->unit = it->second;
            lane->ended = false;
            open[h.unit] = lane;
            ++started;
        }
        if (h.type == archive::FrameType::data) {
            wait(lock, [&] { return lane->frames.size() < kLaneDepth; });
            lane->frames.emplace_back(frame.payload);
        } else {
            lane->ended = true;
            open.erase(h.unit);
        }
        changed_.notify_all();
    }
    if (lo_target) {
        lo_target->exec("COMMIT");
    }
    if (started != unit_ids_.size()) {
        throw FormatError(fmt::format("{}: {} of the {} units the manifest lists are missing",
                                      name_, unit_ids_.size() - started, unit_ids_.size()));
    }
    if (results.empty()) {
        throw FormatError(fmt::format("{}: the results manifest is missing", name_));
    }
    results_ = parseResults(results, name_);
}

void RestoreRun::pipeWorker(Lane& lane, pg::Connection& dst) {
    std::unique_lock lock(mutex_);
    for (;;) {
        while (!lane.unit) {
            if (stream_done_ || abort_.aborted()) {
                return;
            }
            changed_.wait_for(lock, std::chrono::milliseconds(100));
        }
        size_t i = *lane.unit;
        lock.unlock();
        RowDigest digest;
        loadUnit(dst, plan_.units[i], [&](const CopySink& sink) {
            UnitFeeder feeder(sink, tableOf(i).binary_safe);
            std::string frame;
            for (;;) {
                {
                    std::unique_lock l(mutex_);
                    while (lane.frames.empty() && !lane.ended) {
                        if (abort_.aborted() || stream_done_) {
                            // The stream ended (or failed) in the middle of this unit.
                            throw Cancelled("stopped");
                        }
                        changed_.wait_for(l, std::chrono::milliseconds(100));
                    }
                    if (lane.frames.empty()) {
                        break;
                    }
                    frame = std::move(lane.frames.front());
                    lane.frames.pop_front();
                    changed_.notify_all();
                }
                feeder.put(frame);
            }
            digest = feeder.finish();
        });
        unitLoaded(i, digest);
        lock.lock();
        lane.unit.reset();
        lane.ended = false;
        changed_.notify_all();
    }
}

void RestoreRun::loadLargeObjects(pg::Connection& target, std::string_view payload) {
    forEachLargeObjectChunk(payload, name_, [&](const LargeObjectChunk& chunk) {
        if (!wantsEntry("BLOB", chunk.oid)) {
            return;  // left out by -t/-n, as pg_dump would
        }
        putLargeObjectChunk(target, chunk);
        large_objects_seen_.insert(chunk.oid);
        large_object_bytes_ += chunk.bytes.size();
    });
}

void RestoreRun::moveLargeObjects(pg::Connection& target) {
    if (file_ && contents_.large_object_unit) {
        const archive::UnitInfo* info = file_->findUnit(*contents_.large_object_unit);
        if (!info) {
            throw FormatError(fmt::format("{}: the large objects' unit is missing", name_));
        }
        archive::FrameDecoder decoder;
        target.exec("BEGIN");
        for (size_t f : info->frames) {
            abort_.check();
            archive::Frame frame = file_->readFrame(file_->entries()[f], decoder);
            loadLargeObjects(target, frame.payload);
        }
        target.exec("COMMIT");
    }
    if (!large_objects_seen_.empty()) {
        progress_.info(fmt::format("loaded {} large objects ({})", large_objects_seen_.size(),
                                   formatBytes(static_cast<double>(large_object_bytes_))));
    }
}

void RestoreRun::unitLoaded(size_t unit, const RowDigest& digest) {
    std::lock_guard lock(mutex_);
    digests_[unit] = digest;
    --units_left_[plan_.units[unit].table];
}

// Said once every worker has stopped, so that it agrees with the tables reported as loaded.
std::string RestoreRun::failureDetails() {
    std::lock_guard lock(mutex_);
    if (units_left_.empty()) {
        return "";  // failed before the data phase
    }
    std::vector<std::string> complete;
    std::vector<std::string> incomplete;
    for (size_t t = 0; t < plan_.tables.size(); ++t) {
        if (plan_.tables[t].with_data) {
            (units_left_[t] > 0 ? incomplete : complete)
                .push_back(plan_.tables[t].table->qualified);
        }
    }
    auto list = [](const std::vector<std::string>& names) {
        return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
    };
    return fmt::format("tables loaded completely: {}\ntables not loaded completely: {}",
                       list(complete), list(incomplete));
}

// The rows read from the archive must be the rows the dump wrote, unit by unit.
void RestoreRun::checkDigests() {
    std::map<uint32_t, const UnitResult*> written;
    for (const auto& u : results_->units) {
        written[u.id] = &u;
    }
    for (size_t i = 0; i < unit_ids_.size(); ++i) {
        auto it = written.find(unit_ids_[i]);
        if (it == written.end()) {
            throw FormatError(fmt::format("{}: the results manifest has no entry for unit {} of {}",
                                          name_, unit_ids_[i], tableOf(i).qualified));
        }
        const RowDigest& expected = it->second->digest;
        if (!(digests_[i] == expected)) {
            throw FormatError(fmt::format(
                "{}: table {}: the rows read ({}, digest {}) differ from the rows the dump wrote "
                "({}, digest {})",
                name_, tableOf(i).qualified, digests_[i].rows, digests_[i].hex(), expected.rows,
                expected.hex()));
        }
    }
}

// --verify: every table on the target, read back in one snapshot, must hash to what the dump
// wrote. Tables rewritten by this restore's --rules cannot be compared with the archive.
void RestoreRun::verifyLoad() {
    std::map<size_t, RowDigest> expected;  // plan table -> digest
    std::map<uint32_t, const UnitResult*> written;
    for (const auto& u : results_->units) {
        written[u.id] = &u;
    }
    for (size_t i = 0; i < unit_ids_.size(); ++i) {
        expected[plan_.units[i].table].add(written.at(unit_ids_[i])->digest);
    }
    std::vector<size_t> tables;
    std::vector<std::string> unverified;
    for (size_t t = 0; t < plan_.tables.size(); ++t) {
        const pg::Table& table = *plan_.tables[t].table;
        if (prepared_.sanitizing && prepared_.sanitizing->forTable(table)) {
            unverified.push_back(table.qualified);
        } else {
            tables.push_back(t);
        }
    }
    if (!unverified.empty()) {
        progress_.warn(
            fmt::format("--verify: not comparing {} tables this restore's --rules rewrote: {}",
                        unverified.size(), fmt::join(unverified, ", ")));
    }
    pg::Snapshot target =
        pg::Snapshot::exportFrom(restore_.target, pg::Role::target, target_database_);
    std::vector<RowDigest> actual(tables.size());
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    int n = std::max(1, std::min<int>(restore_.jobs, static_cast<int>(tables.size())));
    for (int w = 0; w < n; ++w) {
        threads.emplace_back([&] {
            try {
                pg::Connection conn = target.openReader();
                Watch watch(abort_, conn);
                for (size_t i; !abort_.aborted() && (i = next.fetch_add(1)) < tables.size();) {
                    const pg::Table& table = *plan_.tables[tables[i]].table;
                    actual[i] = digestTable(conn, table, table, table.binary_safe, abort_);
                }
            } catch (...) {
                abort_.fail(std::current_exception());
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    abort_.rethrow();
    std::vector<std::string> differing;
    for (size_t i = 0; i < tables.size(); ++i) {
        const RowDigest& want = expected[tables[i]];
        if (!(actual[i] == want)) {
            const pg::Table& table = *plan_.tables[tables[i]].table;
            progress_.warn(fmt::format(
                "--verify: {}: {} rows (digest {}) on the target, {} "
                "(digest {}) in the archive",
                table.qualified, actual[i].rows, actual[i].hex(), want.rows, want.hex()));
            differing.push_back(table.qualified);
        }
    }
    if (!differing.empty()) {
        throw Error("--verify: " + differMessage(differing));
    }
    progress_.info(fmt::format("verified: all {} tables agree with the archive", tables.size()));
}

void RestoreRun::extendReport(nlohmann::ordered_json& report) {
    report["archive"] = name_;
    report["source"] = {{"database", contents_.source.database},
                        {"host", contents_.source.host},
                        {"snapshot_time", contents_.source.snapshot_time}};
    if (!contents_.rules_hash.empty()) {
        report["archive_rules_hash"] = contents_.rules_hash;
    }
}

}  // namespace

void runRestore(const RestoreOptions& options) {
    if (options.jobs < 1 || options.index_jobs < 1) {
        throw UsageError("--jobs and --index-jobs must be at least 1");
    }
    RestoreRun run(options);
    run.run();
}

}  // namespace pgsluice::engine
