#include "pgsluice/engine/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "pgsluice/engine/live_display.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::engine {

namespace {

// The width of the terminal on standard error (80 when it does not say).
int terminalColumns() {
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20) {
        return size.ws_col;
    }
    return 80;
}

}  // namespace

ProgressMode parseProgressMode(const std::string& text) {
    if (text == "auto") {
        return ProgressMode::automatic;
    }
    if (text == "plain") {
        return ProgressMode::plain;
    }
    if (text == "json") {
        return ProgressMode::json;
    }
    if (text == "none") {
        return ProgressMode::none;
    }
    throw UsageError(fmt::format("--progress {}: use auto, plain, json or none", text));
}

Progress::Progress(ProgressMode mode, bool verbose, bool quiet)
    : mode_(mode), verbose_(verbose), quiet_(quiet), start_time_(std::chrono::steady_clock::now()) {
    if (mode_ == ProgressMode::automatic) {
        mode_ = ::isatty(STDERR_FILENO) ? ProgressMode::automatic : ProgressMode::plain;
    }
    if (quiet_ && mode_ != ProgressMode::json) {
        mode_ = ProgressMode::none;
    }
}

Progress::~Progress() {
    stop();
}

long long Progress::nowNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                                start_time_)
        .count();
}

void Progress::start(const Plan& plan) {
    table_count_ = plan.tables.size();
    tables_ = std::make_unique<TableCounters[]>(table_count_);
    plan_bytes_ = plan.total_bytes;
    for (size_t i = 0; i < table_count_; ++i) {
        const auto& pt = plan.tables[i];
        tables_[i].name = pt.table->schema + "." + pt.table->name;
        tables_[i].with_data = pt.with_data;
        tables_[i].parts = pt.parts;
        tables_[i].estimated_bytes = pt.table->total_bytes;
        tables_[i].format = pt.table->binary_safe ? "binary" : "text";
        if (pt.with_data) {
            ++tables_with_data_;
        }
    }
    if (mode_ == ProgressMode::automatic || mode_ == ProgressMode::plain ||
        mode_ == ProgressMode::json) {
        thread_ = std::thread([this] { loop(); });
    }
}

void Progress::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    std::lock_guard lock(mutex_);
    eraseLiveLocked();
}

void Progress::phase(const std::string& name) {
    endPhase();
    std::lock_guard lock(mutex_);
    current_phase_ = name;
    phase_start_ = std::chrono::steady_clock::now();
    if (mode_ == ProgressMode::json) {
        emitJson({{"event", "phase"}, {"phase", name}});
    } else if (mode_ != ProgressMode::none && !quiet_) {
        eraseLiveLocked();
        std::fprintf(stderr, "pgsluice: %s...\n", name.c_str());
    }
}

void Progress::endPhase() {
    std::lock_guard lock(mutex_);
    if (current_phase_.empty()) {
        return;
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start_).count();
    phases_.push_back({current_phase_, secs});
    current_phase_.clear();
}

void Progress::unitStarted(size_t table) {
    long long expected = 0;
    tables_[table].started_ns.compare_exchange_strong(expected, nowNs());
    tables_[table].parts_started.fetch_add(1);
}

bool Progress::unitDone(size_t table, long long rows) {
    TableCounters& t = tables_[table];
    t.rows.fetch_add(rows);
    if (t.parts_done.fetch_add(1) + 1 < t.parts) {
        return false;
    }
    t.finished_ns.store(nowNs());
    tables_done_.fetch_add(1);
    double secs = static_cast<double>(t.finished_ns.load() - t.started_ns.load()) / 1e9;
    if (mode_ == ProgressMode::json) {
        std::lock_guard lock(mutex_);
        emitJson({{"event", "table_done"},
                  {"table", t.name},
                  {"rows", t.rows.load()},
                  {"bytes", t.bytes.load()},
                  {"seconds", secs}});
    } else {
        info(fmt::format("{} {}: {} rows, {} in {:.1f}s", verb_, t.name, t.rows.load(),
                         util::formatBytes(static_cast<double>(t.bytes.load())), secs));
    }
    return true;
}

void Progress::info(const std::string& text, bool verbose_only) {
    if (quiet_ || (verbose_only && !verbose_) || mode_ == ProgressMode::json) {
        if (mode_ == ProgressMode::json && !quiet_ && (!verbose_only || verbose_)) {
            std::lock_guard lock(mutex_);
            emitJson({{"event", "info"}, {"message", text}});
        }
        return;
    }
    std::lock_guard lock(mutex_);
    eraseLiveLocked();
    std::fprintf(stderr, "pgsluice: %s\n", text.c_str());
}

void Progress::warn(const std::string& text) {
    std::lock_guard lock(mutex_);
    if (mode_ == ProgressMode::json) {
        emitJson({{"event", "warning"}, {"message", text}});
        return;
    }
    eraseLiveLocked();
    std::fprintf(stderr, "pgsluice: warning: %s\n", text.c_str());
}

void Progress::emitJson(const nlohmann::json& event) const {
    nlohmann::json e = event;
    e["elapsed"] = static_cast<double>(nowNs()) / 1e9;
    std::string line = e.dump() + "\n";
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
}

void Progress::loop() {
    // Live display redraws often; plain and JSON lines would flood a log, so they are sparser.
    auto interval = mode_ == ProgressMode::automatic ? std::chrono::milliseconds(100)
                                                     : std::chrono::milliseconds(10000);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, interval, [this] { return stopping_; });
        if (stopping_ || (current_phase_ != "data" && current_phase_ != "indexes")) {
            continue;
        }
        bool indexing = current_phase_ == "indexes";
        lock.unlock();
        printLive(indexing);
        lock.lock();
    }
}

void Progress::printLive(bool indexing) {
    double elapsed = static_cast<double>(nowNs()) / 1e9;
    long long bytes = total_bytes_.load(std::memory_order_relaxed);
    // The plan's estimate is on-disk bytes; COPY bytes differ, so the fraction counts finished
    // tables by their estimate and running ones by bytes streamed, capped at their estimate.
    double done_estimate = 0;
    std::string running;
    int running_count = 0;
    std::vector<LiveTable> running_tables;
    for (size_t i = 0; i < table_count_; ++i) {
        const TableCounters& t = tables_[i];
        if (!t.with_data) {
            continue;
        }
        if (t.finished_ns.load() > 0) {
            done_estimate += static_cast<double>(t.estimated_bytes);
        } else if (t.parts_started.load() > 0) {
            done_estimate += std::min(static_cast<double>(t.bytes.load()),
                                      static_cast<double>(t.estimated_bytes));
            if (running_count++ < 2) {
                running += (running.empty() ? "" : ", ") + t.name;
            }
            running_tables.push_back(
                {t.name, t.bytes.load(), t.estimated_bytes, t.parts_done.load(), t.parts});
        }
    }
    double fraction = plan_bytes_ > 0 ? done_estimate / static_cast<double>(plan_bytes_) : 0;
    double rate = elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0;
    std::string eta = fraction > 0.01 ? fmt::format("{:.0f}s", elapsed / fraction - elapsed) : "?";
    LiveTotals totals{tables_done_.load(),
                      tables_with_data_,
                      bytes,
                      fraction,
                      rate,
                      fraction > 0.01 ? elapsed / fraction - elapsed : -1,
                      indexes_built_.load(),
                      indexes_total_.load(),
                      verb_};
    int columns = terminalColumns() - 1;  // never the last column: no wrap, no pending wrap
    std::lock_guard lock(mutex_);
    if (mode_ == ProgressMode::json) {
        emitJson({{"event", "progress"},
                  {"tables_done", tables_done_.load()},
                  {"tables", tables_with_data_},
                  {"bytes", bytes},
                  {"fraction", fraction},
                  {"bytes_per_second", rate},
                  {"indexes_built", indexes_built_.load()},
                  {"indexes", indexes_total_.load()}});
        return;
    }
    std::string line = fmt::format(
        "data: {}/{} tables, {} copied, {}/s, {:.0f}%, ETA {}{}{}", tables_done_.load(),
        tables_with_data_, util::formatBytes(static_cast<double>(bytes)), util::formatBytes(rate),
        fraction * 100, eta, running.empty() ? "" : "; copying ", running);
    if (indexing) {
        line = fmt::format("indexes: {}/{} built (all {} tables copied, {})", indexes_built_.load(),
                           indexes_total_.load(), tables_done_.load(),
                           util::formatBytes(static_cast<double>(bytes)));
    } else if (indexes_total_.load() > 0) {
        line += fmt::format("; indexes {}/{} built", indexes_built_.load(), indexes_total_.load());
    }
    if (mode_ == ProgressMode::automatic) {
        std::vector<std::string> lines = indexing ? std::vector<std::string>{line}
                                                  : liveLines(running_tables, totals, columns, 8);
        std::string frame = eraseLive(live_lines_);
        for (size_t i = 0; i < lines.size(); ++i) {
            frame += (i ? "\n" : "") + lines[i];
        }
        // One write per frame: the terminal never shows a half-drawn display.
        std::fputs(frame.c_str(), stderr);
        live_lines_ = static_cast<int>(lines.size());
    } else {
        std::fprintf(stderr, "pgsluice: %s\n", line.c_str());
    }
    std::fflush(stderr);
}

void Progress::eraseLiveLocked() {
    if (live_lines_ > 0) {
        std::fputs(eraseLive(live_lines_).c_str(), stderr);
        live_lines_ = 0;
    }
}

void Progress::retrying(const std::string& what, const std::string& cause, int attempt,
                        int attempts) {
    warn(fmt::format("retrying {} (attempt {} of {}) after: {}", what, attempt, attempts, cause));
    std::lock_guard lock(mutex_);
    retries_.push_back(
        {{"what", what}, {"attempt", attempt}, {"cause", cause}, {"seconds", nowNs() / 1e9}});
}

int Progress::retries() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(retries_.size());
}

nlohmann::ordered_json Progress::report() const {
    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    long long rows = 0;
    long long bytes = 0;
    for (size_t i = 0; i < table_count_; ++i) {
        const TableCounters& t = tables_[i];
        double secs = t.finished_ns.load() > 0
                          ? static_cast<double>(t.finished_ns.load() - t.started_ns.load()) / 1e9
                          : 0;
        tables.push_back({{"table", t.name},
                          {"data", t.with_data},
                          {"complete", !t.with_data || t.finished_ns.load() > 0},
                          {"rows", t.rows.load()},
                          {"bytes", t.bytes.load()},
                          {"seconds", secs},
                          {"parts", t.parts},
                          {"format", t.format}});
        rows += t.rows.load();
        bytes += t.bytes.load();
    }
    nlohmann::ordered_json phases = nlohmann::ordered_json::object();
    std::lock_guard lock(mutex_);
    for (const auto& p : phases_) {
        phases[p.name] = p.seconds;
    }
    return {{"tables", tables},
            {"phases", phases},
            {"retries", retries_},
            {"total",
             {{"rows", rows},
              {"bytes", bytes},
              {"seconds", nowNs() / 1e9},
              {"retries", retries_.size()}}}};
}

void Progress::printSummary() const {
    if (quiet_ || mode_ == ProgressMode::none) {
        return;
    }
    nlohmann::ordered_json r = report();
    if (mode_ == ProgressMode::json) {
        nlohmann::json e = r;
        e["event"] = "summary";
        std::lock_guard lock(mutex_);
        emitJson(e);
        return;
    }
    size_t width = 5;
    for (const auto& t : r["tables"]) {
        width = std::max(width, t["table"].get<std::string>().size());
    }
    std::string out = fmt::format("\n{:<{}}  {:>12}  {:>10}  {:>8}  {}\n", "table", width, "rows",
                                  "bytes", "seconds", "note");
    for (const auto& t : r["tables"]) {
        std::string note;
        if (!t["data"].get<bool>()) {
            note = "schema only";
        } else if (!t["complete"].get<bool>()) {
            note = "INCOMPLETE";
        } else if (t["parts"].get<int>() > 1) {
            note = fmt::format("{} parts", t["parts"].get<int>());
        }
        if (t["format"] == "text") {
            note += note.empty() ? "text format" : ", text format";
        }
        out += fmt::format("{:<{}}  {:>12}  {:>10}  {:>8.1f}  {}\n", t["table"].get<std::string>(),
                           width, t["rows"].get<long long>(),
                           util::formatBytes(t["bytes"].get<double>()), t["seconds"].get<double>(),
                           note);
    }
    out += "\nphase         seconds\n";
    for (const auto& [name, secs] : r["phases"].items()) {
        out += fmt::format("{:<12}  {:>7.1f}\n", name, secs.get<double>());
    }
    out += fmt::format(
        "{:<12}  {:>7.1f}  ({} rows, {}{})\n", "total", r["total"]["seconds"].get<double>(),
        r["total"]["rows"].get<long long>(), util::formatBytes(r["total"]["bytes"].get<double>()),
        r["retries"].empty()
            ? ""
            : fmt::format(", {} retried after a transient failure", r["retries"].size()));
    std::fputs(out.c_str(), out_);
    std::fflush(out_);
}

void Progress::writeReport(const std::string& path, const std::string& command,
                           const std::function<void(nlohmann::ordered_json&)>& fill,
                           const std::string& status, const std::string& error) {
    if (path.empty()) {
        return;
    }
    nlohmann::ordered_json out = report();
    out["command"] = command;
    fill(out);
    out["status"] = status;
    if (!error.empty()) {
        out["error"] = error;
    }
    std::ofstream file(path);
    file << out.dump(2) << "\n";
    if (!file) {
        warn(fmt::format("cannot write the report to {}", path));
    }
}

}  // namespace pgsluice::engine
