#pragma once

#include <cstdio>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/engine/planner.hpp"

namespace pgsluice::engine {

// How progress is shown: auto = live on a terminal, plain lines otherwise.
enum class ProgressMode { automatic, plain, json, none };

// Parses auto|plain|json|none. Throws UsageError.
ProgressMode parseProgressMode(const std::string& text);

// Counters of a run, shown live and summarised at the end. Counting is thread-safe and cheap
// (relaxed atomics); printing happens on a thread of its own.
class Progress {
  public:
    Progress(ProgressMode mode, bool verbose, bool quiet);
    ~Progress();

    // Declares the tables of the run (in plan order) and starts the live display.
    void start(const Plan& plan);
    // Stops the live display (idempotent).
    void stop();
    // Sends what normally goes to standard output (JSON events, the summary) to standard error
    // instead: `dump -f -` writes the archive to standard output.
    void keepStdoutClean() { out_ = stderr; }
    // The past participle for a finished table: "copied" (default), "dumped", "loaded".
    void setVerb(std::string verb) { verb_ = std::move(verb); }

    // Marks the start of a phase (schema, data, indexes, constraints, analyze).
    void phase(const std::string& name);
    // Ends the current phase and records its duration.
    void endPhase();

    // Counts COPY bytes of table `table` (index into the plan).
    void addBytes(size_t table, long long bytes) {
        tables_[table].bytes.fetch_add(bytes, std::memory_order_relaxed);
        total_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    }
    // Records that a unit of `table` has started.
    void unitStarted(size_t table);
    // Records a finished unit of `table` with the rows the target loaded; true when it was the
    // table's last unit.
    bool unitDone(size_t table, long long rows);
    // Declares how many index builds the run will do (shown live during the index phase).
    void setIndexCount(int total) { indexes_total_.store(total); }
    // Records a finished index build.
    void indexBuilt() { indexes_built_.fetch_add(1); }

    // A line of information (shown unless quiet; with -v also the verbose ones).
    void info(const std::string& text, bool verbose_only = false);
    // A warning, always shown.
    void warn(const std::string& text);
    // A retry: a warning ("retrying WHAT (attempt 2 of 6) after: CAUSE"), counted in the
    // summary and listed in the report.
    void retrying(const std::string& what, const std::string& cause, int attempt, int attempts);
    // Retries so far.
    int retries() const;

    // Prints the per-table and per-phase summary (unless quiet or none).
    void printSummary() const;
    // The same summary as JSON, for --report.
    nlohmann::ordered_json report() const;
    // --report: report() with `command`, what `fill` adds, `status` and `error` (when not
    // empty), written to `path` as JSON; a file that cannot be written is a warning. Does
    // nothing when `path` is empty.
    void writeReport(const std::string& path, const std::string& command,
                     const std::function<void(nlohmann::ordered_json&)>& fill,
                     const std::string& status, const std::string& error);

  private:
    struct TableCounters {
        std::string name;
        bool with_data = true;
        int parts = 1;
        long long estimated_bytes = 0;
        std::string format;
        std::atomic<long long> bytes{0};
        std::atomic<long long> rows{0};
        std::atomic<int> parts_done{0};
        std::atomic<int> parts_started{0};
        std::atomic<long long> started_ns{0};
        std::atomic<long long> finished_ns{0};
    };
    struct PhaseTime {
        std::string name;
        double seconds = 0;
    };

    long long nowNs() const;
    void loop();
    void printLive(bool indexing);
    // Erases the live display (mutex_ held), so that a line can be printed in its place.
    void eraseLiveLocked();
    void emitJson(const nlohmann::json& event) const;
    std::FILE* out_ = stdout;  // JSON events and the summary
    std::string verb_ = "copied";

    ProgressMode mode_;
    bool verbose_;
    bool quiet_;
    std::chrono::steady_clock::time_point start_time_;
    std::unique_ptr<TableCounters[]> tables_;
    size_t table_count_ = 0;
    long long plan_bytes_ = 0;
    std::atomic<long long> total_bytes_{0};
    std::atomic<int> tables_done_{0};
    std::atomic<int> indexes_total_{0};
    std::atomic<int> indexes_built_{0};
    int tables_with_data_ = 0;

    mutable std::mutex mutex_;  // guards phases_, current phase and output
    std::vector<PhaseTime> phases_;
    nlohmann::ordered_json retries_ = nlohmann::ordered_json::array();
    std::string current_phase_;
    std::chrono::steady_clock::time_point phase_start_;
    std::condition_variable wake_;
    bool stopping_ = false;
    int live_lines_ = 0;  // lines of the live display on the terminal now
    std::thread thread_;
};

}  // namespace pgsluice::engine
