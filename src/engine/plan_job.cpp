#include "pgsluice/engine/plan_job.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

void runPlan(const PlanRequest& request) {
    pg::Snapshot snapshot = pg::Snapshot::exportFrom(request.source);
    pg::Catalog catalog = pg::loadCatalog(snapshot.control());
    SelectionResult selection = applySelection(catalog, request.selection);
    Plan plan = makePlan(catalog, PlanOptions{request.split_bytes}, selection);

    nlohmann::ordered_json tables = nlohmann::ordered_json::array();
    for (const auto& pt : plan.tables) {
        const pg::Table& t = *pt.table;
        tables.push_back({{"table", t.schema + "." + t.name},
                          {"action", pt.with_data ? "copy" : "schema only"},
                          {"bytes", t.total_bytes},
                          {"estimated_rows", static_cast<long long>(t.estimated_rows)},
                          {"parts", pt.with_data ? pt.parts : 0},
                          {"format", t.binary_safe ? "binary" : "text"},
                          {"indexes", t.indexes.size()}});
    }
    for (const auto& t : catalog.tables) {
        if (t.holdsData() && selection.skip.count(t.oid)) {
            tables.push_back({{"table", t.schema + "." + t.name},
                              {"action", "left out"},
                              {"bytes", t.total_bytes},
                              {"estimated_rows", static_cast<long long>(t.estimated_rows)},
                              {"parts", 0},
                              {"format", ""},
                              {"indexes", 0}});
        }
    }
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
            {"warnings", selection.warnings},
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
            out += fmt::format(
                "{:<{}}  {:<11}  {:>10}  {:>12}  {:>5}  {}\n", t["table"].get<std::string>(), width,
                t["action"].get<std::string>(), formatBytes(t["bytes"].get<double>()),
                t["estimated_rows"].get<long long>(), parts > 0 ? std::to_string(parts) : "-",
                t["format"] == "text" ? "COPY text (type OIDs differ per server)" : "");
        }
        out += fmt::format(
            "\n{} tables with data ({} in {} COPY units over -j {}), {} schema only, {} left out; "
            "{} sequences, {} large objects\n",
            with_data, formatBytes(static_cast<double>(plan.total_bytes)), plan.units.size(),
            request.jobs, plan.tables.size() - with_data, selection.skip.size(),
            catalog.sequences.size(),
            selection.include_everything ? catalog.large_objects.size() : 0);
        for (const auto& w : selection.warnings) {
            out += fmt::format("warning: {}\n", w);
        }
        std::fputs(out.c_str(), stdout);
    }
    std::fflush(stdout);
    if (!selection.dangling.empty() && !request.drop_dangling_foreign_keys) {
        throw UsageError(danglingMessage(selection.dangling));
    }
}

}  // namespace pgsluice::engine
