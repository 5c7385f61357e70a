#include "pgsluice/commands/plan.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "pgsluice/engine/coverage.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/pg/snapshot.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::commands {

using engine::Sanitizing;

namespace {

// The columns `sanitizing` rewrites in `table`, as "column: transform".
nlohmann::ordered_json rewrittenColumns(const Sanitizing* sanitizing, const pg::Table& table) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    if (const sanitize::TableSanitizer* rules =
            sanitizing ? sanitizing->forTable(table) : nullptr) {
        for (const auto& c : rules->columns) {
            out.push_back(c.name + ": " + c.transform->spec().name());
        }
    }
    return out;
}

// The note column of the text plan.
std::string noteFor(const nlohmann::ordered_json& t) {
    std::string note;
    if (t["format"] == "text") {
        note = "COPY text (type OIDs differ per server)";
    }
    for (const auto& c : t["rewritten_columns"]) {
        note += (note.empty() ? "rewrites " : ", ") + c.get<std::string>();
    }
    if (t.contains("subset")) {
        std::string subset = "subset: " + t["subset"].get<std::string>();
        if (t.contains("pulled_in_rows") && t["pulled_in_rows"].get<long long>() > 0) {
            subset += fmt::format(" ({} rows pulled in)", t["pulled_in_rows"].get<long long>());
        }
        note += (note.empty() ? "" : "; ") + subset;
    }
    return note;
}

// One entry per table: those the plan moves (with their part in the subset, if any), then those
// left out.
nlohmann::ordered_json tableEntries(const engine::Plan& plan, const pg::Catalog& catalog,
                                    const engine::TableSelection& selection,
                                    const Sanitizing* sanitizing, const engine::Subset* subset) {
    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    for (const auto& pt : plan.tables) {
        const pg::Table& t = *pt.table;
        nlohmann::ordered_json entry = {
            {"table", t.schema + "." + t.name},
            {"action", pt.with_data ? "copy" : "schema only"},
            {"bytes", t.total_bytes},
            {"estimated_rows", static_cast<long long>(t.estimated_rows)},
            {"parts", pt.with_data ? pt.parts : 0},
            {"format", t.binary_safe ? "binary" : "text"},
            {"indexes", t.indexes.size()},
            {"rewritten_columns", rewrittenColumns(sanitizing, t)}};
        if (subset && pt.with_data) {
            const engine::Subset::Table& s = subset->table(t.oid);
            entry["subset"] = engine::subsetRoleName(s.role);
            if (s.role != engine::SubsetRole::whole) {
                entry["estimated_rows"] = static_cast<long long>(s.kept.size());
                entry["pulled_in_rows"] = s.pulled_in;
            }
        }
        tables.push_back(std::move(entry));
    }
    for (const auto& t : catalog.tables) {
        if (t.holdsData() && selection.skip.count(t.oid)) {
            tables.push_back({{"table", t.schema + "." + t.name},
                              {"action", "left out"},
                              {"bytes", t.total_bytes},
                              {"estimated_rows", static_cast<long long>(t.estimated_rows)},
                              {"parts", 0},
                              {"format", ""},
                              {"indexes", 0},
                              {"rewritten_columns", nlohmann::ordered_json::array()}});
        }
    }
    return tables;
}

}  // namespace

void runPlan(const PlanRequest& request) {
    pg::Snapshot snapshot = pg::Snapshot::exportFrom(request.source);
    pg::Catalog catalog = pg::loadCatalog(snapshot.control());
    // The same checks a run makes before it touches anything.
    engine::Prepared prepared =
        engine::prepareRun(catalog, request.selection, request.rules_file,
                           request.drop_dangling_foreign_keys, request.subset);
    engine::requireCoverage(catalog, prepared, request.strict, &snapshot);
    const engine::TableSelection& selection = prepared.selection;
    const Sanitizing* sanitizing = prepared.sanitizing.get();
    engine::Plan plan =
        engine::makePlan(catalog, engine::PlanOptions{request.split_bytes}, selection);
    // A subset is computed as a run computes it: its row counts are exact, not estimates.
    std::shared_ptr<const engine::Subset> subset;
    if (!prepared.subset.empty()) {
        subset = engine::computeSubset(snapshot.control(), catalog, selection, prepared.subset);
        engine::applySubset(plan, *subset);
    }

    nlohmann::ordered_json tables =
        tableEntries(plan, catalog, selection, sanitizing, subset.get());
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const auto& d : selection.dangling) {
        problems.push_back({{"foreign_key", d.key->name},
                            {"table", d.table},
                            {"references", d.referenced},
                            {"reason", d.reason}});
    }
    size_t with_data = 0;
    for (const auto& pt : plan.tables) {
        with_data += pt.with_data ? 1 : 0;
    }

    if (request.json) {
        nlohmann::ordered_json out = {
            {"source_database", catalog.database},
            {"server_version", catalog.server_version},
            {"tables", tables},
            {"total",
             {{"tables_with_data", with_data},
              {"tables_schema_only", plan.tables.size() - with_data},
              {"tables_left_out", selection.skip.size()},
              {"bytes", plan.total_bytes},
              {"units", plan.units.size()},
              {"sequences", catalog.sequences.size()},
              {"large_objects", selection.include_everything ? catalog.large_objects.size() : 0}}},
            {"rules_hash", sanitizing ? sanitizing->rules_hash : ""},
            {"warnings", prepared.warnings},
            {"dangling_foreign_keys", problems}};
        std::puts(out.dump(2).c_str());
    } else {
        size_t width = 5;
        for (const auto& t : tables) {
            width = std::max(width, t["table"].get<std::string>().size());
        }
        std::string out = fmt::format("{:<{}}  {:<11}  {:>10}  {:>12}  {:>5}  {}\n", "table", width,
                                      "action", "size", "rows (est.)", "parts", "note");
        for (const auto& t : tables) {
            int parts = t["parts"].get<int>();
            out += fmt::format("{:<{}}  {:<11}  {:>10}  {:>12}  {:>5}  {}\n",
                               t["table"].get<std::string>(), width, t["action"].get<std::string>(),
                               util::formatBytes(t["bytes"].get<double>()),
                               t["estimated_rows"].get<long long>(),
                               parts > 0 ? std::to_string(parts) : "-", noteFor(t));
        }
        out += fmt::format(
            "\n{} tables with data ({} in {} COPY units over -j {}), {} schema only, {} left out; "
            "{} sequences, {} large objects\n",
            with_data, util::formatBytes(static_cast<double>(plan.total_bytes)), plan.units.size(),
            request.jobs, plan.tables.size() - with_data, selection.skip.size(),
            catalog.sequences.size(),
            selection.include_everything ? catalog.large_objects.size() : 0);
        for (const auto& w : prepared.warnings) {
            out += fmt::format("warning: {}\n", w);
        }
        if (sanitizing) {
            out += fmt::format("rules {} checked: {} tables rewritten (rules hash {})\n",
                               sanitizing->rules.source, sanitizing->plan.tables.size(),
                               sanitizing->rules_hash);
        }
        std::fputs(out.c_str(), stdout);
    }
    std::fflush(stdout);
    engine::requireNoDangling(prepared);
}

}  // namespace pgsluice::commands
