#include "pgsluice/engine/copy_job.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/guards.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/sanitizing.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/engine/sql_pool.hpp"
#include "pgsluice/engine/swap.hpp"
#include "pgsluice/engine/target.hpp"
#include "pgsluice/engine/verify_job.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

namespace {

// One copy run: owns the snapshot, the plan and the workers.
class CopyRun {
  public:
    explicit CopyRun(const CopyOptions& options)
        : options_(options), progress_(options.progress, options.verbose, options.quiet) {}

    // Runs every phase; throws the first failure with the state the target is left in.
    void run();

  private:
    void copyData();
    void verifyCopy();
    void dataWorker();
    void copyUnit(pg::Connection& src, pg::Connection& dst, const WorkUnit& unit);
    void tableLoaded(size_t table);
    void copySequences(pg::Connection& target);
    void copyLargeObjects(pg::Connection& target);
    void writeReport(const std::string& status, const std::string& error);

    const CopyOptions& options_;
    AbortSignal abort_;
    Progress progress_;
    std::optional<pg::Snapshot> snapshot_;
    pg::Catalog catalog_;
    Plan plan_;
    SelectionResult selection_;
    filter::SelectionOptions selection_options_;  // the options plus the rules' exclusions
    std::unique_ptr<Sanitizing> sanitizing_;
    std::vector<pg::TocEntry> toc_;
    std::atomic<size_t> next_unit_{0};
    std::unique_ptr<SqlPool> index_pool_;
    TargetState state_ = TargetState::untouched;
    std::string target_database_;  // --swap: the new database loaded instead of the target's
};

void CopyRun::run() {
    SignalWatcher signals(abort_);
    std::optional<Swap> swap;
    try {
        progress_.phase("connect");
        snapshot_.emplace(pg::Snapshot::exportFrom(options_.source));
        Watch watch_source(abort_, snapshot_->control());
        ServerIdentity source_id = identify(snapshot_->control());
        if (options_.swap) {
            // The guards judge the live database, not the new one the run loads into.
            swap.emplace(Swap::open(options_.target));
            ServerIdentity live = identify(swap->server());
            live.database = swap->liveName();
            refuseSelfCopy(source_id, live);
            refuseProtected(live, protectPatterns(options_.protect));
            if (swap->liveExists()) {
                confirmOverwrite(swap->server(), swap->liveName(), "copy --swap", options_.yes);
            }
            if (std::string w = swap->create(); !w.empty()) {
                progress_.warn(w);
            }
            target_database_ = swap->newName();
            progress_.info(fmt::format("--swap: loading into new database {}", target_database_));
        }
        // Every connection to the target lives in this block, so none is left on the new
        // database when --swap renames it.
        {
            pg::Connection target = openTargetSession(options_.target, target_database_);
            Watch watch_target(abort_, target);
            if (!options_.swap) {
                ServerIdentity target_id = identify(target);
                refuseSelfCopy(source_id, target_id);
                refuseProtected(target_id, protectPatterns(options_.protect));
            }
            catalog_ = pg::loadCatalog(snapshot_->control());
            progress_.info(
                fmt::format("source {} (snapshot {}), target {}", snapshot_->control().describe(),
                            snapshot_->id(), target.describe()),
                true);
            selection_options_ = options_.selection;
            std::optional<sanitize::Rules> rules;
            if (!options_.rules_file.empty()) {
                rules = loadRules(options_.rules_file, selection_options_);
            }
            selection_ = applySelection(catalog_, selection_options_);
            for (const auto& w : selection_.warnings) {
                progress_.warn(w);
            }
            std::set<uint32_t> dropped_fks;
            if (!selection_.dangling.empty()) {
                if (!options_.drop_dangling_foreign_keys) {
                    throw UsageError(danglingMessage(selection_.dangling));
                }
                for (const auto& d : selection_.dangling) {
                    progress_.warn(fmt::format("not copying foreign key {} on {}: {} ({})",
                                               d.key->name, d.table, d.referenced, d.reason));
                    dropped_fks.insert(d.key->oid);
                }
            }
            if (rules) {
                // Every rule is checked before the target is touched: a typo must not let
                // personal data through.
                sanitizing_ = checkRules(std::move(*rules), catalog_, selection_);
                for (const auto& w : sanitizing_->plan.warnings) {
                    progress_.warn(w);
                }
                progress_.info(
                    fmt::format("--rules: rewriting columns of {} tables (rules hash {})",
                                sanitizing_->plan.tables.size(), sanitizing_->rules_hash));
            }
            if (options_.swap) {
                // The new database is empty by construction.
            } else if (!options_.clean) {
                requireEmptyTarget(target);
            } else {
                confirmOverwrite(target, PQdb(target.raw()), "copy --clean", options_.yes);
            }
            plan_ = makePlan(catalog_, PlanOptions{options_.split_bytes}, selection_);
            abort_.check();

            progress_.phase("schema");
            TempDir work("pgsluice-copy");
            std::string archive = work.path() + "/schema.dump";
            pg::SchemaTool tool(catalog_.server_version);
            tool.dump(snapshot_->control(), snapshot_->id(), archive, selection_.pg_dump_args);
            toc_ = tool.list(archive);
            pg::RestoreOptions restore{options_.no_owner, options_.no_privileges,
                                       options_.index_jobs};
            abort_.check();
            state_ = TargetState::schema_partial;
            if (options_.clean && !options_.swap) {
                for (const auto& w : cleanTarget(target, tool, archive, restore)) {
                    progress_.warn(w);
                }
            }
            tool.restore(target, archive, "pre-data", restore, "");
            state_ = TargetState::schema_loaded;
            abort_.check();

            progress_.phase("data");
            copyData();
            abort_.rethrow();

            progress_.phase("sequences");
            attachIndexes(target, plan_);
            copySequences(target);
            copyLargeObjects(target);
            abort_.check();

            progress_.phase("constraints");
            state_ = TargetState::data_loaded;
            std::string list = writePostDataList(toc_, catalog_, dropped_fks, work.path());
            tool.restore(target, archive, "post-data", restore, list);
            abort_.check();

            if (!options_.skip_analyze) {
                progress_.phase("analyze");
                analyzeTables(options_.target, target_database_, catalog_, selection_.skip,
                              options_.index_jobs, abort_);
                abort_.rethrow();
            }
            if (options_.verify) {
                progress_.phase("verify");
                verifyCopy();
            }
            // After verify: the after statements change rows on purpose.
            if (sanitizing_ && !sanitizing_->rules.after.empty()) {
                progress_.phase("after");
                runAfterStatements(target, sanitizing_->rules);
            }
        }
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
    } catch (const Error& e) {
        abort_.fail(std::current_exception());
    } catch (const std::exception& e) {
        abort_.fail(std::make_exception_ptr(Error(e.what())));
    }
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
        std::string message = fmt::format("{}\n{}", e.what(), state);
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

void CopyRun::verifyCopy() {
    pg::Snapshot target =
        pg::Snapshot::exportFrom(options_.target, pg::Role::target, target_database_);
    std::vector<TableVerdict> verdicts = verifyDatabases(*snapshot_, target, selection_options_,
                                                         options_.jobs, abort_, sanitizing_.get());
    std::vector<std::string> differing;
    std::string text = formatVerdicts(verdicts, false, differing);
    if (!differing.empty()) {
        progress_.warn(text);
        throw Error("--verify: " + differMessage(differing));
    }
    progress_.info(fmt::format("verified: all {} tables agree with the source", verdicts.size()));
}

void CopyRun::copyData() {
    progress_.start(plan_);
    int indexes = 0;
    for (const auto& pt : plan_.tables) {
        indexes += static_cast<int>(pt.table->indexes.size());
    }
    progress_.setIndexCount(indexes);
    index_pool_ = std::make_unique<SqlPool>(
        options_.index_jobs,
        [this] { return openTargetSession(options_.target, target_database_); }, abort_,
        [this](const SqlTask& task, double secs) {
            progress_.indexBuilt();
            progress_.info(fmt::format("built {} in {:.1f}s", task.label, secs), true);
        });
    // Tables whose rows stay behind get their indexes at once.
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
        if (!plan_.tables[i].with_data) {
            tableLoaded(i);
        }
    }
    std::vector<std::thread> workers;
    int n = std::max(1, std::min<int>(options_.jobs, static_cast<int>(plan_.units.size())));
    for (int w = 0; w < n; ++w) {
        workers.emplace_back([this] { dataWorker(); });
    }
    for (auto& t : workers) {
        t.join();
    }
    if (!abort_.aborted()) {
        progress_.phase("indexes");
    }
    index_pool_->close();
    index_pool_->join();
    index_pool_.reset();
}

void CopyRun::dataWorker() {
    try {
        pg::Connection src = snapshot_->openReader();
        Watch watch_src(abort_, src);
        pg::Connection dst = openTargetSession(options_.target, target_database_);
        Watch watch_dst(abort_, dst);
        for (;;) {
            abort_.check();
            size_t i = next_unit_.fetch_add(1);
            if (i >= plan_.units.size()) {
                return;
            }
            copyUnit(src, dst, plan_.units[i]);
        }
    } catch (...) {
        abort_.fail(std::current_exception());
    }
}

void CopyRun::copyUnit(pg::Connection& src, pg::Connection& dst, const WorkUnit& unit) {
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
        src.beginCopyOut(copyOutSql(table, unit));
        dst.beginCopyIn(copyInSql(table, freeze));
        const sanitize::TableSanitizer* rules =
            sanitizing_ ? sanitizing_->forTable(table) : nullptr;
        std::string_view chunk;
        if (!rules) {
            while (src.getCopyData(chunk)) {
                dst.putCopyData(chunk);
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            }
        } else {
            // Ruled tables: parse rows, rewrite the ruled fields, send in batches.
            constexpr size_t kBatch = 256 * 1024;
            StreamRewriter rewriter(*rules);
            std::string out;
            out.reserve(kBatch * 2);
            while (src.getCopyData(chunk)) {
                rewriter.feed(chunk, out);
                progress_.addBytes(unit.table, static_cast<long long>(chunk.size()));
                if (out.size() >= kBatch) {
                    dst.putCopyData(out);
                    out.clear();
                }
                if (abort_.aborted()) {
                    throw Cancelled("stopped");
                }
            }
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
        if (abort_.aborted()) {
            throw Cancelled("stopped");
        }
        std::string part =
            unit.parts > 1 ? fmt::format(" (part {} of {})", unit.part + 1, unit.parts) : "";
        throw Error(fmt::format("copying table {}{}: {}", table.qualified, part, e.what()));
    }
}

void CopyRun::tableLoaded(size_t table) {
    const pg::Table& t = *plan_.tables[table].table;
    for (const auto& idx : t.indexes) {
        index_pool_->push({fmt::format("index {} of {}", idx.name, t.qualified), idx.create_sql});
    }
}

void CopyRun::copySequences(pg::Connection& target) {
    std::string sql;
    for (const auto& seq : catalog_.sequences) {
        if (!tocHas(toc_, "SEQUENCE", seq.oid)) {
            continue;  // not selected: pg_dump did not create it
        }
        pg::Result res =
            snapshot_->control().exec("SELECT last_value, is_called FROM " + seq.qualified);
        sql +=
            fmt::format("SELECT pg_catalog.setval({}, {}, {});", target.quoteLiteral(seq.qualified),
                        res.get(0, 0), res.getBool(0, 1) ? "true" : "false");
    }
    if (!sql.empty()) {
        target.exec(sql);
    }
}

void CopyRun::copyLargeObjects(pg::Connection& target) {
    if (catalog_.large_objects.empty()) {
        return;
    }
    constexpr long long kChunk = 1 << 20;
    long long total = 0;
    size_t count = 0;
    target.exec("BEGIN");
    for (uint32_t oid : catalog_.large_objects) {
        if (!tocHas(toc_, "BLOB", oid)) {
            continue;  // pg_dump leaves large objects out under -t/-n, and so do we
        }
        ++count;
        for (long long offset = 0;; offset += kChunk) {
            abort_.check();
            pg::Result chunk = snapshot_->control().execParams(
                "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::bigint, $3::int)",
                {std::to_string(oid), std::to_string(offset), std::to_string(kChunk)});
            std::string_view hex = chunk.get(0, 0);  // \x...: two characters per byte
            long long bytes = hex.size() > 2 ? static_cast<long long>(hex.size() - 2) / 2 : 0;
            if (bytes > 0) {
                target.execParams("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2, $3::bytea)",
                                  {std::to_string(oid), std::to_string(offset), std::string(hex)});
            }
            total += bytes;
            if (bytes < kChunk) {
                break;
            }
        }
    }
    target.exec("COMMIT");
    progress_.info(fmt::format("copied {} large objects ({})", count,
                               formatBytes(static_cast<double>(total))));
}

void CopyRun::writeReport(const std::string& status, const std::string& error) {
    if (options_.report_file.empty()) {
        return;
    }
    nlohmann::ordered_json report = progress_.report();
    report["command"] = "copy";
    if (sanitizing_) {
        report["rules_hash"] = sanitizing_->rules_hash;
    }
    report["status"] = status;
    if (!error.empty()) {
        report["error"] = error;
    }
    report["target_state"] = describeState(state_);
    std::ofstream out(options_.report_file);
    out << report.dump(2) << "\n";
    if (!out) {
        progress_.warn(fmt::format("cannot write the report to {}", options_.report_file));
    }
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
