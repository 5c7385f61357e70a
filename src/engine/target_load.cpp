#include "pgsluice/engine/target_load.hpp"

#include <fmt/format.h>

#include "pgsluice/engine/coverage.hpp"
#include "pgsluice/engine/create_database.hpp"
#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/engine/swap.hpp"
#include "pgsluice/engine/target_steps.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/util/sizes.hpp"
#include "pgsluice/util/temp_dir.hpp"

namespace pgsluice::engine {

void requireJobs(const LoadOptions& options) {
    if (options.jobs < 1 || options.index_jobs < 1) {
        throw UsageError("--jobs and --index-jobs must be at least 1");
    }
    if (options.retries < 0 || options.stall_timeout_seconds < 0) {
        throw UsageError("--retries and --stall-timeout cannot be negative");
    }
}

std::string describeState(TargetState state) {
    switch (state) {
        case TargetState::untouched:
            return "The target was not changed.";
        case TargetState::schema_partial:
            return "The target may hold part of the schema: run again with --clean to start over.";
        case TargetState::schema_loaded:
            return "The target holds the schema and part of the data (see the tables marked "
                   "INCOMPLETE), without constraints: run again with --clean to start over.";
        case TargetState::data_loaded:
            return "The target holds all the data, but not every index, constraint or trigger: "
                   "run again with --clean to start over.";
        case TargetState::complete:
            return "The target is complete.";
    }
    return "";
}

TargetLoad::TargetLoad(const LoadOptions& options, Run& run) : options_(options), run_(run) {}

TargetLoad::~TargetLoad() = default;

pg::SchemaTool TargetLoad::schemaTool() const {
    pg::SchemaTool tool(*tools_);
    AbortSignal& abort = run_.abort();
    tool.stopWhen([&abort] { return abort.aborted(); });
    return tool;
}

RetryPolicy TargetLoad::retryPolicy() const {
    RetryPolicy policy;
    policy.retries = options_.retries;
    return policy;
}

pg::Connection TargetLoad::openTarget() const {
    return pg::Connection::open(options_.target, pg::Role::target, target_database_);
}

void TargetLoad::run(LoadSource& source) {
    Progress& progress = run_.progress();
    std::optional<Swap> swap;
    std::exception_ptr failure = run_.execute([&] {
        progress.phase("connect");
        ServerIdentity source_id = source.open();
        int version = source.serverVersion();
        tools_ = clientToolsFor(
            options_.pg_bin, version,
            fmt::format("{} {}",
                        run_.command() == "copy" ? "the source server is"
                                                 : "the archive was dumped from PostgreSQL",
                        formatServerVersion(version)),
            progress);
        readCatalogBesideSchemaDump(source, schemaTool(), options_.selection);
        if (options_.swap) {
            // The guards judge the live database, not the new one the run loads into.
            swap.emplace(Swap::open(options_.target));
            ServerIdentity live = identify(swap->server());
            live.database = swap->liveName();
            refuseSelfCopy(source_id, live);
            refuseProtected(live, protectPatterns(options_.protect));
        }
        loadAll(source, source_id, swap ? &*swap : nullptr);
        if (swap) {
            progress.phase("swap");
            std::string old_name;
            double unavailable =
                swap->commit(options_.terminate_connections, options_.swap_wait_seconds,
                             options_.keep_old, old_name);
            progress.info(fmt::format(
                "--swap: {} now holds the new copy; it was unavailable for {:.3f} s{}",
                swap->liveName(), unavailable,
                old_name.empty() ? "" : fmt::format("; the old one is kept as {}", old_name)));
        }
        state_ = TargetState::complete;
    });
    if (!failure) {
        progress.printSummary();
        writeReport(source, "ok", "");
        return;
    }
    std::string state = describeState(state_);
    if (swap && state_ != TargetState::complete) {
        // Dropping the new database must not hang on a dead link: after Ctrl-C it gets a few
        // seconds (the next run drops a leftover one anyway).
        std::string problem;
        {
            ConnectionDeadline deadline(swap->server(), run_.abort().interrupted()
                                                            ? std::chrono::seconds(3)
                                                            : std::chrono::seconds(30));
            problem = swap->abandon();
        }
        state = problem.empty()
                    ? fmt::format("--swap: the new database was dropped; {} is exactly as it was.",
                                  swap->liveName())
                    : fmt::format("--swap: {} is exactly as it was, but {}.", swap->liveName(),
                                  problem);
    }
    std::string what;
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        what = e.what();
    }
    // Said once every worker has stopped, so that it agrees with the tables reported as loaded.
    std::string details = state_ == TargetState::complete ? "" : tally_.describe(plan_);
    std::string message = details.empty() ? fmt::format("{}\n{}", what, state)
                                          : fmt::format("{}\n{}\n{}", what, details, state);
    writeReport(source, run_.abort().interrupted() ? "interrupted" : "failed", message);
    if (state_ != TargetState::untouched) {
        progress.printSummary();
    }
    Run::rethrowAs(failure, message);
}

// Every connection to the target lives in here, so none is left on the new database when
// --swap renames it.
void TargetLoad::loadAll(LoadSource& source, const ServerIdentity& source_id, Swap* swap) {
    Progress& progress = run_.progress();
    AbortSignal& abort = run_.abort();
    struct Close {
        std::optional<WatchedConnection>& target;
        ~Close() { target.reset(); }
    } close{target_};
    if (!swap) {
        openMainTarget(source_id);
    }
    catalog_ = &source.catalog();
    pg::Connection& target_server = swap             ? swap->server()
                                    : create_server_ ? *create_server_
                                                     : target_->conn;
    progress.info(fmt::format("source {}, target {}", source.describe(), target_server.describe()),
                  true);
    warnOlderTarget(target_server);
    // Every rule and pattern is checked before anything is written anywhere.
    prepared_ = prepareRun(*catalog_, options_.selection, options_.rules_file,
                           options_.drop_dangling_foreign_keys, options_.subset, progress);
    requireCoverage(*catalog_, prepared_, options_.strict, source.scanSnapshot(), &progress);
    for (uint32_t oid : source.tablesWithoutData()) {
        if (!prepared_.selection.skip.count(oid)) {
            prepared_.selection.schema_only.insert(oid);
        }
    }
    plan_ = source.plan(prepared_);
    if (swap) {
        if (swap->liveExists()) {
            confirmOverwrite(swap->server(), swap->liveName(), run_.command() + " --swap",
                             options_.yes);
        }
        if (std::string w = swap->create(catalog_->locale); !w.empty()) {
            progress.warn(w);
        }
        target_database_ = swap->newName();
        progress.info(fmt::format("--swap: loading into new database {}", target_database_));
    } else if (create_server_) {
        createTarget();
    } else if (!options_.clean) {
        requireEmptyTarget(target_->conn);
    } else {
        confirmOverwrite(target_->conn, target_->conn.database(), run_.command() + " --clean",
                         options_.yes);
    }
    abort.check();

    util::TempDir work("pgsluice-" + run_.command());
    work_dir_ = work.path();
    loadSchema(source, swap != nullptr);
    progress.phase("data");
    loadData(source);
    finishLoad(source);
}

void TargetLoad::openMainTarget(const ServerIdentity& source_id) {
    try {
        target_.emplace(openTarget(), run_.abort());
    } catch (const pg::PgError&) {
        create_server_ = maintenanceIfMissing(options_.target, create_name_);
        if (!create_server_) {
            throw;
        }
        if (!options_.create) {
            throw UsageError(fmt::format(
                "the target database \"{}\" does not exist on {}. Give --create to create it "
                "(with the source's encoding and locale), or --swap to load into a new database "
                "that takes its name once the load is complete.",
                create_name_, create_server_->describe()));
        }
    }
    ServerIdentity target_id;
    if (target_) {
        target_id = identify(target_->conn);
    } else {
        target_id = identify(*create_server_);
        target_id.database = create_name_;
    }
    refuseSelfCopy(source_id, target_id);
    refuseProtected(target_id, protectPatterns(options_.protect));
}

void TargetLoad::createTarget() {
    const pg::DatabaseLocale& locale = catalog_->locale;
    createDatabase(*create_server_, create_name_, locale);
    run_.progress().info(
        fmt::format("--create: created database {} with {}", create_name_, describeLocale(locale)));
    if (locale.encoding.empty()) {
        run_.progress().warn(
            "--create: the archive does not record the source database's encoding and locale "
            "(written by an older pgsluice), so the new database has the server's defaults");
    }
    create_server_.reset();
    target_.emplace(openTarget(), run_.abort());
}

void TargetLoad::warnOlderTarget(pg::Connection& target_server) {
    int source = catalog_->server_version;
    int target = target_server.serverVersion();
    if (target / 10000 < source / 10000) {
        run_.progress().warn(fmt::format(
            "the target server is PostgreSQL {}, older than the source's {}: pg_restore {} may "
            "write DDL it does not accept",
            formatServerVersion(target), formatServerVersion(source),
            pg::majorName(tools_->version)));
    }
}

void TargetLoad::step(const std::string& what,
                      const std::function<void(pg::Connection&, int attempt)>& body) {
    withRetries(
        retryPolicy(), run_.abort(), run_.progress(), what,
        [&](int attempt) {
            if (!target_) {
                target_.emplace(openTarget(), run_.abort());
            }
            body(target_->conn, attempt);
        },
        [&] { target_.reset(); });
}

void TargetLoad::loadSchema(LoadSource& source, bool swapping) {
    run_.progress().phase("schema");
    schema_archive_ = work_dir_ + "/schema.dump";
    pg::SchemaTool tool = schemaTool();
    source.writeSchema(tool, schema_archive_, prepared_.selection);
    toc_ = tool.list(schema_archive_);
    leave_out_ =
        pg::leftOutEntries(toc_, prepared_.selection.skip, prepared_.selection.excluded_schemas);
    for (const auto& e : toc_) {
        // Foreign keys the dump already left out (--drop-dangling-foreign-keys), and large
        // objects when -t/-n narrowed the selection, as pg_dump does.
        bool dropped_fk = e.desc == "FK CONSTRAINT" && !catalog_->hasForeignKey(e.oid);
        bool large_object = e.desc == "BLOB" && !prepared_.selection.include_everything;
        if (dropped_fk || large_object) {
            leave_out_.insert(e.dump_id);
        }
    }
    std::string pre_list = leave_out_.empty()
                               ? ""
                               : pg::writeRestoreList(toc_, leave_out_, work_dir_, "pre-data.list");
    pg::RestoreFlags flags{options_.no_owner, options_.no_privileges, options_.index_jobs};
    run_.abort().check();
    state_ = TargetState::schema_partial;
    if (options_.clean && !swapping) {
        // Every drop is IF EXISTS: running them again is harmless.
        step("--clean", [&](pg::Connection& target, int) {
            for (const auto& w : cleanTarget(target, tool, schema_archive_, flags, pre_list)) {
                run_.progress().warn(w);
            }
        });
    }
    // Statement by statement, as pg_restore does without --single-transaction, so that a
    // target at the default max_locks_per_transaction takes any number of tables. A failed
    // attempt leaves part of the schema: the next one drops it first (what --clean drops).
    step("the pre-data schema", [&](pg::Connection& target, int attempt) {
        if (attempt > 1) {
            for (const auto& w : cleanTarget(target, tool, schema_archive_, flags, pre_list)) {
                run_.progress().info(w, true);
            }
        }
        restorePreData(tool, target, flags);
    });
    state_ = TargetState::schema_loaded;
    run_.abort().check();
}

// pre-data in dependency waves: the entries of a wave depend only on earlier waves, so they are
// cut into --index-jobs lists restored side by side by as many pg_restore processes. A wave
// too small to be worth more processes (each reads the archive's whole table of contents)
// runs in one.
void TargetLoad::restorePreData(const pg::SchemaTool& tool, pg::Connection& target,
                                const pg::RestoreFlags& flags) {
    constexpr size_t kGroupsPerProcess = 200;
    pg::RestoreWaves plan = pg::restoreWaves(toc_, leave_out_);
    for (size_t w = 0; w < plan.waves.size(); ++w) {
        const auto& groups = plan.waves[w];
        size_t n = std::clamp<size_t>(groups.size() / kGroupsPerProcess, 1,
                                      static_cast<size_t>(options_.index_jobs));
        std::vector<std::vector<size_t>> slices(n, plan.session);
        for (size_t g = 0; g < groups.size(); ++g) {
            slices[g % n].insert(slices[g % n].end(), groups[g].begin(), groups[g].end());
        }
        std::vector<std::string> lists;
        for (size_t i = 0; i < n; ++i) {
            lists.push_back(pg::writeRestoreSubset(toc_, slices[i], work_dir_,
                                                   fmt::format("pre-data-{}-{}.list", w, i)));
        }
        runParallel(static_cast<int>(n), run_.abort(), [&](int i) {
            tool.restore(target, schema_archive_, "pre-data", flags, lists[static_cast<size_t>(i)]);
        });
    }
}

void TargetLoad::loadData(LoadSource& source) {
    Progress& progress = run_.progress();
    progress.start(plan_);
    int indexes = 0;
    for (const auto& pt : plan_.tables) {
        indexes += static_cast<int>(pt.table->indexes.size());
    }
    progress.setIndexCount(indexes);
    tally_.start(plan_);
    LargeObjectSink large_objects([this] { return openTarget(); },
                                  [this](uint32_t oid) { return wantsEntry("BLOB", oid); },
                                  run_.abort());
    DataSettings settings{options_.jobs,
                          options_.index_jobs,
                          options_.skip_analyze,
                          prepared_.sanitizing.get(),
                          run_.command() == "copy" ? "copying" : "loading",
                          retryPolicy(),
                          std::chrono::seconds(options_.stall_timeout_seconds)};
    DataPhase data(
        plan_, settings, [this] { return openTarget(); }, run_, tally_);
    UnitFeed& feed = source.feed(plan_, large_objects);
    data.run(feed);
    attached_ = data.attached();
    source.checkData();

    progress.phase("sequences");
    // The large objects: after the data phase, as pg_restore does (their chunks may have come
    // with the data, from a pipe: then they are not read again).
    RetryPolicy policy = retryPolicy();
    if (!feed.canReread()) {
        policy.retries = 0;
    }
    withRetries(
        policy, run_.abort(), progress, "the large objects",
        [&](int) {
            source.readLargeObjects(large_objects);
            large_objects.commit();
        },
        [&] { large_objects.reset(); });
    if (large_objects.objects() > 0) {
        progress.info(fmt::format("{} {} large objects ({})",
                                  run_.command() == "copy" ? "copied" : "loaded",
                                  large_objects.objects(),
                                  util::formatBytes(static_cast<double>(large_objects.bytes()))));
    }
}

void TargetLoad::finishLoad(LoadSource& source) {
    Progress& progress = run_.progress();
    AbortSignal& abort = run_.abort();
    std::vector<std::string> attach = attachSql(plan_, attached_);
    size_t attached = 0;  // chunks committed, so that a retry goes on from the next one
    CommitTracker commit;
    step("attaching the constraint indexes", [&](pg::Connection& target, int) {
        if (commit.committedBefore(target)) {
            ++attached;
        }
        for (; attached < attach.size(); ++attached) {
            commit.begin(target);
            target.exec(attach[attached]);
            commit.commit(target);
        }
    });
    std::vector<archive::SequenceValue> sequences = source.sequenceValues();
    step("the sequences", [&](pg::Connection& target, int) { setSequences(target, sequences); });
    abort.check();

    progress.phase("constraints");
    state_ = TargetState::data_loaded;
    pg::RestoreFlags flags{options_.no_owner, options_.no_privileges, options_.index_jobs};
    step("the post-data schema", [&](pg::Connection& target, int attempt) {
        std::set<int> leave_out = leave_out_;
        if (attempt > 1) {
            // Resume: what an earlier attempt created is not created again.
            std::set<int> present = presentPostDataEntries(target, toc_);
            leave_out.insert(present.begin(), present.end());
        }
        std::string list = pg::writePostDataList(toc_, *catalog_, prepared_.dropped_foreign_keys,
                                                 leave_out, work_dir_);
        schemaTool().restore(target, schema_archive_, "post-data", flags, list);
    });
    abort.check();

    if (!options_.skip_analyze) {
        progress.phase("analyze");
        analyze();
    }
    if (options_.verify) {
        progress.phase("verify");
        source.verify(
            {options_.target, target_database_, prepared_, plan_, options_.jobs, abort, progress});
    }
    // After verify: the after statements change rows on purpose.
    if (prepared_.sanitizing && !prepared_.sanitizing->rules.after.empty()) {
        progress.phase("after");
        CommitTracker after;
        step("the after statements", [&](pg::Connection& target, int) {
            if (!after.committedBefore(target)) {
                runAfterStatements(target, prepared_.sanitizing->rules, after);
            }
        });
    }
}

// What the data phase did not analyze: partitioned parents, materialized views.
void TargetLoad::analyze() {
    std::set<uint32_t> skip = prepared_.selection.skip;
    for (const auto& pt : plan_.tables) {
        skip.insert(pt.table->oid);  // each got its ANALYZE once its indexes were built
    }
    TaskPool pool(
        options_.index_jobs, [this] { return openTarget(); }, run_.abort(), run_.progress(),
        retryPolicy());
    for (const auto& t : catalog_->tables) {
        if ((t.relkind == 'r' || t.relkind == 'p' || t.relkind == 'm') && !skip.count(t.oid)) {
            pool.push({"ANALYZE " + t.qualified, "ANALYZE " + t.qualified});
        }
    }
    pool.join();
}

bool TargetLoad::wantsEntry(std::string_view desc, uint32_t oid) const {
    const pg::TocEntry* entry = pg::findTocEntry(toc_, desc, oid);
    return entry && !leave_out_.count(entry->dump_id);
}

void TargetLoad::setSequences(pg::Connection& target,
                              const std::vector<archive::SequenceValue>& sequences) {
    std::string sql;
    for (const auto& seq : sequences) {
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

void TargetLoad::writeReport(LoadSource& source, const std::string& status,
                             const std::string& error) {
    run_.progress().writeReport(
        options_.report_file, run_.command(),
        [&](nlohmann::ordered_json& report) {
            if (prepared_.sanitizing) {
                report["rules_hash"] = prepared_.sanitizing->rules_hash;
            }
            source.extendReport(report);
            if (tools_) {
                reportClientTools(report, *tools_);
            }
            report["target_state"] = describeState(state_);
        },
        status, error);
}

}  // namespace pgsluice::engine
