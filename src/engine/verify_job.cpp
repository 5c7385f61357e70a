#include "pgsluice/engine/verify_job.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/digest.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

namespace {

// One table as verify sees it on both sides.
struct Pair {
    std::string name;
    const pg::Table* source = nullptr;  // nullptr: only on the target
    const pg::Table* target = nullptr;  // nullptr: missing on the target
    bool data = true;                   // false: schema only, the target must be empty
    RowDigest source_digest;
    RowDigest target_digest;
    std::string verdict;  // "same" or why not
};

// Tables holding data, by schema.name, that the selection keeps.
std::map<std::string, std::pair<const pg::Table*, bool>> selectedTables(
    const pg::Catalog& catalog, const SelectionResult& selection) {
    std::map<std::string, std::pair<const pg::Table*, bool>> out;
    for (const auto& t : catalog.tables) {
        if (t.holdsData() && !selection.skip.count(t.oid)) {
            out[t.schema + "." + t.name] = {&t, selection.schema_only.count(t.oid) == 0};
        }
    }
    return out;
}

}  // namespace

RowDigest digestTable(pg::Connection& conn, const pg::Table& table, const pg::Table& columns_from,
                      bool binary, AbortSignal& abort, const sanitize::TableSanitizer* rules) {
    conn.beginCopyOut(fmt::format("COPY {} {} TO STDOUT (FORMAT {})", table.qualified,
                                  columns_from.columnList(), binary ? "binary" : "text"));
    StreamDigest digest(binary);
    std::optional<StreamRewriter> rewriter;
    std::string rewritten;
    if (rules) {
        rewriter.emplace(*rules);
    }
    std::string_view chunk;
    while (conn.getCopyData(chunk)) {
        if (rewriter) {
            rewriter->feed(chunk, rewritten);
            digest.feed(rewritten);
            rewritten.clear();
        } else {
            digest.feed(chunk);
        }
        if (abort.aborted()) {
            throw Cancelled("stopped");
        }
    }
    if (rewriter) {
        rewriter->finish(rewritten);
        digest.feed(rewritten);
    }
    digest.finish();
    return digest.digest();
}

namespace {

bool sameColumns(const pg::Table& a, const pg::Table& b) {
    if (a.columns.size() != b.columns.size()) {
        return false;
    }
    for (size_t i = 0; i < a.columns.size(); ++i) {
        if (a.columns[i].name != b.columns[i].name) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::vector<TableVerdict> verifyDatabases(const pg::Snapshot& source, const pg::Snapshot& target,
                                          const filter::SelectionOptions& selection_options,
                                          int jobs, AbortSignal& abort,
                                          const Sanitizing* sanitizing) {
    pg::Connection source_conn = source.openReader();
    pg::Connection target_conn = target.openReader();
    pg::Catalog source_catalog = pg::loadCatalog(source_conn);
    pg::Catalog target_catalog = pg::loadCatalog(target_conn);
    SelectionResult source_selection = applySelection(source_catalog, selection_options);
    SelectionResult target_selection = applySelection(target_catalog, selection_options);

    auto src_tables = selectedTables(source_catalog, source_selection);
    auto dst_tables = selectedTables(target_catalog, target_selection);
    std::vector<Pair> pairs;
    for (const auto& [name, entry] : src_tables) {
        Pair p;
        p.name = name;
        p.source = entry.first;
        p.data = entry.second;
        if (auto it = dst_tables.find(name); it != dst_tables.end()) {
            p.target = it->second.first;
        }
        pairs.push_back(std::move(p));
    }
    for (const auto& [name, entry] : dst_tables) {
        if (!src_tables.count(name)) {
            Pair p;
            p.name = name;
            p.target = entry.first;
            pairs.push_back(std::move(p));
        }
    }

    std::atomic<size_t> next{0};
    auto worker = [&] {
        try {
            pg::Connection src = source.openReader();
            Watch watch_src(abort, src);
            pg::Connection dst = target.openReader();
            Watch watch_dst(abort, dst);
            for (size_t i; !abort.aborted() && (i = next.fetch_add(1)) < pairs.size();) {
                Pair& p = pairs[i];
                if (!p.source) {
                    p.verdict = "only on the target";
                    continue;
                }
                if (!p.target) {
                    p.verdict = "missing on the target";
                    continue;
                }
                if (!sameColumns(*p.source, *p.target)) {
                    p.verdict = "columns differ";
                    continue;
                }
                const sanitize::TableSanitizer* rules =
                    sanitizing ? sanitizing->forTable(*p.source) : nullptr;
                // A ruled table always moves as COPY BINARY, and its hash must be of that form.
                bool binary = rules || (p.source->binary_safe && p.target->binary_safe);
                if (p.data) {
                    p.source_digest = digestTable(src, *p.source, *p.source, binary, abort, rules);
                }
                p.target_digest = digestTable(dst, *p.target, *p.source, binary, abort);
                if (p.source_digest.rows != p.target_digest.rows) {
                    p.verdict = fmt::format("rows differ: {} on the source, {} on the target",
                                            p.source_digest.rows, p.target_digest.rows);
                } else if (!(p.source_digest == p.target_digest)) {
                    p.verdict = "content differs (same row count)";
                } else {
                    p.verdict = "same";
                }
            }
        } catch (...) {
            abort.fail(std::current_exception());
        }
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < std::min<int>(jobs, std::max<int>(1, pairs.size())); ++i) {
        threads.emplace_back(worker);
    }
    for (auto& t : threads) {
        t.join();
    }
    abort.rethrow();
    std::vector<TableVerdict> out;
    for (auto& p : pairs) {
        out.push_back({p.name, p.data, p.source_digest, p.target_digest, p.verdict});
    }
    return out;
}

std::string formatVerdicts(const std::vector<TableVerdict>& verdicts, bool json,
                           std::vector<std::string>& differing) {
    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    std::string text;
    for (const auto& v : verdicts) {
        if (!v.same()) {
            differing.push_back(v.name);
        }
        tables.push_back({{"table", v.name},
                          {"same", v.same()},
                          {"verdict", v.verdict},
                          {"data", v.data},
                          {"source_rows", v.source.rows},
                          {"target_rows", v.target.rows},
                          {"source_hash", v.source.hex()},
                          {"target_hash", v.target.hex()}});
        text += fmt::format("{:<8} {}  {}{}\n", v.same() ? "same" : "DIFFERS", v.name,
                            v.same() ? fmt::format("{} rows", v.target.rows) : v.verdict,
                            v.data ? "" : " (schema only: the target must be empty)");
    }
    if (json) {
        nlohmann::ordered_json out = {
            {"same", differing.empty()}, {"tables", tables}, {"differing", differing}};
        return out.dump(2) + "\n";
    }
    text += differing.empty()
                ? fmt::format("\nall {} tables agree\n", verdicts.size())
                : fmt::format("\n{} of {} tables differ\n", differing.size(), verdicts.size());
    return text;
}

std::string differMessage(const std::vector<std::string>& differing) {
    std::string names;
    for (size_t i = 0; i < differing.size() && i < 10; ++i) {
        names += (i ? ", " : "") + differing[i];
    }
    return fmt::format("{} table{} differ: {}{}", differing.size(),
                       differing.size() == 1 ? "" : "s", names,
                       differing.size() > 10 ? ", ..." : "");
}

void runVerify(const VerifyOptions& options) {
    if (options.jobs < 1) {
        throw UsageError("--jobs must be at least 1");
    }
    AbortSignal abort;
    SignalWatcher signals(abort);
    pg::Snapshot source = pg::Snapshot::exportFrom(options.source, pg::Role::source);
    pg::Snapshot target = pg::Snapshot::exportFrom(options.target, pg::Role::target);
    filter::SelectionOptions selection = options.selection;
    std::unique_ptr<Sanitizing> sanitizing;
    if (!options.rules_file.empty()) {
        sanitize::Rules rules = loadRules(options.rules_file, selection);
        pg::Connection conn = source.openReader();
        pg::Catalog catalog = pg::loadCatalog(conn);
        sanitizing = checkRules(std::move(rules), catalog, applySelection(catalog, selection));
    }
    std::vector<TableVerdict> verdicts =
        verifyDatabases(source, target, selection, options.jobs, abort, sanitizing.get());
    std::vector<std::string> differing;
    std::fputs(formatVerdicts(verdicts, options.json, differing).c_str(), stdout);
    std::fflush(stdout);
    if (!differing.empty()) {
        throw Error(differMessage(differing));
    }
}

}  // namespace pgsluice::engine
