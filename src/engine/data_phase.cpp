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
      attached_(plan_.tables.size(), false),
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
    // A stream brings units in its own order, one at a time: no batches there.
    std::vector<UnitBatch> batches;
    if (feed.streamOrder()) {
        for (size_t i = 0; i < plan_.units.size(); ++i) {
            batches.push_back({{i}, false});
        }
    } else {
        batches = batchUnits(plan_);
    }
    int jobs = feed.workers(settings_.jobs);
    if (!feed.streamOrder()) {
        jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), batches.size()));
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
        forEachParallel(jobs, batches.size(), abort_, make,
                        [&](std::unique_ptr<Worker>& worker, size_t batch) {
                            loadBatch(*worker, batches[batch]);
                        });
        return;
    }
    runParallel(jobs, abort_, [&](int w) {
        std::unique_ptr<Worker> worker = make(w);
        while (std::optional<size_t> unit = feed.nextFor(w)) {
            loadBatch(*worker, batches[*unit]);
        }
    });
}

// How messages name a batch: its unit, or its tables.
std::string DataPhase::describeBatch(const UnitBatch& batch) const {
    if (batch.units.size() == 1) {
        const WorkUnit& unit = plan_.units[batch.units.front()];
        return describeUnit(*plan_.tables[unit.table].table, unit);
    }
    std::string names;
    for (size_t i = 0; i < batch.units.size() && i < 5; ++i) {
        names += (i ? ", " : "") + plan_.tables[plan_.units[batch.units[i]].table].table->qualified;
    }
    return fmt::format("tables {}{} (a batch of {} small tables)", names,
                       batch.units.size() > 5 ? ", ..." : "", batch.units.size());
}

// Loads a batch, again on new connections after a transient failure (never for a feed that
// cannot read a unit twice: a pipe), and again when the feed abandons the rows it gave so far
// (a pipe of a dump that retried the unit): closing the target session rolls back what the
// attempt loaded, and the next attempt loads the rows that follow in the stream.
void DataPhase::loadBatch(Worker& worker, const UnitBatch& batch) {
    for (size_t u : batch.units) {
        progress_.unitStarted(plan_.units[u].table);
    }
    RetryPolicy policy = settings_.retry;
    if (!feed_->canReread()) {
        policy.retries = 0;
    }
    CommitTracker commit;
    std::vector<long long> moved(batch.units.size(), 0);  // by the current attempt, per unit
    auto forget = [&] {
        for (size_t i = 0; i < batch.units.size(); ++i) {
            // the next attempt counts them again
            progress_.addBytes(plan_.units[batch.units[i]].table, -moved[i]);
            moved[i] = 0;
        }
        worker.target.reset();
        worker.feed.reset();
    };
    try {
        for (bool loaded = false; !loaded;) {
            try {
                withRetries(
                    policy, abort_, progress_, describeBatch(batch),
                    [&](int) { loadBatchOnce(worker, batch, commit, moved); }, forget);
                loaded = true;
            } catch (const UnitAbandoned& e) {
                progress_.warn(
                    fmt::format("{} {}: {}", settings_.verb, describeBatch(batch), e.what()));
                forget();
            }
        }
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
        rethrowInContext(abort_, fmt::format("{} {}", settings_.verb, describeBatch(batch)));
    }
}

// One attempt at a batch, in one target transaction. A large table created in this run and
// loaded in one piece is frozen on load: its rows are visible to all at once and need no later
// VACUUM to set hint bits; TRUNCATE makes the table "created or truncated in this
// transaction", which FREEZE requires. Small tables skip both (a TRUNCATE costs more than
// their rows) and get their indexes and statistics in the same transaction.
void DataPhase::loadBatchOnce(Worker& worker, const UnitBatch& batch, CommitTracker& commit,
                              std::vector<long long>& moved) {
    if (!worker.target) {
        worker.target.emplace(connect_(), abort_);
    }
    pg::Connection& dst = worker.target->conn;
    std::vector<long long> rows(batch.units.size(), 0);
    if (commit.committedBefore(dst)) {
        // The COMMIT whose answer was lost went through.
        std::lock_guard lock(mutex_);
        for (size_t i = 0; i < batch.units.size(); ++i) {
            rows[i] = committed_rows_.at(batch.units[i]);
        }
    } else {
        if (!worker.feed) {
            worker.feed = feed_->worker(worker.index);
        }
        const WorkUnit& first = plan_.units[batch.units.front()];
        bool freeze = !batch.small && first.parts == 1;
        commit.begin(dst,
                     freeze ? "TRUNCATE ONLY " + plan_.tables[first.table].table->qualified : "");
        std::vector<pg::Connection*> watched{&dst};
        if (pg::Connection* source = worker.feed->connection()) {
            watched.push_back(source);
        }
        StallWatchdog::Lease lease(watchdog_, watched);
        try {
            for (size_t i = 0; i < batch.units.size(); ++i) {
                rows[i] = copyUnit(worker, dst, batch.units[i], freeze, moved[i], *lease);
            }
            if (batch.small) {
                if (std::string sql = inlineSql(batch); !sql.empty()) {
                    dst.exec(sql);
                }
            }
            {
                std::lock_guard lock(mutex_);
                for (size_t i = 0; i < batch.units.size(); ++i) {
                    committed_rows_[batch.units[i]] = rows[i];
                }
            }
            commit.commit(dst);
        } catch (...) {
            lease.rethrowFailure();
        }
    }
    if (batch.small) {
        std::lock_guard lock(mutex_);
        for (size_t u : batch.units) {
            attached_[plan_.units[u].table] = true;
        }
    }
    for (size_t i = 0; i < batch.units.size(); ++i) {
        unitDone(plan_.units[batch.units[i]], rows[i], batch.small);
    }
}

// Moves one unit's rows into a COPY IN on `dst`; returns the rows the target loaded.
long long DataPhase::copyUnit(Worker& worker, pg::Connection& dst, size_t index, bool freeze,
                              long long& moved, StallWatchdog::Watched& watched) {
    const WorkUnit& unit = plan_.units[index];
    const pg::Table& table = *plan_.tables[unit.table].table;
    pg::CopyIn copy_in(dst, copyInSql(table, freeze));
    copy::ChunkSource& rows = worker.feed->open(index);
    auto count = [&](size_t bytes) {
        progress_.addBytes(unit.table, static_cast<long long>(bytes));
        moved += static_cast<long long>(bytes);
        watched.moved(bytes);
    };
    const Sanitizing* rules = settings_.sanitizing;
    pump(rows, rules ? rules->forTable(table) : nullptr, copy_in, abort_, count);
    return copy_in.rows();
}

// The index builds, the constraints that adopt them and the ANALYZE of a batch of small
// tables, as one string: done on the loading connection, these take no serial step at the end
// (with 10,000 tables the attach step alone took a second).
std::string DataPhase::inlineSql(const UnitBatch& batch) const {
    std::string sql;
    std::string analyze;
    for (size_t u : batch.units) {
        const pg::Table& t = *plan_.tables[plan_.units[u].table].table;
        for (const auto& idx : t.indexes) {
            sql += idx.create_sql + ";";
        }
        for (const auto& idx : t.indexes) {
            sql += idx.attach_sql;
        }
        analyze += (analyze.empty() ? "" : ", ") + t.qualified;
    }
    if (!settings_.skip_analyze && !analyze.empty()) {
        sql += "ANALYZE " + analyze;
    }
    return sql;
}

void DataPhase::unitDone(const WorkUnit& unit, long long rows, bool indexed) {
    tally_.unitDone(unit.table);
    if (!progress_.unitDone(unit.table, rows)) {
        return;
    }
    if (!indexed) {
        tableLoaded(unit.table);
        return;
    }
    for (size_t i = 0; i < plan_.tables[unit.table].table->indexes.size(); ++i) {
        progress_.indexBuilt();
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
