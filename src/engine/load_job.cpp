#include "pgsluice/engine/load_job.hpp"

#include <fmt/format.h>

#include <fstream>
#include <thread>

#include "pgsluice/engine/sanitizing.hpp"
#include "pgsluice/engine/swap.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"

namespace pgsluice::engine {

LoadRun::LoadRun(const LoadOptions& options, std::string command)
    : options_(options),
      command_(std::move(command)),
      progress_(options.progress, options.verbose, options.quiet) {}

LoadRun::~LoadRun() = default;

pg::Connection LoadRun::openTarget() {
    return openTargetSession(options_.target, target_database_);
}

void LoadRun::run() {
    SignalWatcher signals(abort_);
    std::optional<Swap> swap;
    abort_.capture([&] {
        progress_.phase("connect");
        ServerIdentity source_id = openSource();
        if (options_.swap) {
            // The guards judge the live database, not the new one the run loads into.
            swap.emplace(Swap::open(options_.target));
            ServerIdentity live = identify(swap->server());
            live.database = swap->liveName();
            refuseSelfCopy(source_id, live);
            refuseProtected(live, protectPatterns(options_.protect));
            if (swap->liveExists()) {
                confirmOverwrite(swap->server(), swap->liveName(), command_ + " --swap",
                                 options_.yes);
            }
            if (std::string w = swap->create(); !w.empty()) {
                progress_.warn(w);
            }
            target_database_ = swap->newName();
            progress_.info(fmt::format("--swap: loading into new database {}", target_database_));
        }
        loadTarget(source_id, swap.has_value());
        if (swap) {
            progress_.phase("swap");
            std::string old_name;
            double unavailable =
                swap->commit(options_.terminate_connections, options_.swap_wait_seconds,
                             options_.keep_old, old_name);
            progress_.info(fmt::format(
                "--swap: {} now holds the new copy; it was unavailable for {:.3f} s{}",
                swap->liveName(), unavailable,
                old_name.empty() ? "" : fmt::format("; the old one is kept as {}", old_name)));
        }
        state_ = TargetState::complete;
        progress_.endPhase();
    });
    progress_.endPhase();
    progress_.stop();
    try {
        abort_.rethrow();
    } catch (const Error& e) {
        std::string state = describeState(state_);
        if (swap && state_ != TargetState::complete) {
            std::string problem = swap->abandon();
            state = problem.empty()
                        ? fmt::format(
                              "--swap: the new database was dropped; {} is exactly as it "
                              "was.",
                              swap->liveName())
                        : fmt::format("--swap: {} is exactly as it was, but {}.", swap->liveName(),
                                      problem);
        }
        std::string details = failureDetails();
        std::string message = details.empty() ? fmt::format("{}\n{}", e.what(), state)
                                              : fmt::format("{}\n{}\n{}", e.what(), details, state);
        writeReport(abort_.interrupted() ? "interrupted" : "failed", message);
        if (state_ != TargetState::untouched) {
            progress_.printSummary();
        }
        if (e.code() == ExitCode::usage) {
            throw UsageError(message);
        }
        throw Error(message, e.code());
    }
    progress_.printSummary();
    writeReport("ok", "");
}

// Every connection to the target lives in here, so none is left on the new database when
// --swap renames it.
void LoadRun::loadTarget(const ServerIdentity& source_id, bool swapping) {
    pg::Connection target = openTarget();
    Watch watch_target(abort_, target);
    if (!swapping) {
        ServerIdentity target_id = identify(target);
        refuseSelfCopy(source_id, target_id);
        refuseProtected(target_id, protectPatterns(options_.protect));
    }
    catalog_ = readCatalog();
    progress_.info(fmt::format("source {}, target {}", describeSource(), target.describe()), true);
    prepared_ = prepareRun(catalog_, options_.selection, options_.rules_file,
                           options_.drop_dangling_foreign_keys, progress_);
    for (uint32_t oid : tablesWithoutData()) {
        if (!prepared_.selection.skip.count(oid)) {
            prepared_.selection.schema_only.insert(oid);
        }
    }
    if (swapping) {
        // The new database is empty by construction.
    } else if (!options_.clean) {
        requireEmptyTarget(target);
    } else {
        confirmOverwrite(target, PQdb(target.raw()), command_ + " --clean", options_.yes);
    }
    plan_ = planLoad();
    abort_.check();

    progress_.phase("schema");
    TempDir work("pgsluice-" + command_);
    std::string archive = work.path() + "/schema.dump";
    writeSchema(archive);
    pg::SchemaTool tool(catalog_.server_version);
    toc_ = tool.list(archive);
    leave_out_ = leftOutEntries(toc_, prepared_.selection);
    for (const auto& e : toc_) {
        // Foreign keys the dump already left out (--drop-dangling-foreign-keys), and large
        // objects when -t/-n narrowed the selection, as pg_dump does.
        bool dropped_fk = e.desc == "FK CONSTRAINT" && !catalog_.hasForeignKey(e.oid);
        bool large_object = e.desc == "BLOB" && !prepared_.selection.include_everything;
        if (dropped_fk || large_object) {
            leave_out_.insert(e.dump_id);
        }
    }
    std::string pre_list =
        leave_out_.empty() ? "" : writeRestoreList(toc_, leave_out_, work.path(), "pre-data.list");
    pg::RestoreOptions restore{options_.no_owner, options_.no_privileges, options_.index_jobs};
    abort_.check();
    state_ = TargetState::schema_partial;
    if (options_.clean && !swapping) {
        for (const auto& w : cleanTarget(target, tool, archive, restore, pre_list)) {
            progress_.warn(w);
        }
    }
    tool.restore(target, archive, "pre-data", restore, pre_list);
    state_ = TargetState::schema_loaded;
    abort_.check();

    progress_.phase("data");
    loadData();
    abort_.rethrow();

    progress_.phase("sequences");
    attachIndexes(target, plan_);
    setSequences(target);
    moveLargeObjects(target);
    abort_.check();

    progress_.phase("constraints");
    state_ = TargetState::data_loaded;
    std::string list =
        writePostDataList(toc_, catalog_, prepared_.dropped_foreign_keys, leave_out_, work.path());
    tool.restore(target, archive, "post-data", restore, list);
    abort_.check();

    if (!options_.skip_analyze) {
        progress_.phase("analyze");
        // What the data phase did not analyze: partitioned parents, materialized views.
        std::set<uint32_t> skip = prepared_.selection.skip;
        for (const auto& pt : plan_.tables) {
            skip.insert(pt.table->oid);  // each got its ANALYZE once its indexes were built
        }
        analyzeTables(options_.target, target_database_, catalog_, skip, options_.index_jobs,
                      abort_);
        abort_.rethrow();
    }
    if (options_.verify) {
        progress_.phase("verify");
        verifyLoad();
    }
    // After verify: the after statements change rows on purpose.
    if (prepared_.sanitizing && !prepared_.sanitizing->rules.after.empty()) {
        progress_.phase("after");
        runAfterStatements(target, prepared_.sanitizing->rules);
    }
}

bool LoadRun::wantsEntry(std::string_view desc, uint32_t oid) const {
    const pg::TocEntry* entry = findTocEntry(toc_, desc, oid);
    return entry && !leave_out_.count(entry->dump_id);
}

void LoadRun::loadData() {
    progress_.start(plan_);
    int indexes = 0;
    for (const auto& pt : plan_.tables) {
        indexes += static_cast<int>(pt.table->indexes.size());
    }
    progress_.setIndexCount(indexes);
    indexes_left_.assign(plan_.tables.size(), 0);
    index_pool_ = std::make_unique<SqlPool>(
        options_.index_jobs, [this] { return openTarget(); }, abort_,
        [this](const SqlTask& task, double secs) {
            progress_.info(fmt::format("{} took {:.1f}s", task.label, secs), true);
            if (task.tag < 0) {
                return;  // an ANALYZE
            }
            progress_.indexBuilt();
            bool last = false;
            {
                std::lock_guard lock(indexes_mutex_);
                last = --indexes_left_[static_cast<size_t>(task.tag)] == 0;
            }
            if (last) {
                // Runs on this pool thread next, so pushing after close() is fine.
                analyzeLater(static_cast<size_t>(task.tag));
            }
        });
    // Tables whose rows stay behind get their indexes at once.
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
        if (!plan_.tables[i].with_data) {
            tableLoaded(i);
        }
    }
    try {
        moveData();
    } catch (...) {
        abort_.fail(std::current_exception());
    }
    if (!abort_.aborted()) {
        progress_.phase("indexes");
    }
    index_pool_->close();
    index_pool_->join();
    index_pool_.reset();
}

void LoadRun::runWorkers(int n,
                         const std::function<void(int worker, pg::Connection& target)>& work) {
    std::vector<std::thread> workers;
    for (int w = 0; w < n; ++w) {
        workers.emplace_back([this, w, &work] {
            try {
                pg::Connection dst = openTarget();
                Watch watch_dst(abort_, dst);
                work(w, dst);
            } catch (...) {
                abort_.fail(std::current_exception());
            }
        });
    }
    for (auto& t : workers) {
        t.join();
    }
}

void LoadRun::loadUnit(pg::Connection& dst, const WorkUnit& unit,
                       const std::function<void(const CopySink&)>& produce) {
    const pg::Table& table = *plan_.tables[unit.table].table;
    // A table created in this run and loaded in one piece can be frozen on load: its rows are
    // visible to all at once and need no later VACUUM to set hint bits. TRUNCATE makes the
    // table "created or truncated in this transaction", which FREEZE requires.
    bool freeze = unit.parts == 1;
    progress_.unitStarted(unit.table);
    try {
        if (freeze) {
            dst.exec("BEGIN; TRUNCATE ONLY " + table.qualified);
        }
        dst.beginCopyIn(copyInSql(table, freeze));
        const sanitize::TableSanitizer* rules =
            prepared_.sanitizing ? prepared_.sanitizing->forTable(table) : nullptr;
        if (!rules) {
            produce([&](std::string_view chunk) {
                dst.putCopyData(chunk);
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            });
        } else {
            // Ruled tables: parse rows, rewrite the ruled fields, send in batches.
            constexpr size_t kBatch = 256 * 1024;
            StreamRewriter rewriter(*rules);
            std::string out;
            out.reserve(kBatch * 2);
            produce([&](std::string_view chunk) {
                rewriter.feed(chunk, out);
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (out.size() >= kBatch) {
                    dst.putCopyData(out);
                    out.clear();
                }
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            });
            rewriter.finish(out);
            dst.putCopyData(out);
        }
        long long rows = dst.endCopyIn();
        if (freeze) {
            dst.exec("COMMIT");
        }
        if (progress_.unitDone(unit.table, rows)) {
            tableLoaded(unit.table);
        }
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        abort_.rethrowWith(e, fmt::format("{} {}", command_ == "copy" ? "copying" : "loading",
                                          describeUnit(table, unit)));
    }
}

void LoadRun::tableLoaded(size_t table) {
    const pg::Table& t = *plan_.tables[table].table;
    if (t.indexes.empty()) {
        analyzeLater(table);
        return;
    }
    {
        std::lock_guard lock(indexes_mutex_);
        indexes_left_[table] = static_cast<int>(t.indexes.size());
    }
    for (const auto& idx : t.indexes) {
        index_pool_->push({fmt::format("index {} of {}", idx.name, t.qualified), idx.create_sql,
                           static_cast<int>(table)});
    }
}

// A table's statistics are gathered as soon as its rows and indexes are in (ANALYZE also
// samples expression indexes), on the index pool while other tables still load, instead of in
// a phase of its own at the end.
void LoadRun::analyzeLater(size_t table) {
    if (options_.skip_analyze) {
        return;
    }
    const pg::Table& t = *plan_.tables[table].table;
    index_pool_->push({"ANALYZE " + t.qualified, "ANALYZE " + t.qualified});
}

void LoadRun::setSequences(pg::Connection& target) {
    std::string sql;
    for (const auto& seq : sequenceValues()) {
        if (!wantsEntry("SEQUENCE", seq.oid)) {
            continue;  // not selected: not created
        }
        sql +=
            fmt::format("SELECT pg_catalog.setval({}, {}, {});", target.quoteLiteral(seq.qualified),
                        seq.last_value, seq.is_called ? "true" : "false");
    }
    if (!sql.empty()) {
        target.exec(sql);
    }
}

void LoadRun::putLargeObjectChunk(pg::Connection& target, const LargeObjectChunk& chunk) {
    if (chunk.bytes.empty()) {
        return;
    }
    // lo_put takes bytea: send it in hex, which needs no escaping.
    std::string hex = "\\x";
    appendHex(hex, chunk.bytes);
    target.execParams("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2, $3::bytea)",
                      {std::to_string(chunk.oid), std::to_string(chunk.offset), hex});
}

void LoadRun::writeReport(const std::string& status, const std::string& error) {
    progress_.writeReport(
        options_.report_file, command_,
        [&](nlohmann::ordered_json& report) {
            if (prepared_.sanitizing) {
                report["rules_hash"] = prepared_.sanitizing->rules_hash;
            }
            extendReport(report);
            report["target_state"] = describeState(state_);
        },
        status, error);
}

}  // namespace pgsluice::engine
