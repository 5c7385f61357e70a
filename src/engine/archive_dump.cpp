#include "pgsluice/engine/archive_dump.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/unit_stream.hpp"
#include "pgsluice/engine/coverage.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/engine/pump.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/copy_stream.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/util/sizes.hpp"
#include "pgsluice/util/temp_dir.hpp"
#include "pgsluice/util/version.hpp"

namespace pgsluice::engine {

int parseCompression(const std::string& text) {
    if (text == "zstd") {
        return archive::default_compression_level;
    }
    if (text.rfind("zstd:", 0) == 0) {
        std::string level = text.substr(5);
        int value = 0;
        size_t used = 0;
        try {
            value = std::stoi(level, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == level.size() && !level.empty() && value >= 1 && value <= 19) {
            return value;
        }
    }
    throw UsageError(fmt::format(
        "--compress {}: write zstd or zstd:LEVEL with LEVEL from 1 (fastest, the default) to 19",
        text));
}

void ArchiveDump::run(SnapshotSource& source) {
    Progress& progress = run_.progress();
    if (options_.file == "-") {
        progress.keepStdoutClean();
    }
    progress.setVerb("dumped");
    std::exception_ptr failure = run_.execute([&] { dump(source); });
    if (failure) {
        // The writer's destructor removes the unfinished file; a stream is left without its
        // footer, which every reader rejects as truncated.
        writer_.reset();
        std::string what;
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            what = e.what();
        }
        std::string message =
            options_.file == "-"
                ? fmt::format(
                      "{}\nthe archive on standard output is incomplete (no footer): "
                      "a restore of it will fail",
                      what)
                : fmt::format("{}\nno archive was written to {}", what, options_.file);
        writeReport(run_.abort().interrupted() ? "interrupted" : "failed", message);
        Run::rethrowAs(failure, message);
    }
    progress.printSummary();
    uint64_t raw = 0;
    for (const auto& r : results_) {
        raw += r.raw_bytes;
    }
    progress.info(fmt::format("wrote {}: {} ({} of rows before compression, {} frames, {})",
                              options_.file == "-" ? "standard output" : options_.file,
                              util::formatBytes(static_cast<double>(writer_->bytesWritten())),
                              util::formatBytes(static_cast<double>(raw)), writer_->frameCount(),
                              writer_->backendName()));
    writeReport("ok", "");
}

void ArchiveDump::dump(SnapshotSource& source) {
    Progress& progress = run_.progress();
    auto started = std::chrono::steady_clock::now();
    if (options_.file == "-" && ::isatty(STDOUT_FILENO)) {
        throw UsageError(
            "standard output is a terminal: give -f FILE, or pipe the archive into "
            "`pgsluice restore -f -`");
    }
    progress.phase("connect");
    source.open();
    int version = source.serverVersion();
    tools_ = clientToolsFor(options_.pg_bin, version,
                            "the source server is " + formatServerVersion(version), progress);
    readCatalogBesideSchemaDump(source, schemaTool(), options_.selection);
    progress.info(fmt::format("source {}", source.describe()), true);
    prepared_ = prepareRun(source.catalog(), options_.selection, options_.rules_file,
                           options_.drop_dangling_foreign_keys, options_.subset, progress);
    requireCoverage(source.catalog(), prepared_, options_.strict, &source.snapshot(), &progress);
    plan_ = source.plan(prepared_);
    run_.abort().check();

    openArchive();
    progress.phase("schema");
    writeSchema(source);
    contents_ = contents(source);
    writer_->appendBlob(archive::FrameType::manifest, archive::contents_stream,
                        archive::toJson(contents_));

    progress.phase("data");
    writeData(source);
    writeLargeObjects(source);

    progress.phase("finish");
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    writeResults(source, seconds);
    writer_->finish();
}

void ArchiveDump::openArchive() {
    archive::ArchiveWriterOptions opts;
    opts.io = options_.io;
    opts.level = options_.compression_level;
    opts.writer_name = util::version_line;
    if (options_.file == "-") {
        writer_.emplace(io::FileDescriptor::borrow(STDOUT_FILENO), "standard output", opts);
    } else {
        writer_.emplace(archive::ArchiveWriter::create(options_.file, opts));
    }
    run_.progress().info(
        fmt::format("writing {} through {}", writer_->name(), writer_->backendName()), true);
}

pg::SchemaTool ArchiveDump::schemaTool() const {
    pg::SchemaTool tool(*tools_);
    tool.stopWhen([&abort = run_.abort()] { return abort.aborted(); });
    return tool;
}

void ArchiveDump::writeSchema(SnapshotSource& source) {
    util::TempDir work("pgsluice-dump");
    std::string path = work.path() + "/schema.dump";
    pg::SchemaTool tool = schemaTool();
    source.writeSchema(tool, path, prepared_.selection);
    toc_ = tool.list(path);
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
        throw Error(fmt::format("cannot read pg_dump's output {}", path));
    }
    writer_->appendBlob(archive::FrameType::schema, archive::schema_stream, bytes.str());
}

archive::Contents ArchiveDump::contents(SnapshotSource& source) const {
    const pg::Catalog& catalog = source.catalog();
    archive::Contents c;
    c.writer = util::version_line;
    ServerIdentity id =
        source.snapshot().onControl([](pg::Connection& control) { return identify(control); });
    c.source = {id.system_id, id.host, id.database, catalog.server_version, source.snapshotTime()};
    c.selection = options_.selection_args;
    if (prepared_.sanitizing) {
        c.rules_hash = prepared_.sanitizing->rules_hash;
    }
    c.subset = describeSubset(prepared_.subset);
    c.compression_level = options_.compression_level;
    c.jobs = std::max(1, std::min<int>(options_.jobs, static_cast<int>(plan_.units.size())));
    // The catalogue of what the archive holds: restore selects from it and loads from it.
    pg::Catalog& cat = c.catalog;
    cat.server_version = catalog.server_version;
    cat.database = catalog.database;
    cat.block_size = catalog.block_size;
    cat.locale = catalog.locale;
    cat.schemas = catalog.schemas;
    cat.other_relations = catalog.other_relations;
    const TableSelection& sel = prepared_.selection;
    for (const auto& t : catalog.tables) {
        if (sel.skip.count(t.oid)) {
            continue;
        }
        cat.tables.push_back(t);
        archive::ArchivedTable a;
        a.oid = t.oid;
        a.format = t.binary_safe ? "binary" : "text";
        a.with_data = t.holdsData() && !sel.schema_only.count(t.oid);
        if (a.with_data) {
            for (size_t u = 0; u < plan_.units.size(); ++u) {
                const WorkUnit& unit = plan_.units[u];
                if (plan_.tables[unit.table].table->oid == t.oid) {
                    a.units.push_back({unit.id, unit.part, unit.parts, unit.estimated_bytes});
                }
            }
        }
        if (source.subset()) {
            a.subset = subsetRoleName(source.subset()->table(t.oid).role);
        }
        if (prepared_.sanitizing) {
            if (const auto* rules = prepared_.sanitizing->forTable(t)) {
                for (const auto& col : rules->columns) {
                    a.rewritten_columns.push_back(col.name);
                }
            }
        }
        c.tables.push_back(std::move(a));
    }
    for (const auto& fk : catalog.foreign_keys) {
        if (!sel.skip.count(fk.table) && !sel.skip.count(fk.referenced) &&
            !prepared_.dropped_foreign_keys.count(fk.oid)) {
            cat.foreign_keys.push_back(fk);
        }
    }
    for (const auto& seq : catalog.sequences) {
        if (pg::tocHas(toc_, "SEQUENCE", seq.oid)) {
            cat.sequences.push_back(seq);
        }
    }
    for (uint32_t oid : catalog.large_objects) {
        if (pg::tocHas(toc_, "BLOB", oid)) {
            cat.large_objects.push_back(oid);
        }
    }
    if (!cat.large_objects.empty()) {
        c.large_object_unit = static_cast<uint32_t>(plan_.units.size());
    }
    return c;
}

// What one dump worker holds: its end of the feed (a reader session in the snapshot, made again
// after a transient failure), its compressor. A thread's writes still in flight when it ends
// would be cancelled, so it settles them before it ends.
struct ArchiveDump::Worker {
    Worker(UnitFeed& f, int i, int level, archive::ArchiveWriter& w, AbortSignal& a)
        : feed(f), index(i), encoder(level), writer(w), abort(a) {}
    ~Worker() {
        abort.capture([&] { writer.settle(); });
    }
    UnitFeed& feed;
    int index;
    std::unique_ptr<UnitFeed::Worker> reader;
    archive::FrameEncoder encoder;
    archive::ArchiveWriter& writer;
    AbortSignal& abort;
};

// Every unit on the -j workers: COPY out of the snapshot, through the sanitiser when the table
// is ruled (so the archive never holds the raw values), into the unit's frames.
void ArchiveDump::writeData(SnapshotSource& source) {
    AbortSignal& abort = run_.abort();
    run_.progress().start(plan_);
    results_.assign(plan_.units.size(), archive::UnitResult{});
    SnapshotFeed feed(source.snapshot(), plan_, abort);
    RetryPolicy policy;
    policy.retries = options_.retries;
    StallWatchdog watchdog{std::chrono::seconds(options_.stall_timeout_seconds)};
    forEachParallel(
        options_.jobs, plan_.units.size(), abort,
        [&](int w) {
            return std::make_unique<Worker>(feed, w, options_.compression_level, *writer_, abort);
        },
        [&](std::unique_ptr<Worker>& worker, size_t i) { dumpUnit(*worker, i, policy, watchdog); });
}

void ArchiveDump::dumpUnit(Worker& worker, size_t i, const RetryPolicy& policy,
                           StallWatchdog& watchdog) {
    Progress& progress = run_.progress();
    AbortSignal& abort = run_.abort();
    const WorkUnit& unit = plan_.units[i];
    const pg::Table& table = *plan_.tables[unit.table].table;
    const Sanitizing* sanitizing = prepared_.sanitizing.get();
    const sanitize::TableSanitizer* rules = sanitizing ? sanitizing->forTable(table) : nullptr;
    progress.unitStarted(unit.table);
    archive::UnitWriter frames(*writer_, worker.encoder, unit.id, table.binary_safe,
                               static_cast<int>(table.columns.size()));
    long long moved = 0;  // by the current attempt
    auto attempt = [&](int) {
        if (!worker.reader) {
            worker.reader = worker.feed.worker(worker.index);
        }
        std::vector<pg::Connection*> watched;
        if (pg::Connection* conn = worker.reader->connection()) {
            watched.push_back(conn);
        }
        StallWatchdog::Lease lease(watchdog, watched);
        try {
            copy::ChunkSource& rows = worker.reader->open(i);
            pump(rows, rules, frames, abort, [&](size_t bytes) {
                progress.addBytes(unit.table, static_cast<long long>(bytes));
                moved += static_cast<long long>(bytes);
                lease->moved(bytes);
            });
        } catch (...) {
            lease.rethrowFailure();
        }
    };
    auto before_retry = [&] {
        progress.addBytes(unit.table, -moved);  // the next attempt counts them again
        moved = 0;
        worker.reader.reset();
        frames.abandon();  // the archive never holds two copies of the unit's rows
    };
    try {
        withRetries(policy, abort, progress, describeUnit(table, unit), attempt, before_retry);
    } catch (...) {
        rethrowInContext(abort, "dumping " + describeUnit(table, unit));
    }
    results_[i] = {unit.id, frames.digest(), frames.rawBytes()};
    progress.unitDone(unit.table, static_cast<long long>(frames.digest().rows));
}

void ArchiveDump::writeLargeObjects(SnapshotSource& source) {
    if (!contents_.large_object_unit) {
        return;
    }
    archive::FrameEncoder encoder(options_.compression_level);
    archive::FrameBuffer frames(*writer_, encoder, *contents_.large_object_unit);
    source.readLargeObjects(contents_.catalog.large_objects,
                            [&](const archive::LargeObjectChunk& chunk) {
                                archive::appendLargeObjectChunk(frames.buffer(), chunk);
                                large_object_bytes_ += chunk.bytes.size();
                                frames.recordAdded();
                            });
    frames.close();
    run_.progress().info(fmt::format("dumped {} large objects ({})",
                                     contents_.catalog.large_objects.size(),
                                     util::formatBytes(static_cast<double>(large_object_bytes_))));
}

void ArchiveDump::writeResults(SnapshotSource& source, double seconds) {
    archive::Results r;
    r.units = results_;
    for (const auto& value : source.sequenceValues()) {
        if (pg::tocHas(toc_, "SEQUENCE", value.oid)) {
            r.sequences.push_back(value);
        }
    }
    r.large_objects = contents_.catalog.large_objects.size();
    r.large_object_bytes = large_object_bytes_;
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    r.finished = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    r.seconds = seconds;
    writer_->appendBlob(archive::FrameType::manifest, archive::results_stream, archive::toJson(r));
}

void ArchiveDump::writeReport(const std::string& status, const std::string& error) {
    run_.progress().writeReport(
        options_.report_file, "dump",
        [&](nlohmann::ordered_json& report) {
            report["archive"] = options_.file;
            if (writer_) {
                report["archive_bytes"] = writer_->bytesWritten();
                report["io"] = writer_->backendName();
            }
            report["compression_level"] = options_.compression_level;
            if (tools_) {
                reportClientTools(report, *tools_);
            }
            if (prepared_.sanitizing) {
                report["rules_hash"] = prepared_.sanitizing->rules_hash;
            }
        },
        status, error);
}

}  // namespace pgsluice::engine
