#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pgsluice/engine/subset.hpp"
#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/pg/catalog.hpp"

namespace pgsluice::engine {

// One COPY: a whole table, or a range of its pages when the table is split.
struct WorkUnit {
    size_t table = 0;          // index into Plan::tables
    uint32_t id = 0;           // its id in an archive (a dump numbers units in plan order)
    int part = 0;              // 0-based part number
    int parts = 1;             // how many parts the table was cut into
    long long first_page = 0;  // ctid range [first_page, end_page); end_page < 0 = open end
    long long end_page = -1;
    long long estimated_bytes = 0;
    // A subsetted table's unit: the kept rows' ctids [kept_begin, kept_end) of `kept` (owned by
    // the run's Subset), read by ctid instead of a page range.
    const std::vector<uint64_t>* kept = nullptr;
    size_t kept_begin = 0;
    size_t kept_end = 0;
};

// What a copy of the source will do with one table.
struct PlannedTable {
    const pg::Table* table = nullptr;
    bool with_data = true;  // false: definition only (--exclude-table-data)
    int parts = 1;
};

// The whole plan: tables in the order their data moves (largest first) and the work units.
struct Plan {
    std::vector<PlannedTable> tables;
    std::vector<WorkUnit> units;
    long long total_bytes = 0;  // on-disk bytes of the tables whose data moves
};

// Planner settings.
struct PlanOptions {
    long long split_bytes = 1LL << 30;  // tables larger than this are cut into ctid ranges
};

// Orders the selected tables holding data largest first and cuts the large ones into page
// ranges; tables the selection leaves out are not in the plan.
Plan makePlan(const pg::Catalog& catalog, const PlanOptions& options,
              const TableSelection& selection);

// Cuts the units of every table `subset` restricts into units of at most `rows_per_unit` kept
// rows, read by ctid; recomputes the sizes the plan orders by.
void applySubset(Plan& plan, const Subset& subset, size_t rows_per_unit = 100000);

// Units loaded together: one unit of a large table, or several small tables (each in one unit)
// loaded, indexed and analyzed in one target transaction, so that a database of many small
// tables does not pay a transaction, a TRUNCATE and a round trip per index and ANALYZE each.
struct UnitBatch {
    std::vector<size_t> units;  // indexes into Plan::units
    bool small = false;
};

// The units of `plan` in batches, in plan order: a table of at most `small_bytes` (TOAST
// included) loaded in one unit goes into a batch of at most `max_tables` such tables and
// `max_bytes` bytes; every other unit is a batch of its own.
std::vector<UnitBatch> batchUnits(const Plan& plan, long long small_bytes = 1LL << 20,
                                  size_t max_tables = 32, long long max_bytes = 32LL << 20);

// How messages name a unit: "table "s"."t"" or "table "s"."t" (part 2 of 4)".
std::string describeUnit(const pg::Table& table, const WorkUnit& unit);

// The COPY ... TO STDOUT statement that reads one unit from the source.
std::string copyOutSql(const pg::Table& table, const WorkUnit& unit);

// The COPY ... TO STDOUT statement that reads the whole of `table` with the columns of
// `columns_from` (the source's, when digesting a target), as COPY `binary` or text.
std::string copyOutSql(const pg::Table& table, const pg::Table& columns_from, bool binary);

// The COPY ... FROM STDIN statement that loads one unit; `freeze` when the table was truncated
// in the same transaction.
std::string copyInSql(const pg::Table& table, bool freeze);

}  // namespace pgsluice::engine
