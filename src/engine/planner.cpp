#include "pgsluice/engine/planner.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pgsluice::engine {

Plan makePlan(const pg::Catalog& catalog, const PlanOptions& options,
              const TableSelection& selection) {
    Plan plan;
    for (const auto& t : catalog.tables) {
        if (!t.holdsData() || selection.skip.count(t.oid)) {
            continue;
        }
        PlannedTable pt;
        pt.table = &t;
        pt.with_data = selection.schema_only.count(t.oid) == 0;
        plan.tables.push_back(pt);
    }
    // Largest first, so the longest COPY starts at once and small tables fill the gaps.
    std::stable_sort(plan.tables.begin(), plan.tables.end(), [](const auto& a, const auto& b) {
        return a.table->total_bytes > b.table->total_bytes;
    });
    for (size_t i = 0; i < plan.tables.size(); ++i) {
        PlannedTable& pt = plan.tables[i];
        if (!pt.with_data) {
            continue;
        }
        const pg::Table& t = *pt.table;
        plan.total_bytes += t.total_bytes;
        long long pages = t.main_bytes / std::max(1LL, catalog.block_size);
        if (options.split_bytes > 0 && t.total_bytes > options.split_bytes && pages > 1) {
            long long wanted = (t.total_bytes + options.split_bytes - 1) / options.split_bytes;
            pt.parts = static_cast<int>(std::min(wanted, pages));
        }
        for (int p = 0; p < pt.parts; ++p) {
            WorkUnit u;
            u.table = i;
            u.id = static_cast<uint32_t>(plan.units.size());
            u.part = p;
            u.parts = pt.parts;
            u.first_page = pages * p / pt.parts;
            u.end_page = (p + 1 == pt.parts) ? -1 : pages * (p + 1) / pt.parts;
            u.estimated_bytes = t.total_bytes / pt.parts;
            plan.units.push_back(u);
        }
    }
    // Units of one table next to each other, tables largest first; parts of a split table then
    // spread over the workers because each worker takes the next unit.
    return plan;
}

std::string copyOutSql(const pg::Table& table, const WorkUnit& unit) {
    if (unit.kept) {
        return fmt::format(
            "COPY (SELECT {} FROM ONLY {} WHERE ctid = ANY('{}'::pg_catalog.tid[])) TO STDOUT "
            "(FORMAT {})",
            table.selectList(), table.qualified,
            ctidArray(*unit.kept, unit.kept_begin, unit.kept_end),
            table.binary_safe ? "binary" : "text");
    }
    if (unit.parts == 1) {
        return copyOutSql(table, table, table.binary_safe);
    }
    std::string where;
    if (unit.first_page > 0) {
        where = fmt::format("ctid >= '({},0)'::pg_catalog.tid", unit.first_page);
    }
    if (unit.end_page >= 0) {
        where += fmt::format("{}ctid < '({},0)'::pg_catalog.tid", where.empty() ? "" : " AND ",
                             unit.end_page);
    }
    return fmt::format("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT (FORMAT {})",
                       table.selectList(), table.qualified, where,
                       table.binary_safe ? "binary" : "text");
}

std::string copyOutSql(const pg::Table& table, const pg::Table& columns_from, bool binary) {
    return fmt::format("COPY {}{} TO STDOUT (FORMAT {})", table.qualified,
                       columns_from.columns.empty() ? "" : " " + columns_from.columnList(),
                       binary ? "binary" : "text");
}

void applySubset(Plan& plan, const Subset& subset, size_t rows_per_unit) {
    std::vector<WorkUnit> units;
    plan.total_bytes = 0;
    for (size_t i = 0; i < plan.tables.size(); ++i) {
        PlannedTable& pt = plan.tables[i];
        if (!pt.with_data) {
            continue;
        }
        const pg::Table& t = *pt.table;
        if (!subset.restricts(t.oid)) {
            for (const WorkUnit& u : plan.units) {
                if (u.table == i) {
                    units.push_back(u);
                }
            }
            plan.total_bytes += t.total_bytes;
            continue;
        }
        const std::vector<uint64_t>& kept = subset.table(t.oid).kept;
        double row_bytes = static_cast<double>(t.total_bytes) / std::max(1.0, t.estimated_rows);
        size_t parts = std::max<size_t>(1, (kept.size() + rows_per_unit - 1) / rows_per_unit);
        pt.parts = static_cast<int>(parts);
        for (size_t p = 0; p < parts; ++p) {
            WorkUnit u;
            u.table = i;
            u.part = static_cast<int>(p);
            u.parts = pt.parts;
            u.kept = &kept;
            u.kept_begin = p * rows_per_unit;
            u.kept_end = std::min(kept.size(), (p + 1) * rows_per_unit);
            u.estimated_bytes =
                static_cast<long long>(row_bytes * static_cast<double>(u.kept_end - u.kept_begin));
            plan.total_bytes += u.estimated_bytes;
            units.push_back(u);
        }
    }
    // Largest first again, units of one table next to each other.
    std::vector<long long> table_bytes(plan.tables.size(), 0);
    for (const WorkUnit& u : units) {
        table_bytes[u.table] += u.estimated_bytes;
    }
    std::stable_sort(units.begin(), units.end(), [&](const WorkUnit& a, const WorkUnit& b) {
        return table_bytes[a.table] > table_bytes[b.table];
    });
    for (size_t i = 0; i < units.size(); ++i) {
        units[i].id = static_cast<uint32_t>(i);
    }
    plan.units = std::move(units);
}

std::vector<UnitBatch> batchUnits(const Plan& plan, long long small_bytes, size_t max_tables,
                                  long long max_bytes) {
    std::vector<UnitBatch> batches;
    long long batch_bytes = 0;
    for (size_t i = 0; i < plan.units.size(); ++i) {
        const WorkUnit& unit = plan.units[i];
        bool small = unit.parts == 1 && unit.estimated_bytes <= small_bytes;
        if (!small) {
            batches.push_back({{i}, false});
            continue;
        }
        if (batches.empty() || !batches.back().small || batches.back().units.size() >= max_tables ||
            batch_bytes + unit.estimated_bytes > max_bytes) {
            batches.push_back({{}, true});
            batch_bytes = 0;
        }
        batches.back().units.push_back(i);
        batch_bytes += unit.estimated_bytes;
    }
    return batches;
}

std::string describeUnit(const pg::Table& table, const WorkUnit& unit) {
    return unit.parts > 1
               ? fmt::format("table {} (part {} of {})", table.qualified, unit.part + 1, unit.parts)
               : fmt::format("table {}", table.qualified);
}

std::string copyInSql(const pg::Table& table, bool freeze) {
    return fmt::format("COPY {}{} FROM STDIN (FORMAT {}{})", table.qualified,
                       table.columns.empty() ? "" : " " + table.columnList(),
                       table.binary_safe ? "binary" : "text", freeze ? ", FREEZE" : "");
}

}  // namespace pgsluice::engine
