#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/schema_tool.hpp"
#include "pgsluice/pg/toc.hpp"
#include "test_support.hpp"

namespace pgsluice::engine {
namespace {

using pg::TocEntry;

// `pg_restore --list --verbose` of a PostgreSQL 15.18 `pg_dump --format=custom
// --section=pre-data --section=post-data` of a database with tables, serial and identity
// columns, views, a materialized view, a partitioned table, FKs, indexes, a trigger, functions,
// a second and a third schema, comments, grants and default privileges. Copied byte for byte:
// the "depends on" lines start with ";" and a tab, the first three entries end with a space.
constexpr std::string_view kListing = R"toc(;
; Archive created at 2026-11-21 07:01:37 UTC
;     dbname: src
;     TOC Entries: 60
;     Compression: 0
;     Dump Version: 1.14-0
;     Format: CUSTOM
;     Integer: 4 bytes
;     Offset: 8 bytes
;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
;
; Selected TOC Entries:
;
3435; 0 0 ENCODING - ENCODING 
3436; 0 0 STDSTRINGS - STDSTRINGS 
3437; 0 0 SEARCHPATH - SEARCHPATH 
3438; 1262 16384 DATABASE - src postgres
6; 2615 16387 SCHEMA - app app_owner
7; 2615 16388 SCHEMA - audit postgres
3439; 0 0 COMMENT - SCHEMA audit postgres
;	depends on: 7
3440; 0 0 ACL - SCHEMA audit postgres
;	depends on: 7
874; 1247 16454 TYPE app mood postgres
;	depends on: 6
232; 1255 16435 FUNCTION public f(integer, text) postgres
3441; 0 0 COMMENT public FUNCTION f(a integer, b text) postgres
;	depends on: 232
233; 1255 16436 FUNCTION public touch() postgres
225; 1259 16439 TABLE app items app_owner
;	depends on: 6
224; 1259 16438 SEQUENCE app items_id_seq app_owner
;	depends on: 6 225
3442; 0 0 SEQUENCE OWNED BY app items_id_seq app_owner
;	depends on: 224
228; 1259 16469 SEQUENCE audit free_seq postgres
;	depends on: 7
227; 1259 16460 TABLE audit log postgres
;	depends on: 7
226; 1259 16459 SEQUENCE audit log_id_seq postgres
;	depends on: 7 227
3443; 0 0 SEQUENCE OWNED BY audit log_id_seq postgres
;	depends on: 226
229; 1259 16471 VIEW audit recent postgres
;	depends on: 227 227 227 7
3444; 0 0 ACL audit TABLE recent postgres
;	depends on: 229
217; 1259 16390 TABLE public customers postgres
3445; 0 0 ACL public TABLE customers postgres
;	depends on: 217
219; 1259 16402 TABLE public orders postgres
3446; 0 0 COMMENT public TABLE orders postgres
;	depends on: 219
3447; 0 0 COMMENT public COLUMN orders.note postgres
;	depends on: 219
3448; 0 0 ACL public TABLE orders postgres
;	depends on: 219
222; 1259 16425 VIEW public big_orders postgres
;	depends on: 219 219 219 217 217
216; 1259 16389 SEQUENCE public customers_id_seq postgres
;	depends on: 217
3449; 0 0 SEQUENCE OWNED BY public customers_id_seq postgres
;	depends on: 216
230; 1259 16475 TABLE public events postgres
231; 1259 16478 TABLE public events_2024 postgres
;	depends on: 230
223; 1259 16429 MATERIALIZED VIEW public order_totals postgres
;	depends on: 219 219
218; 1259 16401 SEQUENCE public orders_id_seq postgres
;	depends on: 219
3450; 0 0 SEQUENCE OWNED BY public orders_id_seq postgres
;	depends on: 218
221; 1259 16418 TABLE public products postgres
220; 1259 16417 SEQUENCE public products_id_seq postgres
;	depends on: 221
3246; 0 0 TABLE ATTACH public events_2024 postgres
;	depends on: 231 230
3249; 2604 16442 DEFAULT app items id app_owner
;	depends on: 225 224 225
3250; 2604 16463 DEFAULT audit log id postgres
;	depends on: 227 226 227
3247; 2604 16393 DEFAULT public customers id postgres
;	depends on: 217 216 217
3248; 2604 16405 DEFAULT public orders id postgres
;	depends on: 219 218 219
3265; 2606 16446 CONSTRAINT app items items_pkey app_owner
;	depends on: 225
3267; 2606 16468 CONSTRAINT audit log log_pkey postgres
;	depends on: 227
3254; 2606 16399 CONSTRAINT public customers customers_email_key postgres
;	depends on: 217
3257; 2606 16397 CONSTRAINT public customers customers_pkey postgres
;	depends on: 217
3260; 2606 16410 CONSTRAINT public orders orders_pkey postgres
;	depends on: 219
3262; 2606 16424 CONSTRAINT public products products_pkey postgres
;	depends on: 221
3263; 1259 16452 INDEX app items_label_idx app_owner
;	depends on: 225
3255; 1259 16400 INDEX public customers_name_idx postgres
;	depends on: 217
3268; 1259 16481 INDEX public events_at_idx postgres
;	depends on: 230
3269; 1259 16482 INDEX public events_2024_at_idx postgres
;	depends on: 3268 231 231
3258; 1259 16416 INDEX public orders_customer_idx postgres
;	depends on: 219
3270; 0 0 INDEX ATTACH public events_2024_at_idx postgres
;	depends on: 3269 3268 231 230
3419; 2618 16483 RULE public big_orders orders_rule postgres
;	depends on: 222 222 222
3273; 2620 16437 TRIGGER public orders orders_touch postgres
;	depends on: 219 233
3272; 2606 16447 FK CONSTRAINT app items items_order_id_fkey app_owner
;	depends on: 225 219 3260
3271; 2606 16411 FK CONSTRAINT public orders orders_customer_id_fkey postgres
;	depends on: 217 219 3257
2083; 826 16470 DEFAULT ACL audit DEFAULT PRIVILEGES FOR TABLES postgres
;	depends on: 7
3426; 0 16429 MATERIALIZED VIEW DATA public order_totals postgres
;	depends on: 223 3434
)toc";

const TocEntry& entry(const std::vector<TocEntry>& toc, int dump_id) {
    for (const auto& e : toc) {
        if (e.dump_id == dump_id) {
            return e;
        }
    }
    throw std::runtime_error("no entry " + std::to_string(dump_id));
}

// Runs F, expecting a FormatError, and returns its message ("" and a failure otherwise).
template <typename F>
std::string formatError(F&& f) {
    try {
        f();
    } catch (const FormatError& error) {
        return error.what();
    } catch (const std::exception& error) {
        ADD_FAILURE() << "expected FormatError, got: " << error.what();
        return "";
    }
    ADD_FAILURE() << "expected FormatError, nothing was thrown";
    return "";
}

// The oids of the listing's tables.
constexpr uint32_t kOrders = 16402;
constexpr uint32_t kEvents = 16475;
constexpr uint32_t kItems = 16439;
constexpr uint32_t kLog = 16460;

// ---------------------------------------------------------------------------------------------
// parseTocList

TEST(TocParse, ReadsEveryEntryOfARealListing) {
    std::vector<TocEntry> toc = pg::parseTocList(kListing);
    ASSERT_EQ(toc.size(), 60u);  // "TOC Entries: 60"
    EXPECT_EQ(toc.front().dump_id, 3435);
    EXPECT_EQ(toc.back().dump_id, 3426);

    const TocEntry& fk = entry(toc, 3272);
    EXPECT_EQ(fk.catalog_oid, 2606u);
    EXPECT_EQ(fk.oid, 16447u);
    EXPECT_EQ(fk.desc, "FK CONSTRAINT");
    EXPECT_EQ(fk.schema, "app");
    EXPECT_EQ(fk.tag, "items items_order_id_fkey");
    EXPECT_EQ(fk.dependencies, (std::vector<int>{225, 219, 3260}));
    EXPECT_EQ(fk.line, "3272; 2606 16447 FK CONSTRAINT app items items_order_id_fkey app_owner");

    const TocEntry& table = entry(toc, 219);
    EXPECT_EQ(table.catalog_oid, 1259u);
    EXPECT_EQ(table.oid, kOrders);
    EXPECT_EQ(table.desc, "TABLE");
    EXPECT_EQ(table.schema, "public");
    EXPECT_EQ(table.tag, "orders");
    EXPECT_TRUE(table.dependencies.empty());
}

TEST(TocParse, MultiWordDescriptionsWinOverTheirFirstWord) {
    std::vector<TocEntry> toc = pg::parseTocList(kListing);
    struct Expected {
        int dump_id;
        const char* desc;
        const char* schema;
        const char* tag;
    };
    for (const Expected& x : {
             Expected{3442, "SEQUENCE OWNED BY", "app", "items_id_seq"},
             Expected{224, "SEQUENCE", "app", "items_id_seq"},
             Expected{2083, "DEFAULT ACL", "audit", "DEFAULT PRIVILEGES FOR TABLES"},
             Expected{3250, "DEFAULT", "audit", "log id"},
             Expected{3426, "MATERIALIZED VIEW DATA", "public", "order_totals"},
             Expected{223, "MATERIALIZED VIEW", "public", "order_totals"},
             Expected{3246, "TABLE ATTACH", "public", "events_2024"},
             Expected{3270, "INDEX ATTACH", "public", "events_2024_at_idx"},
             Expected{3260, "CONSTRAINT", "public", "orders orders_pkey"},
             Expected{3419, "RULE", "public", "big_orders orders_rule"},
             Expected{3273, "TRIGGER", "public", "orders orders_touch"},
         }) {
        const TocEntry& e = entry(toc, x.dump_id);
        EXPECT_EQ(e.desc, x.desc) << x.dump_id;
        EXPECT_EQ(e.schema, x.schema) << x.dump_id;
        EXPECT_EQ(e.tag, x.tag) << x.dump_id;
    }
    EXPECT_EQ(entry(toc, 3426).catalog_oid, 0u);
    EXPECT_EQ(entry(toc, 3426).oid, 16429u);
    // A dependency on an entry of the data section, which this archive does not hold.
    EXPECT_EQ(entry(toc, 3426).dependencies, (std::vector<int>{223, 3434}));
    EXPECT_EQ(entry(toc, 2083).catalog_oid, 826u);
    EXPECT_EQ(entry(toc, 2083).dependencies, (std::vector<int>{7}));
}

TEST(TocParse, TagsWithSpacesAndEntriesWithoutNamespaceOrOwner) {
    std::vector<TocEntry> toc = pg::parseTocList(kListing);
    EXPECT_EQ(entry(toc, 232).desc, "FUNCTION");
    EXPECT_EQ(entry(toc, 232).tag, "f(integer, text)");
    EXPECT_EQ(entry(toc, 3441).desc, "COMMENT");
    EXPECT_EQ(entry(toc, 3441).tag, "FUNCTION f(a integer, b text)");
    EXPECT_EQ(entry(toc, 3441).dependencies, (std::vector<int>{232}));
    EXPECT_EQ(entry(toc, 3447).tag, "COLUMN orders.note");

    const TocEntry& schema = entry(toc, 7);
    EXPECT_EQ(schema.desc, "SCHEMA");
    EXPECT_EQ(schema.schema, "");
    EXPECT_EQ(schema.tag, "audit");
    EXPECT_EQ(entry(toc, 3439).schema, "");
    EXPECT_EQ(entry(toc, 3439).tag, "SCHEMA audit");

    // No owner: the line ends with the space after the tag, and stays as it was.
    const TocEntry& encoding = entry(toc, 3435);
    EXPECT_EQ(encoding.desc, "ENCODING");
    EXPECT_EQ(encoding.schema, "");
    EXPECT_EQ(encoding.tag, "ENCODING");
    EXPECT_EQ(encoding.line, "3435; 0 0 ENCODING - ENCODING ");
}

TEST(TocParse, PlainListHasNoDependencies) {
    std::vector<TocEntry> toc = pg::parseTocList(
        ";\n; Selected TOC Entries:\n;\n"
        "219; 1259 16402 TABLE public orders postgres\n"
        "3260; 2606 16410 CONSTRAINT public orders orders_pkey postgres\n");
    ASSERT_EQ(toc.size(), 2u);
    EXPECT_TRUE(toc[0].dependencies.empty());
    EXPECT_TRUE(toc[1].dependencies.empty());
    EXPECT_EQ(toc[1].desc, "CONSTRAINT");
}

TEST(TocParse, UnknownDescriptionIsOneWord) {
    std::vector<TocEntry> toc = pg::parseTocList("5; 0 0 GADGET public thing owner\n");
    ASSERT_EQ(toc.size(), 1u);
    EXPECT_EQ(toc[0].desc, "GADGET");
    EXPECT_EQ(toc[0].schema, "public");
    EXPECT_EQ(toc[0].tag, "thing");
}

TEST(TocParse, MalformedLinesNameTheirLineNumber) {
    const struct {
        std::string_view listing;
        std::string message;
    } cases[] = {
        {";\n12 TABLE public t postgres\n",
         "line 2 is not a table of contents entry: `12 TABLE public t postgres`"},
        {"12; 1259 1 TABLE public t postgres\n;\tdepends on: 3 x\n",
         "line 2 is not a list of dump ids: `;\tdepends on: 3 x`"},
        {";\n;\tdepends on: 3\n", "line 2 lists dependencies but follows no entry"},
        {"-4; 1259 1 TABLE public t postgres\n",
         "line 1 is not a table of contents entry: `-4; 1259 1 TABLE public t postgres`"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.listing);
        EXPECT_EQ(formatError([&] { pg::parseTocList(c.listing); }), c.message);
    }
}

// ---------------------------------------------------------------------------------------------
// leftOutEntries

// What leftOutEntries leaves out of kListing when the tables `skip` are skipped and the schemas
// `excluded_schemas` excluded.
std::set<int> listingLeftOut(std::set<uint32_t> skip, std::set<std::string> excluded_schemas = {}) {
    TableSelection selection;
    selection.skip = std::move(skip);
    selection.excluded_schemas = std::move(excluded_schemas);
    return pg::leftOutEntries(pg::parseTocList(kListing), selection.skip,
                              selection.excluded_schemas);
}

TEST(TocLeftOut, SkippedTableTakesEverythingThatDependsOnIt) {
    const std::set<int> expected = {
        219,   // TABLE orders
        3446,  // COMMENT ON TABLE
        3447,  // COMMENT ON COLUMN
        3448,  // ACL
        222,   // VIEW big_orders, on orders and customers
        3419,  // RULE on that view
        223,   // MATERIALIZED VIEW order_totals
        3426,  // and its REFRESH
        218,   // SEQUENCE orders_id_seq, owned by orders
        3450,  // SEQUENCE OWNED BY
        3248,  // DEFAULT nextval
        3260,  // CONSTRAINT orders_pkey
        3258,  // INDEX orders_customer_idx
        3273,  // TRIGGER orders_touch
        3272,  // FK CONSTRAINT of app.items pointing at orders
        3271,  // FK CONSTRAINT of orders pointing at customers
    };
    EXPECT_EQ(listingLeftOut({kOrders}), expected);
}

TEST(TocLeftOut, NothingSelectedAwayLeavesNothingOut) {
    EXPECT_TRUE(pg::leftOutEntries(pg::parseTocList(kListing), {}, {}).empty());
}

TEST(TocLeftOut, KeptPartitionStaysWhenItsParentIsLeftOut) {
    // pg_dump 15 creates a partition as a plain table and attaches it in a TABLE ATTACH entry;
    // -T on the parent keeps the partition (pg_dump's rule), so only the attaching goes.
    EXPECT_EQ(listingLeftOut({kEvents}), (std::set<int>{230, 3246, 3268, 3269, 3270}));
}

TEST(TocLeftOut, ExcludedSchemaTakesItsObjects) {
    const std::set<int> expected = {
        7,     // SCHEMA audit
        3439,  // its COMMENT
        3440,  // its ACL
        2083,  // its DEFAULT ACL
        228,   // SEQUENCE free_seq
        227,   // TABLE log
        226,   // SEQUENCE log_id_seq
        3443,  // SEQUENCE OWNED BY
        3250,  // DEFAULT
        3267,  // CONSTRAINT log_pkey
        229,   // VIEW recent
        3444,  // its ACL
    };
    EXPECT_EQ(listingLeftOut({}, {"audit"}), expected);
    // With the tables in skip too, as applySelection gives them: the same.
    EXPECT_EQ(listingLeftOut({kLog}, {"audit"}), expected);
}

TEST(TocLeftOut, ExcludedPublicSchemaHasNoSchemaEntry) {
    // pg_dump 15 lists no SCHEMA entry for a default public schema, so its objects depend on
    // nothing: the namespace column finds them.
    const std::set<int> out = listingLeftOut({}, {"public"});
    for (int id : {232, 3441, 233, 219, 217, 221, 230, 231, 3246, 3273, 3426, 3272}) {
        EXPECT_TRUE(out.count(id)) << id;
    }
    // app.items stays, without its FK to public.orders; audit is untouched.
    for (int id : {6, 874, 225, 224, 3442, 3249, 3265, 3263, 7, 227, 229, 2083}) {
        EXPECT_FALSE(out.count(id)) << id;
    }
}

TEST(TocLeftOut, SequenceOwnedByASkippedTableGoesEvenWithoutADirectDependency) {
    // The OWNED BY entry alone ties the sequence to its table here (pg_dump 15 also makes the
    // SEQUENCE depend on the table, as in kListing).
    std::vector<TocEntry> toc = pg::parseTocList(
        "10; 1259 100 TABLE public t postgres\n"
        "11; 1259 101 SEQUENCE public t_id_seq postgres\n"
        "12; 0 0 SEQUENCE OWNED BY public t_id_seq postgres\n"
        ";\tdepends on: 11 10\n"
        "13; 1259 102 TABLE public u postgres\n");
    TableSelection selection;
    selection.skip = {100};
    EXPECT_EQ(pg::leftOutEntries(toc, selection.skip, selection.excluded_schemas),
              (std::set<int>{10, 11, 12}));
}

// ---------------------------------------------------------------------------------------------
// List files

std::string readFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(TocList, RestoreListCommentsOutTheEntriesLeftOut) {
    std::vector<TocEntry> toc = pg::parseTocList(
        "3435; 0 0 ENCODING - ENCODING \n"
        "219; 1259 16402 TABLE public orders postgres\n"
        ";\tdepends on: 3435\n"
        "3272; 2606 16447 FK CONSTRAINT app items items_order_id_fkey app_owner\n");
    testing::TempDir dir("pgsluice-toc-test");
    std::string path = pg::writeRestoreList(toc, {219}, dir.path().string(), "pre-data.list");
    EXPECT_EQ(path, dir.path().string() + "/pre-data.list");
    EXPECT_EQ(readFile(path),
              "3435; 0 0 ENCODING - ENCODING \n"
              ";219; 1259 16402 TABLE public orders postgres\n"
              "3272; 2606 16447 FK CONSTRAINT app items items_order_id_fkey app_owner\n");
}

TEST(TocList, PostDataListAddsTheEntriesLeftOut) {
    std::vector<TocEntry> toc = pg::parseTocList(
        "3260; 2606 16410 CONSTRAINT public orders orders_pkey postgres\n"
        "3258; 1259 16416 INDEX public orders_customer_idx postgres\n"
        "3263; 1259 16452 INDEX app items_label_idx app_owner\n"
        "3271; 2606 16411 FK CONSTRAINT public orders orders_customer_id_fkey postgres\n"
        "3273; 2620 16437 TRIGGER public orders orders_touch postgres\n");
    pg::Catalog catalog;
    pg::Table orders;
    orders.oid = kOrders;
    orders.indexes.push_back({16409, 16410, "orders_pkey", "", ""});
    orders.indexes.push_back({16416, 0, "orders_customer_idx", "", ""});
    catalog.tables.push_back(orders);
    testing::TempDir dir("pgsluice-toc-test");
    std::string path = pg::writePostDataList(toc, catalog, {16411}, {3263}, dir.path());
    EXPECT_EQ(path, dir.path().string() + "/post-data.list");
    EXPECT_EQ(readFile(path),
              ";3260; 2606 16410 CONSTRAINT public orders orders_pkey postgres\n"
              ";3258; 1259 16416 INDEX public orders_customer_idx postgres\n"
              ";3263; 1259 16452 INDEX app items_label_idx app_owner\n"
              ";3271; 2606 16411 FK CONSTRAINT public orders orders_customer_id_fkey postgres\n"
              "3273; 2620 16437 TRIGGER public orders orders_touch postgres\n");
}

// ---------------------------------------------------------------------------------------------
// TableSelection::excluded_schemas

pg::Catalog threeSchemas() {
    pg::Catalog catalog;
    catalog.database = "src";
    catalog.schemas = {"app", "audit", "public"};
    auto add = [&](uint32_t oid, const char* schema, const char* name) {
        pg::Table t;
        t.oid = oid;
        t.schema = schema;
        t.name = name;
        t.visible = std::string_view(schema) == "public";
        catalog.tables.push_back(t);
    };
    add(kItems, "app", "items");
    add(kLog, "audit", "log");
    add(kOrders, "public", "orders");
    return catalog;
}

TEST(TocSelection, ExcludedSchemasFollowPgDumpSchemaOptions) {
    pg::Catalog catalog = threeSchemas();
    using Set = std::set<std::string>;
    filter::SelectionOptions none;
    EXPECT_EQ(selectTables(catalog, none).excluded_schemas, Set{});

    filter::SelectionOptions exclude;
    exclude.exclude_schemas = {"audit"};
    TableSelection result = selectTables(catalog, exclude);
    EXPECT_EQ(result.excluded_schemas, Set{"audit"});
    EXPECT_EQ(result.skip, std::set<uint32_t>{kLog});

    filter::SelectionOptions include;
    include.include_schemas = {"a*"};
    include.exclude_schemas = {"audit"};
    result = selectTables(catalog, include);
    EXPECT_EQ(result.excluded_schemas, (Set{"audit", "public"}));
    EXPECT_EQ(result.skip, (std::set<uint32_t>{kLog, kOrders}));

    // An empty schema matched by -n is kept; the others go even though they hold no table.
    catalog.schemas.push_back("empty");
    filter::SelectionOptions only_empty;
    only_empty.include_schemas = {"empty"};
    EXPECT_EQ(selectTables(catalog, only_empty).excluded_schemas, (Set{"app", "audit", "public"}));
}

TEST(TocSelection, NamedTablesExcludeNoSchema) {
    // -t keeps exactly the named tables whatever -n/-N say; their schemas must stay.
    filter::SelectionOptions options;
    options.include_tables = {"app.items"};
    options.exclude_schemas = {"app"};
    TableSelection result = selectTables(threeSchemas(), options);
    EXPECT_TRUE(result.excluded_schemas.empty());
    EXPECT_EQ(result.skip, (std::set<uint32_t>{kLog, kOrders}));
}

}  // namespace
}  // namespace pgsluice::engine
