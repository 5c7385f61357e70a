#include "pgsluice/engine/verify.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>

#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/pump.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/copy_stream.hpp"

namespace pgsluice::engine {

namespace {

// One table as verify sees it on both sides.
struct Pair {
    std::string name;
    const pg::Table* source = nullptr;  // nullptr: only on the target
    const pg::Table* target = nullptr;  // nullptr: missing on the target
    bool data = true;                   // false: schema only, the target must be empty
    copy::RowDigest source_digest;
    copy::RowDigest target_digest;
    std::string verdict;  // "same" or why not
};

// Tables holding data, by schema.name, that the selection keeps.
std::map<std::string, std::pair<const pg::Table*, bool>> selectedTables(
    const pg::Catalog& catalog, const TableSelection& selection) {
    std::map<std::string, std::pair<const pg::Table*, bool>> out;
    for (const auto& t : catalog.tables) {
        if (t.holdsData() && !selection.skip.count(t.oid)) {
            out[t.schema + "." + t.name] = {&t, selection.schema_only.count(t.oid) == 0};
        }
    }
    return out;
}

}  // namespace

copy::RowDigest digestTable(pg::Connection& conn, const pg::Table& table,
                            const pg::Table& columns_from, bool binary, const AbortSignal& abort,
                            const sanitize::TableSanitizer* rules) {
    pg::CopyOut rows(conn, copyOutSql(table, columns_from, binary));
    copy::DigestSink digest(binary);
    pump(rows, rules, digest, abort);
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

// Digests the rows of `table` whose ctids are `kept`, in chunks of a TID scan each.
copy::RowDigest digestKept(pg::Connection& conn, const pg::Table& table,
                           const std::vector<std::uint64_t>& kept, const AbortSignal& abort,
                           const sanitize::TableSanitizer* rules) {
    constexpr size_t kChunk = 100000;
    copy::RowDigest total;
    for (size_t begin = 0; begin < kept.size(); begin += kChunk) {
        WorkUnit unit;
        unit.kept = &kept;
        unit.kept_begin = begin;
        unit.kept_end = std::min(kept.size(), begin + kChunk);
        pg::CopyOut rows(conn, copyOutSql(table, unit));
        copy::DigestSink digest(rules || table.binary_safe);
        pump(rows, rules, digest, abort);
        total.add(digest.digest());
    }
    return total;
}

// Digests one table on both sides and says whether they agree.
void compare(Pair& p, pg::Connection& src, pg::Connection& dst, const AbortSignal& abort,
             const Sanitizing* sanitizing, const Subset* subset) {
    if (!p.source) {
        p.verdict = "only on the target";
        return;
    }
    if (!p.target) {
        p.verdict = "missing on the target";
        return;
    }
    if (!sameColumns(*p.source, *p.target)) {
        p.verdict = "columns differ";
        return;
    }
    const sanitize::TableSanitizer* rules = sanitizing ? sanitizing->forTable(*p.source) : nullptr;
    // A ruled table always moves as COPY BINARY, and its hash must be of that form.
    bool binary = rules || (p.source->binary_safe && p.target->binary_safe);
    if (p.data && subset && subset->restricts(p.source->oid)) {
        p.source_digest =
            digestKept(src, *p.source, subset->table(p.source->oid).kept, abort, rules);
    } else if (p.data) {
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

}  // namespace

std::vector<TableVerdict> verifyDatabases(const pg::Snapshot& source, const pg::Snapshot& target,
                                          const filter::SelectionOptions& selection_options,
                                          int jobs, AbortSignal& abort,
                                          const Sanitizing* sanitizing, const Subset* subset) {
    pg::Connection source_conn = source.openReader();
    pg::Connection target_conn = target.openReader();
    pg::Catalog source_catalog = pg::loadCatalog(source_conn);
    pg::Catalog target_catalog = pg::loadCatalog(target_conn);
    TableSelection source_selection = selectTables(source_catalog, selection_options);
    TableSelection target_selection = selectTables(target_catalog, selection_options);

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

    struct Sessions {
        WatchedConnection source;
        WatchedConnection target;
        std::size_t tables = 0;
    };
    constexpr std::size_t kTablesPerTransaction = 100;
    forEachParallel(
        jobs, pairs.size(), abort,
        [&](int) {
            return Sessions{{source.openReader(), abort}, {target.openReader(), abort}};
        },
        [&](Sessions& sessions, size_t i) {
            if (++sessions.tables % kTablesPerTransaction == 0) {
                // The same snapshots, without the locks of the tables read so far.
                source.refresh(sessions.source.conn);
                target.refresh(sessions.target.conn);
            }
            compare(pairs[i], sessions.source.conn, sessions.target.conn, abort, sanitizing,
                    subset);
        });
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

}  // namespace pgsluice::engine
