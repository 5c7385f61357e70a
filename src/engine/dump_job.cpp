#include "pgsluice/engine/dump_job.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/manifest.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/source.hpp"
#include "pgsluice/engine/target.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

namespace {

// Raw bytes per data frame: large enough that zstd and the index overheads vanish, small
// enough that a worker's buffers stay a few MiB.
constexpr size_t kFrameBytes = size_t{4} << 20;

// Collects one unit's rows into frames: whole rows only, each frame compressed on the worker's
// thread and appended to the archive.
class FrameBuilder {
  public:
    FrameBuilder(archive::ArchiveWriter& writer, archive::FrameEncoder& encoder, uint32_t unit)
        : writer_(writer), encoder_(encoder), unit_(unit) {
        buffer_.reserve(kFrameBytes + (64 << 10));
    }
    // The frame being filled; append whole rows, then call rowAdded().
    std::string& buffer() { return buffer_; }
    void rowAdded() {
        ++rows_;
        if (buffer_.size() >= kFrameBytes) {
            flush(buffer_.size());
        }
    }
    // Counts rows appended without flushing (text rows: the caller flushes at a line end).
    void addRows(uint64_t rows) { rows_ += rows; }
    // Writes buffer()[0, length) as a frame of the rows counted so far; keeps the rest, which
    // must hold no complete row.
    void flush(size_t length) {
        if (length == 0) {
            return;
        }
        writer_.appendFrame(encoder_.encode(archive::FrameType::data, unit_, seq_++, rows_,
                                            std::string_view(buffer_).substr(0, length)));
        raw_bytes_ += length;
        buffer_.erase(0, length);
        rows_ = 0;
    }
    uint64_t rawBytes() const { return raw_bytes_; }

  private:
    archive::ArchiveWriter& writer_;
    archive::FrameEncoder& encoder_;
    uint32_t unit_;
    uint32_t seq_ = 0;
    uint64_t rows_ = 0;
    uint64_t raw_bytes_ = 0;
    std::string buffer_;
};

class DumpRun {
  public:
    explicit DumpRun(const DumpOptions& options)
        : options_(options), progress_(options.progress, options.verbose, options.quiet) {
        if (options_.file == "-") {
            progress_.keepStdoutClean();
        }
        progress_.setVerb("dumped");
    }

    void run();

  private:
    void openArchive();
    void writeSchema();
    void writeContents();
    void dumpData();
    void dumpUnit(pg::Connection& src, archive::FrameEncoder& encoder, size_t unit);
    void dumpLargeObjects();
    void writeResults(double seconds);
    void writeReport(const std::string& status, const std::string& error);

    const DumpOptions& options_;
    AbortSignal abort_;
    Progress progress_;
    std::optional<pg::Snapshot> snapshot_;
    SourceInfo source_;
    pg::Catalog catalog_;
    Prepared prepared_;
    Plan plan_;
    std::vector<pg::TocEntry> toc_;
    std::optional<archive::ArchiveWriter> writer_;
    std::vector<UnitResult> results_;  // per plan unit (unit id = plan index)
    Contents contents_;                // what the archive holds, as its contents manifest says
    uint64_t large_object_bytes_ = 0;
    std::atomic<size_t> next_unit_{0};
};

void DumpRun::run() {
    SignalWatcher signals(abort_);
    auto started = std::chrono::steady_clock::now();
    abort_.capture([&] {
        if (options_.file == "-" && ::isatty(STDOUT_FILENO)) {
            throw UsageError(
                "standard output is a terminal: give -f FILE, or pipe the archive into "
                "`pgsluice restore -f -`");
        }
        progress_.phase("connect");
        snapshot_.emplace(pg::Snapshot::exportFrom(options_.source));
        Watch watch_source(abort_, snapshot_->control());
        ServerIdentity id = identify(snapshot_->control());
        catalog_ = pg::loadCatalog(snapshot_->control());
        pg::Result now = snapshot_->control().exec(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        source_ = {id.system_id, id.host, id.database, catalog_.server_version,
                   std::string(now.get(0, 0))};
        progress_.info(fmt::format("source {} (snapshot {})", snapshot_->control().describe(),
                                   snapshot_->id()),
                       true);
        prepared_ = prepareRun(catalog_, options_.selection, options_.rules_file,
                               options_.drop_dangling_foreign_keys, progress_);
        plan_ = makePlan(catalog_, PlanOptions{options_.split_bytes}, prepared_.selection);
        abort_.check();

        openArchive();
        progress_.phase("schema");
        writeSchema();
        writeContents();

        progress_.phase("data");
        dumpData();
        abort_.rethrow();
        dumpLargeObjects();

        progress_.phase("finish");
        double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        writeResults(seconds);
        writer_->finish();
        progress_.endPhase();
    });
    progress_.endPhase();
    progress_.stop();
    try {
        abort_.rethrow();
    } catch (const Error& e) {
        // The writer's destructor removes the unfinished file; a stream is left without its
        // footer, which every reader rejects as truncated.
        writer_.reset();
        std::string message =
            options_.file == "-"
                ? fmt::format(
                      "{}\nthe archive on standard output is incomplete (no footer): "
                      "a restore of it will fail",
                      e.what())
                : fmt::format("{}\nno archive was written to {}", e.what(), options_.file);
        writeReport(abort_.interrupted() ? "interrupted" : "failed", message);
        throw Error(message, e.code());
    }
    progress_.printSummary();
    uint64_t raw = 0;
    for (const auto& r : results_) {
        raw += r.raw_bytes;
    }
    progress_.info(fmt::format("wrote {}: {} ({} of rows before compression, {} frames, {})",
                               options_.file == "-" ? "standard output" : options_.file,
                               formatBytes(static_cast<double>(writer_->bytesWritten())),
                               formatBytes(static_cast<double>(raw)), writer_->frameCount(),
                               writer_->backendName()));
    writeReport("ok", "");
}

void DumpRun::openArchive() {
    archive::ArchiveWriterOptions opts;
    opts.io = options_.io;
    opts.level = options_.compression_level;
    opts.writer_name = "pgsluice 0.1.0";
    if (options_.file == "-") {
        writer_.emplace(io::FileDescriptor::borrow(STDOUT_FILENO), "standard output", opts);
    } else {
        writer_.emplace(archive::ArchiveWriter::create(options_.file, opts));
    }
    progress_.info(fmt::format("writing {} through {}", writer_->name(), writer_->backendName()),
                   true);
}

void DumpRun::writeSchema() {
    TempDir work("pgsluice-dump");
    std::string path = work.path() + "/schema.dump";
    pg::SchemaTool tool(catalog_.server_version);
    tool.dump(snapshot_->control(), snapshot_->id(), path, prepared_.selection.pg_dump_args);
    toc_ = tool.list(path);
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
        throw Error(fmt::format("cannot read pg_dump's output {}", path));
    }
    writer_->appendBlob(archive::FrameType::schema, schema_stream, bytes.str());
}

void DumpRun::writeContents() {
    Contents& c = contents_;
    c.writer = "pgsluice 0.1.0";
    c.source = source_;
    c.selection = options_.selection_args;
    if (prepared_.sanitizing) {
        c.rules_hash = prepared_.sanitizing->rules_hash;
    }
    c.compression_level = options_.compression_level;
    c.jobs = std::max(1, std::min<int>(options_.jobs, static_cast<int>(plan_.units.size())));
    // The catalogue of what the archive holds: restore selects from it and loads from it.
    pg::Catalog& cat = c.catalog;
    cat.server_version = catalog_.server_version;
    cat.database = catalog_.database;
    cat.block_size = catalog_.block_size;
    cat.schemas = catalog_.schemas;
    cat.other_relations = catalog_.other_relations;
    const SelectionResult& sel = prepared_.selection;
    std::map<uint32_t, size_t> planned;  // table oid -> plan table
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
        planned[plan_.tables[i].table->oid] = i;
    }
    for (const auto& t : catalog_.tables) {
        if (sel.skip.count(t.oid)) {
            continue;
        }
        cat.tables.push_back(t);
        ArchivedTable a;
        a.oid = t.oid;
        a.format = t.binary_safe ? "binary" : "text";
        a.with_data = t.holdsData() && !sel.schema_only.count(t.oid);
        if (a.with_data) {
            for (size_t u = 0; u < plan_.units.size(); ++u) {
                const WorkUnit& unit = plan_.units[u];
                if (plan_.tables[unit.table].table->oid == t.oid) {
                    a.units.push_back(
                        {static_cast<uint32_t>(u), unit.part, unit.parts, unit.estimated_bytes});
                }
            }
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
    for (const auto& fk : catalog_.foreign_keys) {
        if (!sel.skip.count(fk.table) && !sel.skip.count(fk.referenced) &&
            !prepared_.dropped_foreign_keys.count(fk.oid)) {
            cat.foreign_keys.push_back(fk);
        }
    }
    for (const auto& seq : catalog_.sequences) {
        if (tocHas(toc_, "SEQUENCE", seq.oid)) {
            cat.sequences.push_back(seq);
        }
    }
    for (uint32_t oid : catalog_.large_objects) {
        if (tocHas(toc_, "BLOB", oid)) {
            cat.large_objects.push_back(oid);
        }
    }
    if (!cat.large_objects.empty()) {
        c.large_object_unit = static_cast<uint32_t>(plan_.units.size());
    }
    writer_->appendBlob(archive::FrameType::manifest, contents_stream, toJson(c));
}

void DumpRun::dumpData() {
    progress_.start(plan_);
    results_.assign(plan_.units.size(), UnitResult{});
    int n = std::max(1, std::min<int>(options_.jobs, static_cast<int>(plan_.units.size())));
    std::vector<std::thread> workers;
    for (int w = 0; w < n; ++w) {
        workers.emplace_back([this] {
            abort_.capture([&] {
                pg::Connection src = snapshot_->openReader();
                Watch watch_src(abort_, src);
                archive::FrameEncoder encoder(options_.compression_level);
                for (;;) {
                    abort_.check();
                    size_t i = next_unit_.fetch_add(1);
                    if (i >= plan_.units.size()) {
                        return;
                    }
                    dumpUnit(src, encoder, i);
                }
            });
            // A thread's writes still in flight when it ends would be cancelled.
            abort_.capture([&] { writer_->settle(); });
        });
    }
    for (auto& t : workers) {
        t.join();
    }
}

void DumpRun::dumpUnit(pg::Connection& src, archive::FrameEncoder& encoder, size_t i) {
    const WorkUnit& unit = plan_.units[i];
    const pg::Table& table = *plan_.tables[unit.table].table;
    uint32_t id = static_cast<uint32_t>(i);
    progress_.unitStarted(unit.table);
    FrameBuilder frames(*writer_, encoder, id);
    std::string& buf = frames.buffer();
    RowDigest digest;
    try {
        if (table.binary_safe) {
            // Frames hold whole rows without the stream's header and trailer; rows of a ruled
            // table are rewritten before they reach the buffer, so the archive never holds the
            // raw values.
            const sanitize::TableSanitizer* rules =
                prepared_.sanitizing ? prepared_.sanitizing->forTable(table) : nullptr;
            std::optional<sanitize::RowRewriter> rewriter;
            if (rules) {
                rewriter.emplace(*rules);
            }
            copy::RowSplitter splitter(
                copy::SplitterOptions{static_cast<int>(table.columns.size())});
            readUnit(src, table, unit, [&](std::string_view chunk) {
                splitter.feed(copy::asBytes(chunk), [&](const copy::Row& row) {
                    size_t start = buf.size();
                    if (rewriter) {
                        rewriter->rewrite(row.bytes, buf, row.number);
                    } else {
                        buf.append(copy::asText(row.bytes));
                    }
                    digest.addRow(std::string_view(buf).substr(start));
                    frames.rowAdded();
                });
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            });
            splitter.finish();
        } else {
            // COPY text: one row per line; frames end at line ends.
            StreamDigest lines(false);
            readUnit(src, table, unit, [&](std::string_view chunk) {
                uint64_t before = lines.digest().rows;
                lines.feed(chunk);
                buf.append(chunk);
                frames.addRows(lines.digest().rows - before);
                if (size_t end = buf.rfind('\n'); buf.size() >= kFrameBytes && end != buf.npos) {
                    frames.flush(end + 1);
                }
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            });
            lines.finish();
            digest = lines.digest();
        }
        frames.flush(buf.size());
        writer_->endUnit(id);
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        abort_.rethrowWith(e, "dumping " + describeUnit(table, unit));
    }
    results_[i] = {id, digest, frames.rawBytes()};
    progress_.unitDone(unit.table, static_cast<long long>(digest.rows));
}

void DumpRun::dumpLargeObjects() {
    if (!contents_.large_object_unit) {
        return;
    }
    archive::FrameEncoder encoder(options_.compression_level);
    FrameBuilder frames(*writer_, encoder, *contents_.large_object_unit);
    readLargeObjects(snapshot_->control(), contents_.catalog.large_objects, abort_,
                     [&](const LargeObjectChunk& chunk) {
                         appendLargeObjectChunk(frames.buffer(), chunk);
                         large_object_bytes_ += chunk.bytes.size();
                         frames.rowAdded();
                     });
    frames.flush(frames.buffer().size());
    writer_->endUnit(*contents_.large_object_unit);
    progress_.info(fmt::format("dumped {} large objects ({})",
                               contents_.catalog.large_objects.size(),
                               formatBytes(static_cast<double>(large_object_bytes_))));
}

void DumpRun::writeResults(double seconds) {
    Results r;
    r.units = results_;
    r.sequences = readSequenceValues(snapshot_->control(), contents_.catalog.sequences);
    r.large_objects = contents_.catalog.large_objects.size();
    r.large_object_bytes = large_object_bytes_;
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    r.finished = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    r.seconds = seconds;
    writer_->appendBlob(archive::FrameType::manifest, results_stream, toJson(r));
}

void DumpRun::writeReport(const std::string& status, const std::string& error) {
    progress_.writeReport(
        options_.report_file, "dump",
        [&](nlohmann::ordered_json& report) {
            report["archive"] = options_.file;
            if (writer_) {
                report["archive_bytes"] = writer_->bytesWritten();
                report["io"] = writer_->backendName();
            }
            report["compression_level"] = options_.compression_level;
            if (prepared_.sanitizing) {
                report["rules_hash"] = prepared_.sanitizing->rules_hash;
            }
        },
        status, error);
}

}  // namespace

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

void runDump(const DumpOptions& options) {
    if (options.jobs < 1) {
        throw UsageError("--jobs must be at least 1");
    }
    DumpRun run(options);
    run.run();
}

}  // namespace pgsluice::engine
