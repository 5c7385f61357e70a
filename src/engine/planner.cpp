#include "pgsluice/engine/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace pgsluice::engine {

Plan makePlan(const pg::Catalog& catalog, const PlanOptions& options,
              const SelectionResult& selection) {
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
    const char* format = table.binary_safe ? "binary" : "text";
    if (unit.parts == 1) {
        return fmt::format("COPY {} {} TO STDOUT (FORMAT {})", table.qualified, table.columnList(),
                           format);
    }
    std::string where;
    if (unit.first_page > 0) {
        where = fmt::format("ctid >= '({},0)'::pg_catalog.tid", unit.first_page);
    }
    if (unit.end_page >= 0) {
        where += fmt::format("{}ctid < '({},0)'::pg_catalog.tid", where.empty() ? "" : " AND ",
                             unit.end_page);
    }
    std::string cols = table.columnList();
    return fmt::format("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT (FORMAT {})",
                       cols.substr(1, cols.size() - 2), table.qualified, where, format);
}

std::string describeUnit(const pg::Table& table, const WorkUnit& unit) {
    return unit.parts > 1
               ? fmt::format("table {} (part {} of {})", table.qualified, unit.part + 1, unit.parts)
               : fmt::format("table {}", table.qualified);
}

std::string copyInSql(const pg::Table& table, bool freeze) {
    return fmt::format("COPY {} {} FROM STDIN (FORMAT {}{})", table.qualified, table.columnList(),
                       table.binary_safe ? "binary" : "text", freeze ? ", FREEZE" : "");
}

long long parseSize(const std::string& text) {
    size_t i = 0;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    if (i == 0) {
        throw UsageError(fmt::format("'{}' is not a size: write e.g. 1GB, 512MB or 1048576", text));
    }
    double value = std::strtod(text.substr(0, i).c_str(), nullptr);
    std::string unit;
    for (char c : text.substr(i)) {
        if (c != ' ') {
            unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
    }
    double mult = 1;
    if (unit.empty() || unit == "b") {
        mult = 1;
    } else if (unit == "k" || unit == "kb" || unit == "kib") {
        mult = 1024.0;
    } else if (unit == "m" || unit == "mb" || unit == "mib") {
        mult = 1024.0 * 1024;
    } else if (unit == "g" || unit == "gb" || unit == "gib") {
        mult = 1024.0 * 1024 * 1024;
    } else if (unit == "t" || unit == "tb" || unit == "tib") {
        mult = 1024.0 * 1024 * 1024 * 1024;
    } else {
        throw UsageError(fmt::format("'{}' has an unknown unit: use B, kB, MB, GB or TB", text));
    }
    return static_cast<long long>(std::llround(value * mult));
}

std::string formatBytes(double bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u])
                  : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace pgsluice::engine
