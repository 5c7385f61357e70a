#pragma once

// The data phase of a load (copy, restore): -j workers, each with its own target session, take
// units from the source's feed and pump each unit's COPY stream into a COPY IN; a table's
// indexes are queued on --index-jobs connections as soon as its last unit is in, and its
// ANALYZE as soon as its indexes are built, while other tables still load.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pgsluice/engine/load_source.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/retry.hpp"
#include "pgsluice/engine/run.hpp"
#include "pgsluice/engine/task_pool.hpp"
#include "pgsluice/engine/watchdog.hpp"

namespace pgsluice::engine {

// How many units of each table are still to load. Thread-safe.
class UnitTally {
  public:
    // Every unit of `plan` is still to load.
    void start(const Plan& plan);
    // One unit of plan table `table` is in.
    void unitDone(std::size_t table);
    // "tables loaded completely: ...\ntables not loaded completely: ...", or empty when the
    // data phase never started.
    std::string describe(const Plan& plan) const;

  private:
    mutable std::mutex mutex_;
    std::vector<int> units_left_;  // per plan table
};

// What the data phase was asked.
struct DataSettings {
    int jobs = 2;
    int index_jobs = 2;
    bool skip_analyze = false;
    const Sanitizing* sanitizing = nullptr;  // --rules, or null
    std::string verb = "copying";            // for messages: "copying table t: ..."
    RetryPolicy retry;                       // --retries
    std::chrono::seconds stall_timeout{60};  // --stall-timeout; 0: no watchdog
};

class DataPhase {
  public:
    using Connect = std::function<pg::Connection()>;

    // `connect` opens a target session; everything given must outlive the phase.
    DataPhase(const Plan& plan, const DataSettings& settings, Connect connect, Run& run,
              UnitTally& tally);
    ~DataPhase();
    DataPhase(const DataPhase&) = delete;
    DataPhase& operator=(const DataPhase&) = delete;

    // Loads every unit from `feed` and waits for every index build and ANALYZE it queued;
    // throws the run's first failure.
    void run(UnitFeed& feed);

    // Per plan table: its PK/UNIQUE constraints, CLUSTER ON and REPLICA IDENTITY were set in
    // the transaction that loaded it (a small table), so attachSql leaves it out.
    const std::vector<bool>& attached() const { return attached_; }

  private:
    struct Worker;

    void loadUnits(UnitFeed& feed);
    std::string describeBatch(const UnitBatch& batch) const;
    void loadBatch(Worker& worker, const UnitBatch& batch);
    void loadBatchOnce(Worker& worker, const UnitBatch& batch, CommitTracker& commit,
                       std::vector<long long>& moved);
    long long copyUnit(Worker& worker, pg::Connection& dst, std::size_t index, bool freeze,
                       long long& moved, StallWatchdog::Watched& watched);
    std::string inlineSql(const UnitBatch& batch) const;
    // `indexed`: the table's indexes and ANALYZE were done with its rows (a small table).
    void unitDone(const WorkUnit& unit, long long rows, bool indexed);
    void tableLoaded(std::size_t table);
    void built(const SqlTask& task, double seconds);
    void analyzeLater(std::size_t table);

    const Plan& plan_;
    const DataSettings& settings_;
    Connect connect_;
    AbortSignal& abort_;
    Progress& progress_;
    UnitTally& tally_;
    UnitFeed* feed_ = nullptr;
    StallWatchdog watchdog_;
    std::mutex mutex_;
    std::vector<int> indexes_left_;                    // per plan table: index builds still running
    std::vector<bool> attached_;                       // per plan table: see attached()
    std::map<std::size_t, long long> committed_rows_;  // per plan unit, once its COPY ended
    TaskPool pool_;
};

}  // namespace pgsluice::engine
