// Unit tests of the engine's pure parts: the planner (units, ctid ranges, COPY statements), the
// table selection and the run preparation (dangling foreign keys, rules files), the abort
// signal and the parallel runner. Catalogues are built by hand; no server is involved.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/live_display.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/engine/target_steps.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/identifier.hpp"
#include "test_support.hpp"

namespace pgsluice::engine {
namespace {

using namespace std::chrono_literals;
using pgsluice::testing::TempDir;

constexpr long long KiB = 1024;
constexpr long long MiB = KiB * 1024;
constexpr long long block = 8192;

// A safety net for waits that must end long before it: a test that reaches it has failed.
constexpr auto safety_net = 30s;

pg::Table makeTable(std::uint32_t oid, const std::string& schema, const std::string& name,
                    long long total_bytes, long long main_bytes, char relkind = 'r') {
    pg::Table t;
    t.oid = oid;
    t.schema = schema;
    t.name = name;
    t.qualified = pg::qualifiedName(schema, name);
    t.relkind = relkind;
    t.visible = schema == "public";
    t.total_bytes = total_bytes;
    t.main_bytes = main_bytes;
    t.columns.push_back({"id", 23, "integer", true, true, false});
    t.columns.push_back({"email", 25, "text", false, false, false});
    return t;
}

pg::Catalog baseCatalog() {
    pg::Catalog c;
    c.database = "app";
    c.block_size = block;
    c.schemas = {"public", "audit"};
    return c;
}

// Runs `body`, expecting a UsageError with exit code 2; returns its message.
template <class F>
std::string usageError(F&& body) {
    try {
        body();
        ADD_FAILURE() << "expected a UsageError, nothing was thrown";
    } catch (const UsageError& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected a UsageError, got: " << e.what();
    }
    return "";
}

// The units of plan table `table`, in plan order.
std::vector<WorkUnit> unitsOf(const Plan& plan, std::size_t table) {
    std::vector<WorkUnit> out;
    for (const auto& u : plan.units) {
        if (u.table == table) {
            out.push_back(u);
        }
    }
    return out;
}

// The position in plan.tables of the table named `name`.
std::size_t planIndex(const Plan& plan, const std::string& name) {
    for (std::size_t i = 0; i < plan.tables.size(); ++i) {
        if (plan.tables[i].table->name == name) {
            return i;
        }
    }
    ADD_FAILURE() << name << " is not in the plan";
    return plan.tables.size();
}

// --- makePlan --------------------------------------------------------------------------------

TEST(EnginePlanner, OrdersTablesLargestFirst) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "small", 10 * KiB, 8 * KiB));
    c.tables.push_back(makeTable(2, "public", "large", 900 * KiB, 800 * KiB));
    c.tables.push_back(makeTable(3, "public", "medium", 100 * KiB, 80 * KiB));
    c.tables.push_back(makeTable(4, "public", "medium_too", 100 * KiB, 80 * KiB));
    const Plan plan = makePlan(c, {}, TableSelection{});
    ASSERT_EQ(plan.tables.size(), 4u);
    EXPECT_EQ(plan.tables[0].table->name, "large");
    EXPECT_EQ(plan.tables[1].table->name, "medium");  // equal sizes keep catalogue order
    EXPECT_EQ(plan.tables[2].table->name, "medium_too");
    EXPECT_EQ(plan.tables[3].table->name, "small");
    ASSERT_EQ(plan.units.size(), 4u);
    for (std::size_t i = 0; i < plan.units.size(); ++i) {
        EXPECT_EQ(plan.units[i].table, i) << "one unit per table, in table order";
        EXPECT_EQ(plan.units[i].parts, 1);
        EXPECT_EQ(plan.units[i].first_page, 0);
        EXPECT_EQ(plan.units[i].end_page, -1);
        EXPECT_EQ(plan.units[i].estimated_bytes, plan.tables[i].table->total_bytes);
    }
    EXPECT_EQ(plan.total_bytes, (10 + 900 + 100 + 100) * KiB);
    // The plan points into the catalogue, not at copies.
    EXPECT_EQ(plan.tables[0].table, &c.tables[1]);
}

TEST(EnginePlanner, SplitsALargeTableIntoCeilTotalOverSplitParts) {
    pg::Catalog c = baseCatalog();
    // 3.5 MiB on disk over a 1 MiB split: 4 parts of its 3 MiB main fork (384 pages).
    c.tables.push_back(makeTable(1, "public", "big", 3 * MiB + 512 * KiB, 3 * MiB));
    PlanOptions options;
    options.split_bytes = MiB;
    const Plan plan = makePlan(c, options, TableSelection{});
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.tables[0].parts, 4);
    ASSERT_EQ(plan.units.size(), 4u);
    const long long pages = 3 * MiB / block;
    long long next = 0;
    for (int p = 0; p < 4; ++p) {
        const WorkUnit& u = plan.units[static_cast<std::size_t>(p)];
        EXPECT_EQ(u.table, 0u);
        EXPECT_EQ(u.part, p);
        EXPECT_EQ(u.parts, 4);
        EXPECT_EQ(u.first_page, next) << "part " << p << " starts where the previous ended";
        EXPECT_EQ(u.estimated_bytes, (3 * MiB + 512 * KiB) / 4);
        next = u.end_page;
        if (p < 3) {
            EXPECT_GT(u.end_page, u.first_page) << "part " << p << " is not empty";
        }
    }
    EXPECT_EQ(plan.units[3].end_page, -1) << "the last part is open-ended";
    EXPECT_EQ(plan.units[0].first_page, 0);
    EXPECT_EQ(plan.units[1].first_page, pages / 4);
    EXPECT_EQ(plan.units[3].first_page, 3 * pages / 4);
}

TEST(EnginePlanner, PartsCoverAllPagesContiguouslyForUnevenSizes) {
    for (long long pages : {2LL, 3LL, 7LL, 97LL, 1000LL}) {
        for (long long split_kib : {8LL, 24LL, 100LL, 1000LL}) {
            pg::Catalog c = baseCatalog();
            c.tables.push_back(makeTable(1, "public", "t", pages * block + 5000, pages * block));
            PlanOptions options;
            options.split_bytes = split_kib * KiB;
            const Plan plan = makePlan(c, options, TableSelection{});
            const long long total = pages * block + 5000;
            const long long wanted = (total + options.split_bytes - 1) / options.split_bytes;
            const int parts = static_cast<int>(std::min(wanted, pages));
            SCOPED_TRACE(::testing::Message() << pages << " pages, split " << split_kib << " kB");
            ASSERT_EQ(plan.units.size(), static_cast<std::size_t>(parts));
            long long next = 0;
            for (const WorkUnit& u : plan.units) {
                EXPECT_EQ(u.first_page, next);
                next = u.end_page;
                if (u.part + 1 < u.parts) {
                    EXPECT_GT(u.end_page, u.first_page) << "no part may be empty";
                    EXPECT_LT(u.end_page, pages);
                }
            }
            EXPECT_EQ(plan.units.back().end_page, -1);
        }
    }
}

TEST(EnginePlanner, NeverCutsATableIntoMorePartsThanPages) {
    pg::Catalog c = baseCatalog();
    // 10 MiB (mostly TOAST) over 1 MiB would be 10 parts, but the main fork has 3 pages.
    c.tables.push_back(makeTable(1, "public", "toasty", 10 * MiB, 3 * block));
    // One page cannot be cut at all.
    c.tables.push_back(makeTable(2, "public", "one_page", 5 * MiB, block));
    // Less than a page: zero whole pages.
    c.tables.push_back(makeTable(3, "public", "no_page", 4 * MiB, 100));
    PlanOptions options;
    options.split_bytes = MiB;
    const Plan plan = makePlan(c, options, TableSelection{});
    ASSERT_EQ(plan.tables.size(), 3u);
    const std::vector<WorkUnit> toasty = unitsOf(plan, planIndex(plan, "toasty"));
    ASSERT_EQ(toasty.size(), 3u);
    EXPECT_EQ(toasty[0].first_page, 0);
    EXPECT_EQ(toasty[0].end_page, 1);
    EXPECT_EQ(toasty[1].first_page, 1);
    EXPECT_EQ(toasty[1].end_page, 2);
    EXPECT_EQ(toasty[2].first_page, 2);
    EXPECT_EQ(toasty[2].end_page, -1);
    for (const char* whole : {"one_page", "no_page"}) {
        const std::vector<WorkUnit> units = unitsOf(plan, planIndex(plan, whole));
        ASSERT_EQ(units.size(), 1u) << whole;
        EXPECT_EQ(units[0].parts, 1);
        EXPECT_EQ(units[0].end_page, -1);
    }
}

TEST(EnginePlanner, TableAtExactlySplitBytesIsNotCut) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "t", MiB, MiB));
    PlanOptions options;
    options.split_bytes = MiB;
    EXPECT_EQ(makePlan(c, options, TableSelection{}).units.size(), 1u);
    options.split_bytes = MiB - 1;
    EXPECT_EQ(makePlan(c, options, TableSelection{}).units.size(), 2u);
}

TEST(EnginePlanner, SplitBytesZeroDisablesSplitting) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "huge", 50 * MiB, 50 * MiB));
    PlanOptions options;
    options.split_bytes = 0;
    const Plan plan = makePlan(c, options, TableSelection{});
    ASSERT_EQ(plan.units.size(), 1u);
    EXPECT_EQ(plan.tables[0].parts, 1);
    EXPECT_EQ(plan.units[0].end_page, -1);
}

TEST(EnginePlanner, UnitIdsArePositionsAndEachTablesUnitsAreAdjacent) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "a", 3 * MiB, 3 * MiB));
    c.tables.push_back(makeTable(2, "public", "b", 10 * KiB, 8 * KiB));
    c.tables.push_back(makeTable(3, "public", "c", 5 * MiB, 5 * MiB));
    PlanOptions options;
    options.split_bytes = MiB;
    const Plan plan = makePlan(c, options, TableSelection{});
    ASSERT_EQ(plan.units.size(), 5u + 3u + 1u);
    for (std::size_t i = 0; i < plan.units.size(); ++i) {
        EXPECT_EQ(plan.units[i].id, i);
        if (i > 0) {
            EXPECT_GE(plan.units[i].table, plan.units[i - 1].table) << "units in table order";
        }
        const PlannedTable& pt = plan.tables[plan.units[i].table];
        EXPECT_EQ(plan.units[i].parts, pt.parts);
    }
    EXPECT_EQ(plan.tables[0].table->name, "c");
    EXPECT_EQ(plan.tables[0].parts, 5);
    EXPECT_EQ(plan.tables[1].table->name, "a");
    EXPECT_EQ(plan.tables[1].parts, 3);
}

TEST(EnginePlanner, SchemaOnlyTablesHaveNoUnitsAndDoNotCount) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "kept", 100 * KiB, 80 * KiB));
    c.tables.push_back(makeTable(2, "public", "definition_only", 9 * MiB, 9 * MiB));
    TableSelection selection;
    selection.schema_only = {2};
    PlanOptions options;
    options.split_bytes = MiB;
    const Plan plan = makePlan(c, options, selection);
    ASSERT_EQ(plan.tables.size(), 2u);
    const PlannedTable& def = plan.tables[planIndex(plan, "definition_only")];
    EXPECT_FALSE(def.with_data);
    EXPECT_EQ(def.parts, 1) << "a table without data is not cut";
    EXPECT_TRUE(unitsOf(plan, planIndex(plan, "definition_only")).empty());
    EXPECT_TRUE(plan.tables[planIndex(plan, "kept")].with_data);
    ASSERT_EQ(plan.units.size(), 1u);
    EXPECT_EQ(plan.tables[plan.units[0].table].table->name, "kept");
    EXPECT_EQ(plan.units[0].id, 0u);
    EXPECT_EQ(plan.total_bytes, 100 * KiB);
}

TEST(EnginePlanner, SkippedTablesAndRelationsWithoutRowsAreAbsent) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "kept", 10 * KiB, 8 * KiB));
    c.tables.push_back(makeTable(2, "public", "skipped", 20 * KiB, 16 * KiB));
    c.tables.push_back(makeTable(3, "public", "partitioned", 30 * KiB, 0, 'p'));
    c.tables.push_back(makeTable(4, "public", "foreign", 40 * KiB, 0, 'f'));
    c.tables.push_back(makeTable(5, "public", "matview", 50 * KiB, 40 * KiB, 'm'));
    TableSelection selection;
    selection.skip = {2};
    const Plan plan = makePlan(c, {}, selection);
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.tables[0].table->name, "kept");
    ASSERT_EQ(plan.units.size(), 1u);
    EXPECT_EQ(plan.total_bytes, 10 * KiB);
}

TEST(EnginePlanner, EmptyCatalogGivesAnEmptyPlan) {
    const Plan plan = makePlan(baseCatalog(), {}, TableSelection{});
    EXPECT_TRUE(plan.tables.empty());
    EXPECT_TRUE(plan.units.empty());
    EXPECT_EQ(plan.total_bytes, 0);
}

TEST(EnginePlanner, SmallTablesAreBatchedBigOnesAndPartsLoadAlone) {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(1, "public", "big", 40 * MiB, 40 * MiB));
    for (std::uint32_t i = 0; i < 70; ++i) {
        c.tables.push_back(
            makeTable(10 + i, "public", "small" + std::to_string(i), 64 * KiB, 64 * KiB));
    }
    c.tables.push_back(makeTable(2, "public", "medium", 900 * KiB, 900 * KiB));
    PlanOptions options;
    options.split_bytes = 16 * MiB;
    const Plan plan = makePlan(c, options, TableSelection{});
    const std::vector<UnitBatch> batches = batchUnits(plan, 1 * MiB, 32, 32 * MiB);
    // big: 3 parts alone; medium and the small ones: batches of at most 32 tables.
    ASSERT_GE(batches.size(), 5u);
    std::size_t units = 0;
    std::size_t small_units = 0;
    for (const UnitBatch& b : batches) {
        units += b.units.size();
        EXPECT_LE(b.units.size(), 32u);
        if (!b.small) {
            EXPECT_EQ(b.units.size(), 1u);
            EXPECT_GT(plan.units[b.units.front()].parts, 1);
        } else {
            small_units += b.units.size();
            for (std::size_t u : b.units) {
                EXPECT_EQ(plan.units[u].parts, 1);
                EXPECT_LE(plan.units[u].estimated_bytes, 1 * MiB);
            }
        }
    }
    EXPECT_EQ(units, plan.units.size());
    EXPECT_EQ(small_units, 71u);
    // In plan order: the batches list every unit once, ascending.
    std::size_t next = 0;
    for (const UnitBatch& b : batches) {
        for (std::size_t u : b.units) {
            EXPECT_EQ(u, next++);
        }
    }
    // The byte bound cuts batches too.
    const std::vector<UnitBatch> by_bytes = batchUnits(plan, 1 * MiB, 32, 256 * KiB);
    for (const UnitBatch& b : by_bytes) {
        if (b.small) {
            EXPECT_LE(b.units.size(), 4u);
        }
    }
}

// --- describeUnit and the COPY statements ----------------------------------------------------

// A table cut in three parts at pages 10 and 20 (30 pages), binary or not.
struct SplitSample {
    pg::Catalog catalog = baseCatalog();
    Plan plan;
    explicit SplitSample(bool binary_safe = true) {
        catalog.tables.push_back(makeTable(1, "public", "big", 30 * block, 30 * block));
        catalog.tables.back().binary_safe = binary_safe;
        PlanOptions options;
        options.split_bytes = 10 * block;
        plan = makePlan(catalog, options, TableSelection{});
    }
    const pg::Table& table() const { return catalog.tables[0]; }
};

TEST(EngineCopySql, DescribeUnitNamesThePartOfASplitTable) {
    SplitSample s;
    ASSERT_EQ(s.plan.units.size(), 3u);
    EXPECT_EQ(describeUnit(s.table(), s.plan.units[0]), "table \"public\".\"big\" (part 1 of 3)");
    EXPECT_EQ(describeUnit(s.table(), s.plan.units[2]), "table \"public\".\"big\" (part 3 of 3)");
    WorkUnit whole;
    EXPECT_EQ(describeUnit(s.table(), whole), "table \"public\".\"big\"");
}

TEST(EngineCopySql, WholeTableIsCopiedWithItsColumnList) {
    const pg::Table t = makeTable(1, "public", "users", 0, 0);
    WorkUnit whole;
    EXPECT_EQ(copyOutSql(t, whole),
              "COPY \"public\".\"users\" (\"id\", \"email\") TO STDOUT (FORMAT binary)");
    pg::Table text = t;
    text.binary_safe = false;
    EXPECT_EQ(copyOutSql(text, whole),
              "COPY \"public\".\"users\" (\"id\", \"email\") TO STDOUT (FORMAT text)");
}

TEST(EngineCopySql, FirstPartHasOnlyAnUpperBound) {
    SplitSample s;
    EXPECT_EQ(copyOutSql(s.table(), s.plan.units[0]),
              "COPY (SELECT \"id\", \"email\" FROM ONLY \"public\".\"big\" WHERE "
              "ctid < '(10,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)");
}

TEST(EngineCopySql, MiddlePartHasBothBounds) {
    SplitSample s;
    EXPECT_EQ(copyOutSql(s.table(), s.plan.units[1]),
              "COPY (SELECT \"id\", \"email\" FROM ONLY \"public\".\"big\" WHERE "
              "ctid >= '(10,0)'::pg_catalog.tid AND ctid < '(20,0)'::pg_catalog.tid) TO STDOUT "
              "(FORMAT binary)");
}

TEST(EngineCopySql, LastPartHasOnlyALowerBound) {
    SplitSample s;
    EXPECT_EQ(copyOutSql(s.table(), s.plan.units[2]),
              "COPY (SELECT \"id\", \"email\" FROM ONLY \"public\".\"big\" WHERE "
              "ctid >= '(20,0)'::pg_catalog.tid) TO STDOUT (FORMAT binary)");
}

TEST(EngineCopySql, PartsOfATableThatIsNotBinarySafeUseText) {
    SplitSample s(false);
    for (const WorkUnit& u : s.plan.units) {
        const std::string sql = copyOutSql(s.table(), u);
        EXPECT_TRUE(sql.ends_with("TO STDOUT (FORMAT text)")) << sql;
    }
}

TEST(EngineCopySql, QuotesAwkwardNamesInEveryPart) {
    pg::Catalog c = baseCatalog();
    pg::Table t = makeTable(1, "My \"Schema\"", "odd.name", 30 * block, 30 * block);
    t.columns = {{"a\"b", 25, "text"}, {"Mixed Case", 25, "text"}};
    c.tables.push_back(t);
    PlanOptions options;
    options.split_bytes = 10 * block;
    const Plan plan = makePlan(c, options, TableSelection{});
    ASSERT_EQ(plan.units.size(), 3u);
    EXPECT_EQ(
        copyOutSql(c.tables[0], plan.units[1]),
        "COPY (SELECT \"a\"\"b\", \"Mixed Case\" FROM ONLY \"My \"\"Schema\"\"\".\"odd.name\" "
        "WHERE ctid >= '(10,0)'::pg_catalog.tid AND ctid < '(20,0)'::pg_catalog.tid) TO "
        "STDOUT (FORMAT binary)");
}

TEST(EngineCopySql, CopyOutWithAnotherTablesColumns) {
    pg::Table target = makeTable(1, "public", "users", 0, 0);
    target.columns.push_back({"extra", 25, "text"});  // the target has a column more
    const pg::Table source = makeTable(2, "public", "users", 0, 0);
    EXPECT_EQ(copyOutSql(target, source, true),
              "COPY \"public\".\"users\" (\"id\", \"email\") TO STDOUT (FORMAT binary)");
    EXPECT_EQ(copyOutSql(target, source, false),
              "COPY \"public\".\"users\" (\"id\", \"email\") TO STDOUT (FORMAT text)");
}

TEST(EngineCopySql, CopyInWithAndWithoutFreeze) {
    pg::Table t = makeTable(1, "public", "users", 0, 0);
    EXPECT_EQ(copyInSql(t, false),
              "COPY \"public\".\"users\" (\"id\", \"email\") FROM STDIN (FORMAT binary)");
    EXPECT_EQ(copyInSql(t, true),
              "COPY \"public\".\"users\" (\"id\", \"email\") FROM STDIN (FORMAT binary, FREEZE)");
    t.binary_safe = false;
    EXPECT_EQ(copyInSql(t, true),
              "COPY \"public\".\"users\" (\"id\", \"email\") FROM STDIN (FORMAT text, FREEZE)");
}

TEST(EngineCopySql, TableWithoutCopyColumnsGetsNoEmptyColumnList) {
    // CREATE TABLE marker () (or a table of generated columns only) has rows but no column COPY
    // moves. PostgreSQL's grammar has no empty column list: COPY t () ... is a syntax error.
    pg::Table t = makeTable(1, "public", "marker", 0, 0);
    t.columns.clear();
    WorkUnit whole;
    EXPECT_EQ(copyOutSql(t, whole).find("()"), std::string::npos) << copyOutSql(t, whole);
    EXPECT_EQ(copyOutSql(t, t, true).find("()"), std::string::npos) << copyOutSql(t, t, true);
    EXPECT_EQ(copyInSql(t, true).find("()"), std::string::npos) << copyInSql(t, true);
}

// --- attachSql -------------------------------------------------------------------------------

TEST(EngineAttachSql, TablesAttachedWhileTheyLoadedAreLeftOut) {
    pg::Catalog c = baseCatalog();
    for (std::uint32_t i = 0; i < 3; ++i) {
        pg::Table t = makeTable(20 + i, "public", "t" + std::to_string(i), KiB, KiB);
        pg::IndexDef pk;
        pk.name = t.name + "_pkey";
        pk.attach_sql = "ALTER TABLE ONLY " + t.qualified + " ADD CONSTRAINT " + pk.name +
                        " PRIMARY KEY USING INDEX " + pk.name + ";";
        t.indexes.push_back(pk);
        c.tables.push_back(t);
    }
    const Plan plan = makePlan(c, {}, selectTables(c, {}));
    ASSERT_EQ(plan.tables.size(), 3u);
    std::vector<std::string> all = attachSql(plan);
    ASSERT_EQ(all.size(), 1u);
    for (const auto& pt : plan.tables) {
        EXPECT_NE(all[0].find(pt.table->name + "_pkey"), std::string::npos);
    }
    std::vector<bool> attached(plan.tables.size(), true);
    attached[1] = false;
    std::vector<std::string> rest = attachSql(plan, attached);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0], plan.tables[1].table->indexes[0].attach_sql);
    EXPECT_TRUE(attachSql(plan, std::vector<bool>(plan.tables.size(), true)).empty());
}

// --- selectTables ----------------------------------------------------------------------------

// public.users <- public.orders (orders_user_fk), public.users <- audit.log (log_user_fk).
pg::Catalog fkCatalog() {
    pg::Catalog c = baseCatalog();
    c.tables.push_back(makeTable(10, "public", "users", 300 * KiB, 200 * KiB));
    c.tables.push_back(makeTable(11, "public", "orders", 200 * KiB, 100 * KiB));
    c.tables.push_back(makeTable(12, "audit", "log", 100 * KiB, 50 * KiB));
    c.foreign_keys.push_back({100, "orders_user_fk", 11, 10});
    c.foreign_keys.push_back({101, "log_user_fk", 12, 10});
    return c;
}

TEST(EngineSelectTables, TableOptionKeepsOnlyMatchingTables) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.include_tables = {"public.orders"};
    const TableSelection s = selectTables(c, options);
    EXPECT_EQ(s.skip, (std::set<std::uint32_t>{10, 12}));
    EXPECT_TRUE(s.schema_only.empty());
    EXPECT_FALSE(s.include_everything);
    EXPECT_TRUE(s.warnings.empty());
    const Plan plan = makePlan(c, {}, s);
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.tables[0].table->name, "orders");
}

// pg_dump may start before the catalogue is read only when the catalogue cannot change its
// options: then they are exactly what selectTables gives it.
TEST(EngineSelectTables, PgDumpArgsBeforeTheCatalogueAreTheSelectionsOwn) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.include_tables = {"public.*"};
    options.exclude_tables = {"public.users"};
    options.exclude_schemas = {"audit"};
    std::optional<std::vector<std::string>> early = pgDumpArgsBeforeCatalog(options);
    ASSERT_TRUE(early.has_value());
    EXPECT_EQ(*early, selectTables(c, options).pg_dump_args);
    EXPECT_EQ(*early, (std::vector<std::string>{"--table=public.*", "--exclude-table=public.users",
                                                "--exclude-schema=audit"}));
    EXPECT_EQ(pgDumpArgsBeforeCatalog(filter::SelectionOptions{}), std::vector<std::string>{});
}

TEST(EngineSelectTables, AndChildrenPatternsNeedTheCatalogueBeforePgDump) {
    filter::SelectionOptions with_children;
    with_children.include_table_and_children = {"public.users"};
    EXPECT_FALSE(pgDumpArgsBeforeCatalog(with_children).has_value());
    filter::SelectionOptions without_children;
    without_children.exclude_table_and_children = {"public.orders"};
    EXPECT_FALSE(pgDumpArgsBeforeCatalog(without_children).has_value());
}

TEST(EngineSelectTables, ExcludeTableDataMakesATableSchemaOnly) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.exclude_table_data = {"audit.*"};
    const TableSelection s = selectTables(c, options);
    EXPECT_TRUE(s.skip.empty());
    EXPECT_EQ(s.schema_only, (std::set<std::uint32_t>{12}));
    EXPECT_TRUE(s.include_everything);
    EXPECT_TRUE(s.dangling.empty()) << "log references users, whose rows are kept";
}

TEST(EngineSelectTables, KeyToASkippedTableDangles) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.include_tables = {"public.orders"};
    const TableSelection s = selectTables(c, options);
    ASSERT_EQ(s.dangling.size(), 1u) << "log is skipped too, so its key does not matter";
    const DanglingForeignKey& d = s.dangling[0];
    EXPECT_EQ(d.key, &c.foreign_keys[0]);
    EXPECT_EQ(d.table, "public.orders");
    EXPECT_EQ(d.referenced, "public.users");
    EXPECT_EQ(d.reason, "it is left out");
}

TEST(EngineSelectTables, KeyToASchemaOnlyTableDanglesForTablesWithRows) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.exclude_table_data = {"public.users", "audit.log"};
    const TableSelection s = selectTables(c, options);
    ASSERT_EQ(s.dangling.size(), 1u) << "audit.log has no rows either, so it points at nothing";
    EXPECT_EQ(s.dangling[0].key->name, "orders_user_fk");
    EXPECT_EQ(s.dangling[0].reason, "its rows are left out");
}

TEST(EngineSelectTables, DanglingMessageNamesEveryConstraint) {
    const pg::Catalog c = fkCatalog();
    filter::SelectionOptions options;
    options.exclude_table_data = {"public.users"};
    const TableSelection s = selectTables(c, options);
    ASSERT_EQ(s.dangling.size(), 2u);
    EXPECT_EQ(danglingMessage(s.dangling),
              "2 foreign keys would fail at the end of the copy, because the rows they point at "
              "are not copied:\n"
              "  constraint orders_user_fk on public.orders references public.users: its rows "
              "are left out\n"
              "  constraint log_user_fk on audit.log references public.users: its rows are left "
              "out\n"
              "Keep the referenced tables' rows, leave out the referencing tables' rows too, or "
              "give --drop-dangling-foreign-keys to copy without these constraints.");
    std::vector<DanglingForeignKey> one(s.dangling.begin(), s.dangling.begin() + 1);
    EXPECT_TRUE(danglingMessage(one).starts_with("1 foreign key would fail"))
        << danglingMessage(one);
}

// --- prepareRun ------------------------------------------------------------------------------

TEST(EnginePrepare, UnmatchedPatternsBecomeWarnings) {
    filter::SelectionOptions options;
    options.exclude_tables = {"public.nosuch"};
    options.exclude_table_data = {"audit.missing"};
    const pg::Catalog c = fkCatalog();
    const Prepared p = prepareRun(c, options, "", false);
    ASSERT_EQ(p.warnings.size(), 2u);
    EXPECT_TRUE(p.warnings[0].starts_with("pattern \"public.nosuch\" given to --exclude-table "))
        << p.warnings[0];
    EXPECT_TRUE(
        p.warnings[1].starts_with("pattern \"audit.missing\" given to --exclude-table-data "))
        << p.warnings[1];
    EXPECT_EQ(p.sanitizing, nullptr);
    EXPECT_TRUE(p.notes.empty());
    EXPECT_TRUE(p.dropped_foreign_keys.empty());
    EXPECT_NO_THROW(requireNoDangling(p));
}

TEST(EnginePrepare, DroppedDanglingKeysAreListedWithAWarningEach) {
    filter::SelectionOptions options;
    options.exclude_table_data = {"public.users"};
    const pg::Catalog c = fkCatalog();
    const Prepared p = prepareRun(c, options, "", true);
    EXPECT_EQ(p.dropped_foreign_keys, (std::set<std::uint32_t>{100, 101}));
    ASSERT_EQ(p.warnings.size(), 2u);
    EXPECT_EQ(p.warnings[0],
              "leaving out foreign key orders_user_fk on public.orders: public.users (its rows "
              "are left out)");
    EXPECT_EQ(p.warnings[1],
              "leaving out foreign key log_user_fk on audit.log: public.users (its rows are left "
              "out)");
    EXPECT_NO_THROW(requireNoDangling(p));
}

TEST(EnginePrepare, DanglingKeysThatAreNotDroppedStopTheRun) {
    filter::SelectionOptions options;
    options.include_tables = {"public.orders"};
    const pg::Catalog c = fkCatalog();
    const Prepared p = prepareRun(c, options, "", false);
    EXPECT_TRUE(p.dropped_foreign_keys.empty());
    ASSERT_EQ(p.selection.dangling.size(), 1u);
    const std::string message = usageError([&] { requireNoDangling(p); });
    EXPECT_CONTAINS(message, "constraint orders_user_fk on public.orders references public.users");
    EXPECT_EQ(message, danglingMessage(p.selection.dangling));
}

// Sets the salt variable for a test's duration.
class SaltEnv {
  public:
    static constexpr const char* name = "PGSLUICE_ENGINE_TEST_SALT";
    SaltEnv() { ::setenv(name, "engine unit test salt 0123456789abcdef", 1); }
    ~SaltEnv() { ::unsetenv(name); }
};

std::string writeRules(const TempDir& dir, const std::string& text) {
    const std::string path = dir.file("rules.yaml");
    std::ofstream(path) << text;
    return path;
}

TEST(EnginePrepare, RulesFileIsCheckedAgainstTheCatalogue) {
    SaltEnv salt;
    TempDir dir;
    const std::string path = writeRules(dir,
                                        "version: 1\n"
                                        "salt_env: PGSLUICE_ENGINE_TEST_SALT\n"
                                        "tables:\n"
                                        "  public.users:\n"
                                        "    email: email\n");
    const pg::Catalog c = fkCatalog();
    const Prepared p = prepareRun(c, {}, path, false);
    ASSERT_NE(p.sanitizing, nullptr);
    const sanitize::TableSanitizer* users = p.sanitizing->forTable(c.tables[0]);
    ASSERT_NE(users, nullptr);
    EXPECT_EQ(users->schema, "public");
    EXPECT_EQ(users->name, "users");
    ASSERT_EQ(users->columns.size(), 1u);
    EXPECT_EQ(users->columns[0].name, "email");
    EXPECT_EQ(users->columns[0].index, 1);
    EXPECT_EQ(users->column_count, 2);
    EXPECT_EQ(p.sanitizing->forTable(c.tables[1]), nullptr) << "orders has no rule";
    EXPECT_FALSE(p.sanitizing->rules_hash.empty());
    ASSERT_EQ(p.notes.size(), 1u);
    EXPECT_EQ(p.notes[0], "--rules: rewriting columns of 1 tables (rules hash " +
                              p.sanitizing->rules_hash + ")");
    EXPECT_TRUE(p.warnings.empty());
}

TEST(EnginePrepare, RulesExcludeTableDataActsLikeTheOption) {
    SaltEnv salt;
    TempDir dir;
    const std::string path = writeRules(dir,
                                        "version: 1\n"
                                        "exclude_table_data:\n"
                                        "  - audit.*\n");
    const pg::Catalog c = fkCatalog();
    const Prepared p = prepareRun(c, {}, path, false);
    EXPECT_EQ(p.options.exclude_table_data, (std::vector<std::string>{"audit.*"}));
    EXPECT_EQ(p.selection.schema_only, (std::set<std::uint32_t>{12}));
    ASSERT_NE(p.sanitizing, nullptr);
    EXPECT_TRUE(p.sanitizing->plan.tables.empty());
}

TEST(EnginePrepare, RuleOnAMissingColumnIsAUsageError) {
    SaltEnv salt;
    TempDir dir;
    const std::string path = writeRules(dir,
                                        "version: 1\n"
                                        "salt_env: PGSLUICE_ENGINE_TEST_SALT\n"
                                        "tables:\n"
                                        "  public.users:\n"
                                        "    emial: email\n");
    const pg::Catalog c = fkCatalog();
    const std::string message = usageError([&] { prepareRun(c, {}, path, false); });
    EXPECT_CONTAINS(message,
                    ":5: table public.users has no column \"emial\" (its columns: id, "
                    "email)");
}

TEST(EnginePrepare, RulesFileThatDoesNotParseIsAUsageErrorWithItsLine) {
    TempDir dir;
    const std::string path = writeRules(dir, "version: 1\ntabels: {}\n");
    const pg::Catalog c = fkCatalog();
    const std::string message = usageError([&] { prepareRun(c, {}, path, false); });
    EXPECT_CONTAINS(message, ":2: unknown key \"tabels\"");
}

// --- AbortSignal -----------------------------------------------------------------------------

std::exception_ptr errorOf(const std::string& message) {
    return std::make_exception_ptr(Error(message));
}

// The message of what abort.rethrow() throws ("" when it throws nothing).
std::string rethrown(const AbortSignal& abort) {
    try {
        abort.rethrow();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

TEST(EngineAbort, NothingToRethrowBeforeAFailure) {
    AbortSignal abort;
    EXPECT_FALSE(abort.aborted());
    EXPECT_EQ(abort.error(), nullptr);
    EXPECT_NO_THROW(abort.rethrow());
    EXPECT_NO_THROW(abort.check());
    EXPECT_FALSE(abort.interrupted());
}

TEST(EngineAbort, FirstFailureWins) {
    AbortSignal abort;
    abort.fail(errorOf("first"));
    abort.fail(errorOf("second"));
    EXPECT_TRUE(abort.aborted());
    EXPECT_EQ(rethrown(abort), "first");
    EXPECT_EQ(rethrown(abort), "first") << "rethrow() may be called again";
}

TEST(EngineAbort, CancelledThatOutranItsCauseGivesWayToIt) {
    // A worker that notices the abort (Cancelled) can record it before the failing worker
    // records the cause; the cause is what the run must report.
    AbortSignal abort;
    abort.fail(std::make_exception_ptr(Cancelled("stopped")));
    EXPECT_TRUE(abort.aborted());
    abort.fail(std::make_exception_ptr(FormatError("archive truncated")));
    EXPECT_THROW(abort.rethrow(), FormatError);
    abort.fail(errorOf("a later failure"));
    abort.fail(std::make_exception_ptr(Cancelled("stopped again")));
    EXPECT_EQ(rethrown(abort), "archive truncated");
}

TEST(EngineAbort, FirstCancelledStaysWhenNoCauseFollows) {
    AbortSignal abort;
    abort.fail(std::make_exception_ptr(Cancelled("first")));
    abort.fail(std::make_exception_ptr(Cancelled("second")));
    EXPECT_THROW(abort.rethrow(), Cancelled);
    EXPECT_EQ(rethrown(abort), "first");
}

TEST(EngineAbort, InterruptIsACauseThatLaterFailuresDoNotReplace) {
    AbortSignal abort;
    abort.interrupt(SIGINT);
    EXPECT_TRUE(abort.aborted());
    EXPECT_TRUE(abort.interrupted());
    abort.fail(errorOf("canceling statement due to user request"));
    EXPECT_THROW(abort.rethrow(), Cancelled);
    EXPECT_EQ(rethrown(abort), "interrupted by Ctrl-C (SIGINT)");
}

TEST(EngineAbort, InterruptAfterARealFailureKeepsTheFailure) {
    AbortSignal abort;
    abort.fail(errorOf("disk full"));
    abort.interrupt(SIGTERM);
    EXPECT_EQ(rethrown(abort), "disk full");
}

TEST(EngineAbort, InterruptReplacesAConsequenceRecordedBeforeIt) {
    AbortSignal abort;
    abort.fail(std::make_exception_ptr(Cancelled("stopped")));
    abort.interrupt(SIGINT);
    EXPECT_TRUE(abort.interrupted());
    EXPECT_EQ(rethrown(abort), "interrupted by Ctrl-C (SIGINT)");
}

TEST(EngineAbort, CaptureKeepsPgsluiceErrorsWithTheirType) {
    AbortSignal abort;
    abort.capture([] { throw UsageError("bad option"); });
    EXPECT_THROW(abort.rethrow(), UsageError);
    EXPECT_EQ(rethrown(abort), "bad option");
}

TEST(EngineAbort, CaptureTurnsForeignExceptionsIntoErrors) {
    AbortSignal abort;
    abort.capture([] { throw std::runtime_error("disk on fire"); });
    try {
        abort.rethrow();
        FAIL() << "nothing rethrown";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "disk on fire");
        EXPECT_EQ(e.code(), ExitCode::failure);
        EXPECT_EQ(dynamic_cast<const Cancelled*>(&e), nullptr);
    }
    AbortSignal other;
    other.capture([] { throw 42; });
    EXPECT_EQ(rethrown(other), "unknown failure");
}

TEST(EngineAbort, CaptureOfABodyThatSucceedsRecordsNothing) {
    AbortSignal abort;
    bool ran = false;
    abort.capture([&] { ran = true; });
    EXPECT_TRUE(ran);
    EXPECT_FALSE(abort.aborted());
}

TEST(EngineAbort, CheckThrowsCancelledAfterAFailure) {
    AbortSignal abort;
    abort.fail(errorOf("worker 3 failed"));
    try {
        abort.check();
        FAIL() << "check() did not throw";
    } catch (const Cancelled& e) {
        EXPECT_STREQ(e.what(), "stopped because another part of the run failed");
    }
    EXPECT_EQ(rethrown(abort), "worker 3 failed") << "check() does not replace the failure";
}

TEST(EngineAbort, RethrowInContextKeepsTypeAndFields) {
    AbortSignal abort;
    try {
        try {
            throw pg::PgError("boom", "57P01");
        } catch (...) {
            rethrowInContext(abort, "copying table t");
        }
    } catch (const pg::PgError& e) {
        EXPECT_EQ(e.sqlstate(), "57P01");
        EXPECT_TRUE(std::string(e.what()).starts_with("copying table t: boom")) << e.what();
        return;
    } catch (const std::exception& e) {
        FAIL() << "lost its type: " << e.what();
    }
    FAIL() << "nothing was rethrown";
}

TEST(EngineAbort, RethrowInContextKeepsFormatErrorAndUsageError) {
    AbortSignal abort;
    try {
        try {
            throw FormatError("bad tuple length");
        } catch (...) {
            rethrowInContext(abort, "loading table t");
        }
    } catch (const FormatError& e) {
        EXPECT_STREQ(e.what(), "loading table t: bad tuple length");
    }
    try {
        try {
            throw UsageError("no such table");
        } catch (...) {
            rethrowInContext(abort, "ctx");
        }
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(), "ctx: no such table");
        EXPECT_EQ(e.code(), ExitCode::usage);
    }
}

TEST(EngineAbort, RethrowInContextLeavesCancelledAlone) {
    AbortSignal abort;
    try {
        try {
            throw Cancelled("interrupted by Ctrl-C (SIGINT)");
        } catch (...) {
            rethrowInContext(abort, "copying table t");
        }
    } catch (const Cancelled& e) {
        EXPECT_STREQ(e.what(), "interrupted by Ctrl-C (SIGINT)");
    }
}

TEST(EngineAbort, RethrowInContextTurnsErrorsIntoCancelledOnceAborted) {
    AbortSignal abort;
    abort.fail(errorOf("the cause"));
    for (int kind = 0; kind < 3; ++kind) {
        try {
            try {
                if (kind == 0) {
                    throw pg::PgError("canceling statement due to user request", "57014");
                } else if (kind == 1) {
                    throw FormatError("truncated");
                } else {
                    throw Error("connection lost");
                }
            } catch (...) {
                rethrowInContext(abort, "copying table t");
            }
        } catch (const Cancelled& e) {
            EXPECT_EQ(std::string(e.what()).find("copying table t"), std::string::npos) << e.what();
            continue;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "kind " << kind << " stayed an error: " << e.what();
        }
    }
    EXPECT_EQ(rethrown(abort), "the cause");
}

TEST(EngineAbort, OnAbortWakesAThreadBlockedOnACondition) {
    AbortSignal abort;
    std::mutex mutex;
    std::condition_variable cv;
    bool waiting = false;
    int wakes = 0;
    AbortSignal::Waker waker = abort.onAbort([&] {
        std::lock_guard lock(mutex);
        ++wakes;
        cv.notify_all();
    });
    bool saw_abort = false;
    std::chrono::steady_clock::duration waited{};
    std::thread waiter([&] {
        std::unique_lock lock(mutex);
        waiting = true;
        cv.notify_all();
        const auto start = std::chrono::steady_clock::now();
        saw_abort = cv.wait_for(lock, safety_net, [&] { return abort.aborted(); });
        waited = std::chrono::steady_clock::now() - start;
    });
    {
        // Once this thread holds the mutex with `waiting` set, the waiter is inside wait_for.
        std::unique_lock lock(mutex);
        cv.wait(lock, [&] { return waiting; });
    }
    abort.fail(errorOf("boom"));
    waiter.join();
    EXPECT_TRUE(saw_abort);
    EXPECT_LT(waited, safety_net / 2) << "the waiter was not woken by the abort";
    EXPECT_EQ(wakes, 1);
}

TEST(EngineAbort, WakerRegisteredAfterTheAbortIsCalledAtOnce) {
    AbortSignal abort;
    abort.fail(errorOf("boom"));
    int calls = 0;
    AbortSignal::Waker waker = abort.onAbort([&] { ++calls; });
    EXPECT_EQ(calls, 1);
    abort.fail(errorOf("again"));
    EXPECT_EQ(calls, 1) << "a later failure wakes nobody again";
}

TEST(EngineAbort, DestroyedWakerIsNotCalled) {
    AbortSignal abort;
    int dead_calls = 0;
    int live_calls = 0;
    AbortSignal::Waker live = abort.onAbort([&] { ++live_calls; });
    {
        AbortSignal::Waker dead = abort.onAbort([&] { ++dead_calls; });
    }
    abort.fail(errorOf("boom"));
    EXPECT_EQ(dead_calls, 0);
    EXPECT_EQ(live_calls, 1);
}

TEST(EngineAbort, MovedWakerStaysRegisteredUntilTheNewOwnerDies) {
    AbortSignal abort;
    int calls = 0;
    std::optional<AbortSignal::Waker> first(abort.onAbort([&] { ++calls; }));
    std::optional<AbortSignal::Waker> second(std::move(*first));
    first.reset();  // the moved-from Waker unregisters nothing
    abort.fail(errorOf("boom"));
    EXPECT_EQ(calls, 1);
    second.reset();

    AbortSignal other;
    int other_calls = 0;
    std::optional<AbortSignal::Waker> a(other.onAbort([&] { ++other_calls; }));
    std::optional<AbortSignal::Waker> b(std::move(*a));
    b.reset();
    a.reset();
    other.fail(errorOf("boom"));
    EXPECT_EQ(other_calls, 0);
}

// --- runParallel, forEachParallel, BackgroundWorkers -----------------------------------------

TEST(EngineRunner, RunParallelRunsTheBodyOncePerWorkerOnThreadsOfTheirOwn) {
    AbortSignal abort;
    constexpr int n = 4;
    std::vector<std::atomic<int>> runs(n);
    std::vector<std::thread::id> ids(n);
    runParallel(n, abort, [&](int w) {
        ASSERT_GE(w, 0);
        ASSERT_LT(w, n);
        ++runs[static_cast<std::size_t>(w)];
        ids[static_cast<std::size_t>(w)] = std::this_thread::get_id();
    });
    for (int w = 0; w < n; ++w) {
        EXPECT_EQ(runs[static_cast<std::size_t>(w)].load(), 1) << "worker " << w;
        EXPECT_NE(ids[static_cast<std::size_t>(w)], std::this_thread::get_id());
    }
    EXPECT_EQ(std::set<std::thread::id>(ids.begin(), ids.end()).size(), static_cast<size_t>(n));
}

TEST(EngineRunner, RunParallelWithNoWorkersRunsOne) {
    AbortSignal abort;
    std::atomic<int> runs{0};
    runParallel(0, abort, [&](int w) {
        EXPECT_EQ(w, 0);
        ++runs;
    });
    EXPECT_EQ(runs.load(), 1);
}

TEST(EngineRunner, RunParallelRethrowsTheFirstFailureWithItsType) {
    AbortSignal abort;
    try {
        runParallel(3, abort, [&](int w) {
            if (w == 1) {
                throw FormatError("worker 1: bad bytes");
            }
        });
        FAIL() << "nothing rethrown";
    } catch (const FormatError& e) {
        EXPECT_STREQ(e.what(), "worker 1: bad bytes");
    }
}

TEST(EngineRunner, ForEachParallelRunsEveryItemOnceWithStatePerWorker) {
    AbortSignal abort;
    constexpr std::size_t count = 500;
    std::vector<std::atomic<int>> runs(count);
    std::mutex mutex;
    std::map<int, int> states_made;  // worker -> make_state calls
    struct State {
        int worker;
        std::thread::id thread;
        int items = 0;
    };
    std::atomic<int> items_seen{0};
    forEachParallel(
        3, count, abort,
        [&](int worker) {
            std::lock_guard lock(mutex);
            ++states_made[worker];
            return State{worker, std::this_thread::get_id()};
        },
        [&](State& state, std::size_t item) {
            EXPECT_EQ(state.thread, std::this_thread::get_id())
                << "the state is made on the worker's own thread";
            ++state.items;
            ++runs[item];
            ++items_seen;
        });
    for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(runs[i].load(), 1) << "item " << i;
    }
    EXPECT_EQ(items_seen.load(), static_cast<int>(count));
    EXPECT_EQ(states_made.size(), 3u);
    for (const auto& [worker, made] : states_made) {
        EXPECT_GE(worker, 0);
        EXPECT_LT(worker, 3);
        EXPECT_EQ(made, 1) << "worker " << worker;
    }
}

TEST(EngineRunner, ForEachParallelStartsNoMoreWorkersThanItems) {
    AbortSignal abort;
    std::mutex mutex;
    std::set<int> workers;
    std::atomic<int> items{0};
    forEachParallel(
        8, 3, abort,
        [&](int worker) {
            std::lock_guard lock(mutex);
            workers.insert(worker);
            return worker;
        },
        [&](int&, std::size_t) { ++items; });
    EXPECT_EQ(workers, (std::set<int>{0, 1, 2}));
    EXPECT_EQ(items.load(), 3);
}

TEST(EngineRunner, ForEachParallelWithNoItemsRunsNothing) {
    AbortSignal abort;
    int states = 0;
    int items = 0;
    forEachParallel(
        4, 0, abort, [&](int) { return ++states; }, [&](int&, std::size_t) { ++items; });
    EXPECT_EQ(states, 0);
    EXPECT_EQ(items, 0);
}

TEST(EngineRunner, ForEachParallelStopsAfterAFailureAndRethrowsIt) {
    constexpr std::size_t count = 1000;
    constexpr std::size_t failing = 10;
    constexpr int workers = 3;
    AbortSignal abort;
    std::mutex mutex;
    std::condition_variable cv;
    AbortSignal::Waker waker = abort.onAbort([&] {
        std::lock_guard lock(mutex);
        cv.notify_all();
    });
    std::vector<std::atomic<int>> runs(count);
    std::atomic<int> after_failing{0};
    std::atomic<bool> waited_in_vain{false};
    try {
        forEachParallel(
            workers, count, abort, [](int worker) { return worker; },
            [&](int&, std::size_t item) {
                if (item == failing) {
                    throw FormatError("item 10 is damaged");
                }
                if (item > failing) {
                    // Item 10 is taken already: hold this item until the abort is known, so
                    // that the others cannot race through the rest of the items first.
                    ++after_failing;
                    std::unique_lock lock(mutex);
                    if (!cv.wait_for(lock, safety_net, [&] { return abort.aborted(); })) {
                        waited_in_vain = true;
                    }
                }
                ++runs[item];
            });
        FAIL() << "nothing rethrown";
    } catch (const FormatError& e) {
        EXPECT_STREQ(e.what(), "item 10 is damaged");
    }
    EXPECT_FALSE(waited_in_vain.load());
    for (std::size_t i = 0; i < failing; ++i) {
        EXPECT_EQ(runs[i].load(), 1) << "item " << i << " was taken before the failing one";
    }
    EXPECT_LE(after_failing.load(), workers - 1)
        << "each other worker finishes the item it holds, then stops";
    int total = 0;
    for (auto& r : runs) {
        total += r;
    }
    EXPECT_LT(total, static_cast<int>(count));
}

TEST(EngineRunner, BackgroundWorkersJoinRethrowsTheFirstFailure) {
    AbortSignal abort;
    std::atomic<int> finished{0};
    BackgroundWorkers workers(2, abort, [&](int w) {
        if (w == 0) {
            throw UsageError("worker 0 refused");
        }
        ++finished;
    });
    try {
        workers.join();
        FAIL() << "join() did not rethrow";
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(), "worker 0 refused");
    }
    EXPECT_EQ(finished.load(), 1);
    EXPECT_TRUE(abort.aborted());
}

TEST(EngineRunner, BackgroundWorkersDestructorJoinsWithoutThrowing) {
    AbortSignal abort;
    std::atomic<int> finished{0};
    {
        BackgroundWorkers workers(3, abort, [&](int w) {
            ++finished;
            if (w == 2) {
                throw Error("late failure");
            }
        });
    }
    EXPECT_EQ(finished.load(), 3) << "the destructor waited for every worker";
    EXPECT_EQ(rethrown(abort), "late failure");
}

TEST(EngineRunner, BackgroundWorkersRunWhileTheCallerGoesOn) {
    AbortSignal abort;
    std::mutex mutex;
    std::condition_variable cv;
    bool released = false;
    bool worker_done = false;
    BackgroundWorkers workers(1, abort, [&](int) {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, safety_net, [&] { return released; });
        worker_done = released;
    });
    // The constructor returned while the worker still waits for this thread.
    {
        std::lock_guard lock(mutex);
        released = true;
    }
    cv.notify_all();
    workers.join();
    EXPECT_TRUE(worker_done);
}

// ---- the live display ----

TEST(LiveDisplay, BarsFillWithTheFraction) {
    EXPECT_EQ(progressBar(0, 10), "[----------]");
    EXPECT_EQ(progressBar(0.5, 10), "[#####-----]");
    EXPECT_EQ(progressBar(1.7, 4), "[####]");
    EXPECT_EQ(progressBar(-1, 4), "[----]");
}

TEST(LiveDisplay, OneLinePerRunningTableThenTheTotals) {
    std::vector<LiveTable> running = {{"public.orders", 50 << 20, 100 << 20, 1, 4},
                                      {"public.customers", 10 << 20, 40 << 20, 0, 1}};
    LiveTotals totals{3, 10, 60 << 20, 0.25, 12.5e6, 75, 2, 9, "copied"};
    std::vector<std::string> lines = liveLines(running, totals, 100, 8);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_NE(lines[0].find("public.orders"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(" 50%"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("1/4 parts"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find(" 25%"), std::string::npos) << lines[1];
    EXPECT_NE(lines[1].find("[#"), std::string::npos) << lines[1];
    EXPECT_EQ(lines[2].rfind("total  25% [", 0), 0u) << lines[2];
    EXPECT_NE(lines[2].find("3/10 tables"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("/s ETA 1m15s"), std::string::npos) << lines[2];
    EXPECT_NE(lines[2].find("indexes 2/9"), std::string::npos) << lines[2];
    for (const auto& line : lines) {
        EXPECT_LE(line.size(), 100u) << line;
    }
}

TEST(LiveDisplay, FitsANarrowTerminalAndCapsTheTables) {
    std::vector<LiveTable> running;
    for (int i = 0; i < 12; ++i) {
        running.push_back(
            {"public.a_table_with_a_rather_long_name_" + std::to_string(i), 1, 2, 0, 1});
    }
    LiveTotals totals;
    std::vector<std::string> lines = liveLines(running, totals, 40, 8);
    ASSERT_EQ(lines.size(), 10u);
    EXPECT_NE(lines[8].find("... and 4 more"), std::string::npos) << lines[8];
    EXPECT_NE(lines[9].find("ETA ?"), std::string::npos) << lines[9];
    for (const auto& line : lines) {
        EXPECT_LE(line.size(), 40u) << line;
    }
}

TEST(LiveDisplay, ErasingGoesBackToTheFirstLine) {
    EXPECT_EQ(eraseLive(0), "");
    EXPECT_EQ(eraseLive(1), "\r\033[J");
    EXPECT_EQ(eraseLive(3), "\r\033[2A\033[J");
}

}  // namespace
}  // namespace pgsluice::engine
