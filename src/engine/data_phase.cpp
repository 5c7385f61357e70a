#include "pgsluice/engine/data_phase.hpp"

#include <fmt/format.h>

#include "pgsluice/engine/pump.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/pg/copy_stream.hpp"

namespace pgsluice::engine {

void UnitTally::start(const Plan& plan) {
    std::lock_guard lock(mutex_);
    units_left_.assign(plan.tables.size(), 0);
    for (const auto& u : plan.units) {
        ++units_left_[u.table];
    }
}

void UnitTally::unitDone(size_t table) {
    std::lock_guard lock(mutex_);
    --units_left_[table];
}

std::string UnitTally::describe(const Plan& plan) const {
    std::lock_guard lock(mutex_);
    if (units_left_.empty()) {
        return "";  // the data phase did not start
    }
    std::vector<std::string> complete;
    std::vector<std::string> incomplete;
    for (size_t t = 0; t < plan.tables.size(); ++t) {
        if (plan.tables[t].with_data) {
            (units_left_[t] > 0 ? incomplete : complete).push_back(plan.tables[t].table->qualified);
        }
    }
    auto list = [](const std::vector<std::string>& names) {
        return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
    };
    return fmt::format("tables loaded completely: {}\ntables not loaded completely: {}",
                       list(complete), list(incomplete));
}

DataPhase::DataPhase(const Plan& plan, const DataSettings& settings, Connect connect, Run& run,
                     UnitTally& tally)
    : plan_(plan),
      settings_(settings),
      connect_(std::move(connect)),
      abort_(run.abort()),
      progress_(run.progress()),
      tally_(tally),
      watchdog_(settings.stall_timeout),
      indexes_left_(plan_.tables.size(), 0),
      pool_(settings.index_jobs, connect_, abort_, progress_, settings.retry,
            [this](const SqlTask& task, double secs) { built(task, secs); }) {}

DataPhase::~DataPhase() = default;

void DataPhase::run(UnitFeed& feed) {
    // Tables whose rows stay behind get their indexes at once.
    for (size_t i = 0; i < plan_.tables.size(); ++i) {
        if (!plan_.tables[i].with_data) {
            tableLoaded(i);
        }
    }
    loadUnits(feed);
    if (!abort_.aborted()) {
        progress_.phase("indexes");
    }
    pool_.join();
}

// What one worker holds: its target session and its end of the feed, both made again after a
// transient failure.
struct DataPhase::Worker {
    int index = 0;
    std::optional<WatchedConnection> target;
    std::unique_ptr<UnitFeed::Worker> feed;
};

void DataPhase::loadUnits(UnitFeed& feed) {
    struct Scope {
        UnitFeed& feed;
        ~Scope() { feed.end(); }
    };
    int jobs = feed.workers(settings_.jobs);
    if (!feed.streamOrder()) {
        jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), plan_.units.size()));
    }
    feed.begin(jobs);
    Scope scope{feed};
    feed_ = &feed;
    auto make = [&](int w) {
        auto worker = std::make_unique<Worker>();
        worker->index = w;
        worker->target.emplace(connect_(), abort_);
        worker->feed = feed.worker(w);
        return worker;
    };
    if (!feed.streamOrder()) {
        forEachParallel(
            jobs, plan_.units.size(), abort_, make,
            [&](std::unique_ptr<Worker>& worker, size_t unit) { loadUnit(*worker, unit); });
        return;
    }
    runParallel(jobs, abort_, [&](int w) {
        std::unique_ptr<Worker> worker = make(w);
        while (std::optional<size_t> unit = feed.nextFor(w)) {
            loadUnit(*worker, *unit);
        }
    });
}

// Loads one unit, again on new connections after a transient failure (never for a feed that
// cannot read a unit twice: a pipe).
void DataPhase::loadUnit(Worker& worker, size_t index) {
    const WorkUnit& unit = plan_.units[index];
    const pg::Table& table = *plan_.tables[unit.table].table;
    progress_.unitStarted(unit.table);
    RetryPolicy policy = settings_.retry;
    if (!feed_->canReread()) {
        policy.retries = 0;
    }
    CommitTracker commit;
    long long moved = 0;  // by the current attempt
    try {
        withRetries(
            policy, abort_, progress_, describeUnit(table, unit),
            [&](int) { loadUnitOnce(worker, index, commit, moved); },
            [&] {
                progress_.addBytes(unit.table, -moved);  // the next attempt counts them again
                moved = 0;
                worker.target.reset();
                worker.feed.reset();
            });
    } catch (...) {
        if (!feed_->canReread() && transientCause(std::current_exception())) {
            try {
                throw;
            } catch (Error& e) {
                e.setMessage(std::string(e.what()) +
                             "\n(a unit read from a pipe cannot be loaded again: its rows went "
                             "by; restore from a file to have such failures retried)");
            }
        }
        rethrowInContext(abort_, fmt::format("{} {}", settings_.verb, describeUnit(table, unit)));
    }
}

// One attempt at a unit, in one target transaction. A table created in this run and loaded in
// one piece is frozen on load: its rows are visible to all at once and need no later VACUUM to
// set hint bits. TRUNCATE makes the table "created or truncated in this transaction", which
// FREEZE requires.
void DataPhase::loadUnitOnce(Worker& worker, size_t index, CommitTracker& commit,
                             long long& moved) {
    const WorkUnit& unit = plan_.units[index];
    const pg::Table& table = *plan_.tables[unit.table].table;
    if (!worker.target) {
        worker.target.emplace(connect_(), abort_);
    }
    pg::Connection& dst = worker.target->conn;
    if (commit.committedBefore(dst)) {
        long long rows = 0;
        {
            std::lock_guard lock(mutex_);
            rows = committed_rows_.at(index);
        }
        unitDone(unit, rows);  // the COMMIT whose answer was lost went through
        return;
    }
    if (!worker.feed) {
        worker.feed = feed_->worker(worker.index);
    }
    bool freeze = unit.parts == 1;
    commit.begin(dst, freeze ? "TRUNCATE ONLY " + table.qualified : "");
    pg::CopyIn copy_in(dst, copyInSql(table, freeze));
    copy::ChunkSource& rows = worker.feed->open(index);
    std::vector<pg::Connection*> watched{&dst};
    if (pg::Connection* source = worker.feed->connection()) {
        watched.push_back(source);
    }
    StallWatchdog::Lease lease(watchdog_, watched);
    auto count = [&](size_t bytes) {
        progress_.addBytes(unit.table, static_cast<long long>(bytes));
        moved += static_cast<long long>(bytes);
        lease->moved(bytes);
    };
    try {
        const Sanitizing* rules = settings_.sanitizing;
        pump(rows, rules ? rules->forTable(table) : nullptr, copy_in, abort_, count);
        {
            std::lock_guard lock(mutex_);
            committed_rows_[index] = copy_in.rows();
        }
        commit.commit(dst);
    } catch (...) {
        if (lease->stalled()) {
            throw TransientError(fmt::format("no byte moved for {} s (--stall-timeout)",
                                             watchdog_.timeout().count()));
        }
        throw;
    }
    unitDone(unit, copy_in.rows());
}

void DataPhase::unitDone(const WorkUnit& unit, long long rows) {
    tally_.unitDone(unit.table);
    if (progress_.unitDone(unit.table, rows)) {
        tableLoaded(unit.table);
    }
}

void DataPhase::tableLoaded(size_t table) {
    const pg::Table& t = *plan_.tables[table].table;
    if (t.indexes.empty()) {
        analyzeLater(table);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        indexes_left_[table] = static_cast<int>(t.indexes.size());
    }
    for (const auto& idx : t.indexes) {
        pool_.push({fmt::format("index {} of {}", idx.name, t.qualified), idx.create_sql,
                    static_cast<int>(table)});
    }
}

void DataPhase::built(const SqlTask& task, double secs) {
    progress_.info(fmt::format("{} took {:.1f}s", task.label, secs), true);
    if (task.tag < 0) {
        return;  // an ANALYZE
    }
    progress_.indexBuilt();
    bool last = false;
    {
        std::lock_guard lock(mutex_);
        last = --indexes_left_[static_cast<size_t>(task.tag)] == 0;
    }
    if (last) {
        analyzeLater(static_cast<size_t>(task.tag));
    }
}

// A table's statistics are gathered as soon as its rows and indexes are in (ANALYZE also
// samples expression indexes), on the index pool while other tables still load, instead of
// in a phase of its own at the end.
void DataPhase::analyzeLater(size_t table) {
    if (settings_.skip_analyze) {
        return;
    }
    const pg::Table& t = *plan_.tables[table].table;
    pool_.push({"ANALYZE " + t.qualified, "ANALYZE " + t.qualified});
}

}  // namespace pgsluice::engine
