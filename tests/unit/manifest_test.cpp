// Unit tests of the archive manifests: field-by-field round trips of the contents and results
// manifests, qualified names rebuilt rather than read, every rejection of a malformed or
// inconsistent manifest (asserted on the JSON path in the message), and large-object chunk
// records cut at every byte.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/error.hpp"
#include "test_support.hpp"

namespace pgsluice::archive {
namespace {

using Json = nlohmann::json;

constexpr std::uint64_t kMax64 = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint32_t kMax32 = std::numeric_limits<std::uint32_t>::max();

pg::Column column(std::string name, std::uint32_t type_oid, std::string type_name,
                  bool not_null = false, bool unique = false, bool nulls_not_distinct = false) {
    pg::Column c;
    c.name = std::move(name);
    c.type_oid = type_oid;
    c.type_name = std::move(type_name);
    c.not_null = not_null;
    c.unique = unique;
    c.nulls_not_distinct = nulls_not_distinct;
    return c;
}

// A dump of four tables: a split ordinary table whose name holds a double quote, a partitioned
// table and its one leaf, a table moved as COPY text, and a definition-only table.
Contents sampleContents() {
    Contents c;
    c.writer = "pgsluice 0.1.0";
    c.source = {"7301234567890123456", "db1.example.com", "shop", 160002,
                "2024-05-01T12:00:00.123456Z"};
    c.selection = {"-T", "audit.*", "--exclude-table-data", "public.cache"};
    c.rules_hash = "9f86d081884c7d65";
    c.compression_level = -3;
    c.jobs = 4;

    pg::Catalog& cat = c.catalog;
    cat.server_version = 160002;
    cat.database = "shop";
    cat.block_size = 8192;
    cat.locale = {"LATIN1", "de_DE", "C"};
    cat.schemas = {"public", "sales", "audit"};

    pg::Table customers;
    customers.oid = 16400;
    customers.schema = "public";
    customers.name = "cust\"omers";
    customers.qualified = "ignored";
    customers.relkind = 'r';
    customers.unlogged = true;
    customers.visible = true;
    customers.total_bytes = 1LL << 40;
    customers.main_bytes = (1LL << 40) - 8192;
    customers.estimated_rows = 1234567.5;
    customers.columns = {column("id", 20, "bigint", true, true),
                         column("email", 1043, "character varying(64)", false, true, true),
                         column("na\"me", 25, "text")};
    customers.indexes = {
        {16402, 16403, "customers_pkey",
         "CREATE UNIQUE INDEX customers_pkey ON public.\"cust\"\"omers\" USING btree (id)",
         "ALTER TABLE ONLY public.\"cust\"\"omers\" ADD CONSTRAINT customers_pkey PRIMARY KEY "
         "USING INDEX customers_pkey;"},
        {16404, 0, "customers_email_idx",
         "CREATE INDEX customers_email_idx ON public.\"cust\"\"omers\" USING btree (email)", ""}};

    pg::Table orders;
    orders.oid = 16410;
    orders.schema = "sales";
    orders.name = "orders";
    orders.relkind = 'p';
    orders.visible = false;
    orders.columns = {column("id", 20, "bigint", true), column("placed", 1082, "date", true)};

    pg::Table orders_2024;
    orders_2024.oid = 16411;
    orders_2024.schema = "sales";
    orders_2024.name = "orders_2024";
    orders_2024.is_partition = true;
    orders_2024.ancestors = {16410, 16405};
    orders_2024.total_bytes = 300000;
    orders_2024.main_bytes = 245760;
    orders_2024.estimated_rows = 4000;
    orders_2024.columns = orders.columns;
    orders_2024.indexes = {{16412, 0, "orders_2024_placed_idx",
                            "CREATE INDEX orders_2024_placed_idx ON sales.orders_2024 USING "
                            "btree (placed)",
                            "ALTER TABLE sales.orders_2024 CLUSTER ON orders_2024_placed_idx;"}};

    pg::Table events;
    events.oid = 16420;
    events.schema = "audit";
    events.name = "events";
    events.binary_safe = false;
    events.total_bytes = 16384;
    events.main_bytes = 8192;
    events.estimated_rows = 0;
    events.columns = {column("kind", 16500, "audit.kind[]"), column("at", 1184, "timestamp")};

    pg::Table cache;
    cache.oid = 16430;
    cache.schema = "public";
    cache.name = "cache";
    cache.relkind = 'm';
    cache.columns = {column("k", 25, "text")};

    cat.tables = {customers, orders, orders_2024, events, cache};
    cat.sequences = {{16401, "public", "customers_id_seq", "ignored"},
                     {16421, "au\"dit", "events\"seq", ""}};
    cat.large_objects = {5001, 5002, kMax32};
    cat.other_relations = {{"public", "customer_view", true}, {"sales", "order_seq", false}};
    cat.foreign_keys = {{16413, "orders_customer_fk", 16411, 16400},
                        {16422, "events_customer_fk", 16420, 16400}};

    ArchivedTable t0;
    t0.oid = 16400;
    t0.units = {{7, 0, 2, 550000000000LL}, {8, 1, 2, 549755813888LL}};
    t0.rewritten_columns = {"email: hash", "na\"me: fake_name"};
    ArchivedTable t1;
    t1.oid = 16410;
    ArchivedTable t2;
    t2.oid = 16411;
    t2.units = {{kMax32, 0, 1, 300000}};
    ArchivedTable t3;
    t3.oid = 16420;
    t3.format = "text";
    t3.units = {{0, 0, 1, 16384}};
    ArchivedTable t4;
    t4.oid = 16430;
    t4.with_data = false;
    c.tables = {t0, t1, t2, t3, t4};
    c.large_object_unit = 9;
    return c;
}

Results sampleResults() {
    Results r;
    r.units = {{7, {kMax64, kMax64, 0}, kMax64},
               {8, {0, 0, 0}, 0},
               {kMax32, {12345, 0x0123456789abcdefULL, 0xfedcba9876543210ULL}, 987654321}};
    r.sequences = {{16401, "\"public\".\"customers_id_seq\"", "9223372036854775807", true},
                   {16421, "\"au\"\"dit\".\"events\"\"seq\"", "-9223372036854775808", false}};
    r.large_objects = kMax64;
    r.large_object_bytes = (1ULL << 53) + 1;  // past what a double holds exactly
    r.finished = "2024-05-01T12:34:56Z";
    r.seconds = 2074.125;
    return r;
}

// Expects `a` and `b` to be as long and calls same(a[i], b[i]) for each element.
template <typename T, typename F>
void expectEach(const std::vector<T>& a, const std::vector<T>& b, F&& same) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << "element " << i);
        same(a[i], b[i]);
    }
}

void expectSameTable(const pg::Table& a, const pg::Table& b) {
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.oid, b.oid);
    EXPECT_EQ(a.schema, b.schema);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.relkind, b.relkind);
    EXPECT_EQ(a.unlogged, b.unlogged);
    EXPECT_EQ(a.is_partition, b.is_partition);
    EXPECT_EQ(a.visible, b.visible);
    EXPECT_EQ(a.ancestors, b.ancestors);
    EXPECT_EQ(a.total_bytes, b.total_bytes);
    EXPECT_EQ(a.main_bytes, b.main_bytes);
    EXPECT_EQ(a.estimated_rows, b.estimated_rows);
    EXPECT_EQ(a.binary_safe, b.binary_safe);
    expectEach(a.columns, b.columns, [](const pg::Column& x, const pg::Column& y) {
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.type_oid, y.type_oid);
        EXPECT_EQ(x.type_name, y.type_name);
        EXPECT_EQ(x.not_null, y.not_null);
        EXPECT_EQ(x.unique, y.unique);
        EXPECT_EQ(x.nulls_not_distinct, y.nulls_not_distinct);
    });
    expectEach(a.indexes, b.indexes, [](const pg::IndexDef& x, const pg::IndexDef& y) {
        EXPECT_EQ(x.index_oid, y.index_oid);
        EXPECT_EQ(x.constraint_oid, y.constraint_oid);
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.create_sql, y.create_sql);
        EXPECT_EQ(x.attach_sql, y.attach_sql);
    });
}

void expectSameContents(const Contents& a, const Contents& b) {
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.writer, b.writer);
    EXPECT_EQ(a.source.system_id, b.source.system_id);
    EXPECT_EQ(a.source.host, b.source.host);
    EXPECT_EQ(a.source.database, b.source.database);
    EXPECT_EQ(a.source.server_version, b.source.server_version);
    EXPECT_EQ(a.source.snapshot_time, b.source.snapshot_time);
    EXPECT_EQ(a.selection, b.selection);
    EXPECT_EQ(a.rules_hash, b.rules_hash);
    EXPECT_EQ(a.compression_level, b.compression_level);
    EXPECT_EQ(a.jobs, b.jobs);

    const pg::Catalog& x = a.catalog;
    const pg::Catalog& y = b.catalog;
    EXPECT_EQ(x.server_version, y.server_version);
    EXPECT_EQ(x.database, y.database);
    EXPECT_EQ(x.block_size, y.block_size);
    EXPECT_EQ(x.locale.encoding, y.locale.encoding);
    EXPECT_EQ(x.locale.collate, y.locale.collate);
    EXPECT_EQ(x.locale.ctype, y.locale.ctype);
    EXPECT_EQ(x.schemas, y.schemas);
    EXPECT_EQ(x.large_objects, y.large_objects);
    expectEach(x.tables, y.tables, expectSameTable);
    expectEach(x.sequences, y.sequences, [](const pg::Sequence& s, const pg::Sequence& t) {
        EXPECT_EQ(s.oid, t.oid);
        EXPECT_EQ(s.schema, t.schema);
        EXPECT_EQ(s.name, t.name);
    });
    expectEach(x.other_relations, y.other_relations,
               [](const pg::OtherRelation& s, const pg::OtherRelation& t) {
                   EXPECT_EQ(s.schema, t.schema);
                   EXPECT_EQ(s.name, t.name);
                   EXPECT_EQ(s.visible, t.visible);
               });
    expectEach(x.foreign_keys, y.foreign_keys,
               [](const pg::ForeignKey& s, const pg::ForeignKey& t) {
                   EXPECT_EQ(s.oid, t.oid);
                   EXPECT_EQ(s.name, t.name);
                   EXPECT_EQ(s.table, t.table);
                   EXPECT_EQ(s.referenced, t.referenced);
               });

    expectEach(a.tables, b.tables, [](const ArchivedTable& s, const ArchivedTable& t) {
        EXPECT_EQ(s.oid, t.oid);
        EXPECT_EQ(s.with_data, t.with_data);
        EXPECT_EQ(s.format, t.format);
        EXPECT_EQ(s.rewritten_columns, t.rewritten_columns);
        expectEach(s.units, t.units, [](const ArchivedUnit& u, const ArchivedUnit& v) {
            EXPECT_EQ(u.id, v.id);
            EXPECT_EQ(u.part, v.part);
            EXPECT_EQ(u.parts, v.parts);
            EXPECT_EQ(u.estimated_bytes, v.estimated_bytes);
        });
    });
    EXPECT_EQ(a.large_object_unit, b.large_object_unit);
}

// Runs f, expecting a FormatError, and returns its message ("" and a failure otherwise).
template <typename F>
std::string formatError(F&& f) {
    try {
        f();
    } catch (const FormatError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no FormatError was thrown (accepted)";
    return "";
}

using Mutation = std::function<void(Json&)>;

// `sample`'s manifest as JSON text, changed by `mutate`.
template <typename Manifest>
std::string mutated(const Manifest& sample, const Mutation& mutate) {
    Json j = Json::parse(toJson(sample));
    mutate(j);
    return j.dump();
}

// The message parseContents gives for the sample manifest changed by `mutate`.
std::string contentsError(const Mutation& mutate) {
    const std::string text = mutated(sampleContents(), mutate);
    return formatError([&] { parseContents(text, "test.pgs"); });
}

std::string resultsError(const Mutation& mutate) {
    const std::string text = mutated(sampleResults(), mutate);
    return formatError([&] { parseResults(text, "test.pgs"); });
}

std::string contentsTextError(const std::string& text) {
    return formatError([&] { parseContents(text, "test.pgs"); });
}

// A change to a sample manifest and what the message rejecting it must contain (after the
// "archive test.pgs: ... manifest: " prefix).
struct Rejection {
    Mutation mutate;
    std::string message;
};

void expectRejections(const std::function<std::string(const Mutation&)>& error,
                      const std::string& prefix, const std::vector<Rejection>& cases) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(::testing::Message() << "case " << i);
        EXPECT_CONTAINS(error(cases[i].mutate), prefix + cases[i].message);
    }
}

const std::string kContents = "archive test.pgs: contents manifest: ";
const std::string kResults = "archive test.pgs: results manifest: ";

void expectContentsRejections(const std::vector<Rejection>& cases) {
    expectRejections(contentsError, kContents, cases);
}

void expectResultsRejections(const std::vector<Rejection>& cases) {
    expectRejections(resultsError, kResults, cases);
}

// ---- contents ----

TEST(ManifestContents, RoundTripKeepsEveryField) {
    const Contents original = sampleContents();
    const std::string json = toJson(original);
    const Contents parsed = parseContents(json, "test.pgs");
    expectSameContents(original, parsed);
    EXPECT_EQ(toJson(parsed), json);
}

TEST(ManifestContents, RoundTripWithoutLargeObjectUnit) {
    Contents original = sampleContents();
    original.large_object_unit.reset();
    const Contents parsed = parseContents(toJson(original), "test.pgs");
    expectSameContents(original, parsed);
    EXPECT_FALSE(parsed.large_object_unit.has_value());

    Json j = Json::parse(toJson(original));
    EXPECT_TRUE(j.at("large_object_unit").is_null());
    j.erase("large_object_unit");
    EXPECT_CONTAINS(contentsTextError(j.dump()), kContents + "large_object_unit: required key");
}

TEST(ManifestContents, ArchivesWithoutTheDatabaseLocaleStillRead) {
    Json j = Json::parse(toJson(sampleContents()));
    EXPECT_EQ(j.at("catalog").at("encoding"), "LATIN1");
    EXPECT_EQ(j.at("catalog").at("lc_collate"), "de_DE");
    EXPECT_EQ(j.at("catalog").at("lc_ctype"), "C");
    for (const char* key : {"encoding", "lc_collate", "lc_ctype"}) {
        j["catalog"].erase(key);
    }
    const Contents c = parseContents(j.dump(), "test.pgs");
    EXPECT_EQ(c.catalog.locale.encoding, "");
    EXPECT_EQ(c.catalog.locale.collate, "");
    j["catalog"]["encoding"] = "UTF8";
    EXPECT_CONTAINS(contentsTextError(j.dump()), "catalog.lc_collate: required key");
}

TEST(ManifestContents, LayoutIsReadable) {
    const Json j = Json::parse(toJson(sampleContents()));
    EXPECT_EQ(j.at("version"), manifest_version);
    EXPECT_EQ(j.at("catalog").at("tables").at(0).at("relkind"), "r");
    EXPECT_EQ(j.at("catalog").at("tables").at(1).at("relkind"), "p");
    EXPECT_EQ(j.at("tables").at(3).at("format"), "text");
    EXPECT_EQ(j.at("large_object_unit"), 9);
    // Qualified names are derived, so they are not written at all.
    EXPECT_FALSE(j.at("catalog").at("tables").at(0).contains("qualified"));
    EXPECT_FALSE(j.at("catalog").at("sequences").at(0).contains("qualified"));
}

TEST(ManifestContents, QualifiedNamesAreRebuiltNotRead) {
    Json j = Json::parse(toJson(sampleContents()));
    j["catalog"]["tables"][0]["qualified"] = "public.x; DROP TABLE y";
    j["catalog"]["sequences"][1]["qualified"] = "evil";
    const Contents c = parseContents(j.dump(), "test.pgs");
    EXPECT_EQ(c.catalog.tables[0].qualified, "\"public\".\"cust\"\"omers\"");
    EXPECT_EQ(c.catalog.tables[2].qualified, "\"sales\".\"orders_2024\"");
    EXPECT_EQ(c.catalog.sequences[0].qualified, "\"public\".\"customers_id_seq\"");
    EXPECT_EQ(c.catalog.sequences[1].qualified, "\"au\"\"dit\".\"events\"\"seq\"");
    EXPECT_EQ(c.catalog.tables[0].columnList(), "(\"id\", \"email\", \"na\"\"me\")");
}

TEST(ManifestContents, UnknownKeysAreIgnored) {
    Json j = Json::parse(toJson(sampleContents()));
    j["future_key"] = {{"a", 1}};
    j["catalog"]["tables"][0]["future"] = "x";
    j["tables"][0]["units"][0]["checksum_kind"] = 3;
    const Contents c = parseContents(j.dump(), "test.pgs");
    expectSameContents(sampleContents(), c);
}

TEST(ManifestContents, RejectsInvalidJson) {
    const struct {
        std::string text;
        std::string message;
    } cases[] = {{"", "not valid JSON"},
                 {"{\"version\": 1,", "not valid JSON"},
                 {"{\"version\": 1} trailing", "not valid JSON"},
                 {"{\"a\": \"\xff\"}", "not valid JSON"},
                 {"[1, 2]", "expected an object"},
                 {"null", "expected an object"}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        EXPECT_CONTAINS(contentsTextError(c.text), kContents + c.message);
    }
}

TEST(ManifestContents, RejectsOtherVersions) {
    expectContentsRejections({
        {[](Json& j) { j["version"] = 2; },
         "version: the archive has layout version 2 (written by pgsluice 0.1.0); this pgsluice "
         "reads version 1 only"},
        {[](Json& j) { j["version"] = 0; },
         "version: the archive has layout version 0 (written by pgsluice 0.1.0); this pgsluice "
         "reads version 1 only"},
        {[](Json& j) { j["version"] = "1"; }, "version: expected an integer"},
        {[](Json& j) { j["version"] = 1.0; }, "version: expected an integer"},
        {[](Json& j) { j.erase("version"); }, "version: required key is missing"},
    });
}

TEST(ManifestContents, RejectsWrongTypes) {
    expectContentsRejections({
        {[](Json& j) { j["catalog"]["tables"][0]["name"] = 5; },
         "catalog.tables[0].name: expected a string"},
        {[](Json& j) { j["catalog"]["tables"][2]["visible"] = 1; },
         "catalog.tables[2].visible: expected true or false"},
        {[](Json& j) { j["catalog"] = Json::array(); }, "catalog: expected an object"},
        {[](Json& j) { j["tables"][0]["units"] = Json::object(); },
         "tables[0].units: expected an array"},
        {[](Json& j) { j["catalog"]["tables"][1] = "sales.orders"; },
         "catalog.tables[1]: expected an object"},
        {[](Json& j) { j["selection"][1] = nullptr; }, "selection[1]: expected a string"},
        {[](Json& j) { j["catalog"]["tables"][0]["estimated_rows"] = "12"; },
         "catalog.tables[0].estimated_rows: expected a number"},
        {[](Json& j) { j["catalog"]["tables"][0]["relkind"] = "x"; },
         "catalog.tables[0].relkind: expected \"r\", \"p\", \"f\" or \"m\""},
        {[](Json& j) { j["catalog"]["tables"][0]["relkind"] = "rr"; }, "catalog.tables[0].relkind"},
        {[](Json& j) { j["large_object_unit"] = "9"; },
         "large_object_unit: expected an unsigned 32-bit integer"},
    });
}

TEST(ManifestContents, RejectsMissingKeys) {
    expectContentsRejections({
        {[](Json& j) { j["tables"][2]["units"][0].erase("id"); },
         "tables[2].units[0].id: required key is missing"},
        {[](Json& j) { j["source"].erase("system_id"); },
         "source.system_id: required key is missing"},
        {[](Json& j) { j["catalog"]["tables"][0]["columns"][2].erase("type_oid"); },
         "catalog.tables[0].columns[2].type_oid: required key is missing"},
        {[](Json& j) { j["catalog"]["tables"][0]["indexes"][1].erase("attach_sql"); },
         "catalog.tables[0].indexes[1].attach_sql: required key is missing"},
        {[](Json& j) { j["catalog"].erase("foreign_keys"); },
         "catalog.foreign_keys: required key is missing"},
        {[](Json& j) { j.erase("tables"); }, "tables: required key is missing"},
    });
}

TEST(ManifestContents, RejectsNumbersOutOfRange) {
    expectContentsRejections({
        {[](Json& j) { j["tables"][2]["units"][0]["id"] = 4294967296; },
         "tables[2].units[0].id: expected an unsigned 32-bit integer"},
        {[](Json& j) { j["tables"][2]["units"][0]["id"] = -1; },
         "tables[2].units[0].id: expected an unsigned 32-bit integer"},
        {[](Json& j) { j["tables"][2]["units"][0]["id"] = 1.5; },
         "tables[2].units[0].id: expected an unsigned 32-bit integer"},
        {[](Json& j) { j["catalog"]["tables"][0]["total_bytes"] = -1; },
         "catalog.tables[0].total_bytes: expected an integer from 0 to"},
        {[](Json& j) { j["catalog"]["tables"][0]["main_bytes"] = kMax64; },
         "catalog.tables[0].main_bytes: expected an integer from 0 to"},
        {[](Json& j) { j["catalog"]["tables"][0]["estimated_rows"] = -0.5; },
         "catalog.tables[0].estimated_rows: expected a number not below 0"},
        {[](Json& j) { j["catalog"]["large_objects"][1] = -5002; },
         "catalog.large_objects[1]: expected an unsigned 32-bit integer"},
        {[](Json& j) { j["catalog"]["tables"][2]["ancestors"][1] = 1LL << 32; },
         "catalog.tables[2].ancestors[1]: expected an unsigned 32-bit integer"},
        {[](Json& j) { j["jobs"] = 0; }, "jobs: expected an integer from 1 to 2147483647"},
        {[](Json& j) { j["compression_level"] = 1LL << 31; },
         "compression_level: expected an integer from -2147483648"},
        {[](Json& j) { j["catalog"]["block_size"] = 0; },
         "catalog.block_size: expected an integer from 1"},
        {[](Json& j) { j["source"]["server_version"] = -160002; },
         "source.server_version: expected an integer from 0"},
    });
    EXPECT_CONTAINS(contentsTextError(std::string(R"({"version": 1e999})")),
                    kContents + "not valid JSON");
}

TEST(ManifestContents, RejectsBadIdentifiers) {
    expectContentsRejections({
        {[](Json& j) { j["catalog"]["tables"][3]["schema"] = ""; },
         "catalog.tables[3].schema: an SQL identifier cannot be empty"},
        {[](Json& j) { j["catalog"]["tables"][3]["name"] = std::string("a\0b", 3); },
         "catalog.tables[3].name: an SQL identifier cannot contain a NUL byte"},
        {[](Json& j) { j["catalog"]["tables"][0]["columns"][1]["name"] = std::string("\0", 1); },
         "catalog.tables[0].columns[1].name: an SQL identifier cannot"},
        {[](Json& j) { j["catalog"]["sequences"][0]["name"] = ""; },
         "catalog.sequences[0].name: an SQL identifier cannot be empty"},
    });
}

TEST(ManifestContents, RejectsDuplicateOids) {
    expectContentsRejections({
        {[](Json& j) {
             j["catalog"]["tables"][3]["oid"] = 16400;
             j["tables"][3]["oid"] = 16400;
         },
         "catalog.tables[3].oid: table oid 16400 is also catalog.tables[0]"},
        {[](Json& j) { j["catalog"]["sequences"][1]["oid"] = 16401; },
         "catalog.sequences[1].oid: sequence oid 16401 is also catalog.sequences[0]"},
        {[](Json& j) { j["catalog"]["large_objects"][2] = 5001; },
         "catalog.large_objects: large object oid 5001 is listed twice"},
    });
}

TEST(ManifestContents, RejectsDuplicateUnitIds) {
    expectContentsRejections({
        {[](Json& j) { j["tables"][0]["units"][1]["id"] = 7; },
         "tables[0].units[1].id: unit 7 is also tables[0].units[0].id"},
        {[](Json& j) { j["tables"][3]["units"][0]["id"] = 8; },
         "tables[3].units[0].id: unit 8 is also tables[0].units[1].id"},
        {[](Json& j) { j["large_object_unit"] = 0; },
         "large_object_unit: unit 0 is also tables[3].units[0].id"},
    });
}

TEST(ManifestContents, RejectsTablesThatDoNotMatchTheCatalog) {
    expectContentsRejections({
        {[](Json& j) { j["tables"].erase(4); }, "tables: 4 entries for 5 tables in catalog.tables"},
        {[](Json& j) { j["tables"].push_back(j["tables"][4]); },
         "tables: 6 entries for 5 tables in catalog.tables"},
        {[](Json& j) { std::swap(j["tables"][0], j["tables"][1]); },
         "tables[0].oid: oid 16410 is not that of catalog.tables[0] "
         "(\"public\".\"cust\"\"omers\", oid 16400)"},
        {[](Json& j) { j["tables"][4]["oid"] = 99999; },
         "tables[4].oid: oid 99999 names no table of catalog.tables"},
    });
}

TEST(ManifestContents, RejectsBadFormats) {
    expectContentsRejections({
        {[](Json& j) { j["tables"][0]["format"] = "csv"; },
         "tables[0].format: expected \"binary\" or \"text\""},
        {[](Json& j) { j["tables"][3]["format"] = "binary"; },
         "tables[3].format: \"binary\", but \"audit\".\"events\" is not "
         "binary-safe"},
        {[](Json& j) { j["tables"][0]["format"] = "text"; },
         "tables[0].format: \"text\", but \"public\".\"cust\"\"omers\" is "
         "binary-safe"},
        // A table turned binary-safe in the catalog while its data stayed text is as inconsistent.
        {[](Json& j) { j["catalog"]["tables"][3]["binary_safe"] = true; },
         "tables[3].format: \"text\", but"},
    });
}

TEST(ManifestContents, RejectsUnitsWithoutData) {
    expectContentsRejections({
        {[](Json& j) {
             j["tables"][4]["units"] =
                 Json::array({{{"id", 50}, {"part", 0}, {"parts", 1}, {"estimated_bytes", 0}}});
         },
         "tables[4].units: \"public\".\"cache\" is stored without data "
         "(with_data is false) but lists 1 units"},
        {[](Json& j) { j["tables"][0]["with_data"] = false; },
         "tables[0].units: \"public\".\"cust\"\"omers\" is stored without "
         "data"},
        {[](Json& j) {
             j["tables"][1]["units"] =
                 Json::array({{{"id", 50}, {"part", 0}, {"parts", 1}, {"estimated_bytes", 0}}});
         },
         "tables[1].units: \"sales\".\"orders\" has relkind 'p' and holds "
         "no rows of its own"},
    });
}

TEST(ManifestContents, RejectsPartsOutOfRange) {
    expectContentsRejections({
        {[](Json& j) { j["tables"][0]["units"][0]["parts"] = 0; },
         "tables[0].units[0].parts: expected an integer from 1 to"},
        {[](Json& j) { j["tables"][0]["units"][0]["part"] = -1; },
         "tables[0].units[0].part: expected an integer from 0 to 1"},
        {[](Json& j) { j["tables"][0]["units"][1]["part"] = 2; },
         "tables[0].units[1].part: expected an integer from 0 to 1"},
        {[](Json& j) { j["tables"][0]["units"][1]["part"] = 0; },
         "tables[0].units[1].part: part 0 appears twice"},
        {[](Json& j) { j["tables"][2]["units"][0]["parts"] = 3; },
         "tables[2].units[0].parts: 3, but the table has 1 units"},
        {[](Json& j) { j["tables"][0]["units"][0]["estimated_bytes"] = -7; },
         "tables[0].units[0].estimated_bytes: expected an integer from 0"},
    });
}

TEST(ManifestContents, RejectsForeignKeysToUnknownTables) {
    expectContentsRejections({
        {[](Json& j) { j["catalog"]["foreign_keys"][1]["table"] = 77; },
         "catalog.foreign_keys[1].table: oid 77 names no table of catalog.tables"},
        {[](Json& j) { j["catalog"]["foreign_keys"][0]["referenced"] = 78; },
         "catalog.foreign_keys[0].referenced: oid 78 names no table of catalog.tables"},
    });
}

// ---- results ----

TEST(ManifestResults, RoundTripKeepsEveryField) {
    const Results original = sampleResults();
    const std::string json = toJson(original);
    const Results r = parseResults(json, "test.pgs");
    EXPECT_EQ(r.version, manifest_version);
    expectEach(r.units, original.units, [](const UnitResult& u, const UnitResult& v) {
        EXPECT_EQ(u.id, v.id);
        EXPECT_EQ(u.digest, v.digest);
        EXPECT_EQ(u.raw_bytes, v.raw_bytes);
    });
    expectEach(r.sequences, original.sequences, [](const SequenceValue& s, const SequenceValue& t) {
        EXPECT_EQ(s.oid, t.oid);
        EXPECT_EQ(s.qualified, t.qualified);
        EXPECT_EQ(s.last_value, t.last_value);
        EXPECT_EQ(s.is_called, t.is_called);
    });
    EXPECT_EQ(r.large_objects, kMax64);
    EXPECT_EQ(r.large_object_bytes, (1ULL << 53) + 1);
    EXPECT_EQ(r.finished, original.finished);
    EXPECT_EQ(r.seconds, original.seconds);
    EXPECT_EQ(toJson(r), json);
}

TEST(ManifestResults, SumsAreHexStrings) {
    const Json j = Json::parse(toJson(sampleResults()));
    EXPECT_EQ(j["units"][0]["sum_a"], "ffffffffffffffff");
    EXPECT_EQ(j["units"][0]["sum_b"], "0000000000000000");
    EXPECT_EQ(j["units"][2]["sum_a"], "0123456789abcdef");
    EXPECT_EQ(j["units"][0]["rows"].get<std::uint64_t>(), kMax64);
}

TEST(ManifestResults, RejectsMalformedUnits) {
    std::vector<Rejection> cases = {
        {[](Json& j) { j["version"] = 7; },
         "version: the archive has layout version 7; this pgsluice reads version 1 only: use a "
         "newer pgsluice"},
        {[](Json& j) { j["units"][1]["id"] = 7; }, "units[1].id: unit 7 is also units[0]"},
        {[](Json& j) { j["units"][2]["rows"] = -1; },
         "units[2].rows: expected an unsigned 64-bit integer"},
        {[](Json& j) { j["units"][2]["rows"] = 1e20; },
         "units[2].rows: expected an unsigned 64-bit integer"},
        {[](Json& j) { j["units"][0].erase("raw_bytes"); },
         "units[0].raw_bytes: required key is missing"},
    };
    for (const Json& bad : {Json("ffff"), Json("FFFFFFFFFFFFFFFF"), Json("0x0123456789abcd"),
                            Json("0123456789abcdef0"), Json("-123456789abcdef"),
                            Json(" 123456789abcdef"), Json(12345)}) {
        cases.push_back({[bad](Json& j) { j["units"][1]["sum_b"] = bad; },
                         "units[1].sum_b: expected a string of 16 lowercase hex digits"});
    }
    expectResultsRejections(cases);
}

TEST(ManifestResults, RejectsMalformedSequences) {
    std::vector<Rejection> cases;
    for (const char* bad : {"public.customers_id_seq", "\"public\".customers_id_seq", "\"public\"",
                            "\"public\".\"a\"; DROP TABLE x", "\"pub\"lic\".\"a\"", "\"\".\"a\"",
                            "\"public\".\"a", "\"public\"\"a\""}) {
        cases.push_back({[bad](Json& j) { j["sequences"][0]["qualified"] = bad; },
                         "sequences[0].qualified: expected a quoted \"schema\".\"name\""});
    }
    for (const char* bad : {"", "12a", "1.5", "+3", "99999999999999999999", " 1"}) {
        cases.push_back({[bad](Json& j) { j["sequences"][1]["last_value"] = bad; },
                         "sequences[1].last_value: expected a bigint as decimal text"});
    }
    cases.push_back({[](Json& j) { j["sequences"][1]["oid"] = 16401; },
                     "sequences[1].oid: sequence oid 16401 is also sequences[0]"});
    cases.push_back({[](Json& j) { j["sequences"][0]["is_called"] = "t"; },
                     "sequences[0].is_called: expected true or false"});
    expectResultsRejections(cases);
}

TEST(ManifestResults, RejectsMalformedTotals) {
    expectResultsRejections({
        {[](Json& j) { j["seconds"] = -1; }, "seconds: expected a number not below 0"},
        {[](Json& j) { j["large_objects"] = -1; },
         "large_objects: expected an unsigned 64-bit integer"},
        {[](Json& j) { j.erase("finished"); }, "finished: required key is missing"},
        {[](Json& j) { j["units"] = nullptr; }, "units: expected an array"},
    });
}

// ---- large-object chunks ----

struct OwnedChunk {
    std::uint32_t oid;
    std::uint64_t offset;
    std::string bytes;
    bool operator==(const OwnedChunk&) const = default;
};

std::vector<OwnedChunk> readChunks(std::string_view payload) {
    std::vector<OwnedChunk> out;
    forEachLargeObjectChunk(payload, "lo.pgs", [&](const LargeObjectChunk& c) {
        out.push_back({c.oid, c.offset, std::string(c.bytes)});
    });
    return out;
}

const std::vector<OwnedChunk> kChunks = {
    {5001, 0, "hello"},
    {5001, 5, std::string("\0\xff\x01", 3)},
    {5002, 0, ""},
    {kMax32, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - 3, "end"}};

std::string chunkPayload(std::vector<std::size_t>* boundaries = nullptr) {
    std::string payload;
    for (const OwnedChunk& c : kChunks) {
        if (boundaries) {
            boundaries->push_back(payload.size());
        }
        appendLargeObjectChunk(payload, {c.oid, c.offset, c.bytes});
    }
    return payload;
}

TEST(ManifestLargeObject, ChunksRoundTrip) {
    const std::string payload = chunkPayload();
    EXPECT_EQ(payload.size(), 4 * 16 + 5 + 3 + 0 + 3);
    // Little-endian oid, offset, length.
    EXPECT_EQ(payload.substr(0, 16), std::string("\x89\x13\0\0\0\0\0\0\0\0\0\0\x05\0\0\0", 16));
    EXPECT_EQ(readChunks(payload), kChunks);
    EXPECT_TRUE(readChunks("").empty());
}

TEST(ManifestLargeObject, TruncationAtEveryByteIsCaught) {
    std::vector<std::size_t> boundaries;
    const std::string payload = chunkPayload(&boundaries);
    for (std::size_t cut = 0; cut < payload.size(); ++cut) {
        SCOPED_TRACE(cut);
        const std::string_view prefix = std::string_view(payload).substr(0, cut);
        const auto at = std::find(boundaries.begin(), boundaries.end(), cut);
        if (at != boundaries.end()) {
            // A cut between records leaves a shorter, valid payload.
            const auto n = static_cast<std::size_t>(at - boundaries.begin());
            EXPECT_EQ(readChunks(prefix),
                      std::vector<OwnedChunk>(kChunks.begin(), kChunks.begin() + n));
            continue;
        }
        EXPECT_CONTAINS(formatError([&] { readChunks(prefix); }),
                        "archive lo.pgs: large-object data: record at");
    }
}

TEST(ManifestLargeObject, RejectsLengthPastPayload) {
    std::vector<std::size_t> boundaries;
    std::string payload = chunkPayload(&boundaries);
    payload[boundaries.back() + 12] = 4;  // the last record claims one byte more than is left
    EXPECT_CONTAINS(formatError([&] { readChunks(payload); }),
                    fmt::format("archive lo.pgs: large-object data: record at byte {} (large "
                                "object 4294967295, offset 9223372036854775804) holds 4 bytes "
                                "but only 3 are left",
                                boundaries.back()));

    std::string one;
    appendLargeObjectChunk(one, {1, 0, "abc"});
    one[12] = '\xff';
    one[13] = '\xff';
    one[14] = '\xff';
    one[15] = '\xff';
    EXPECT_CONTAINS(formatError([&] { readChunks(one); }),
                    "archive lo.pgs: large-object data: record at byte 0 (large object 1, "
                    "offset 0) holds 4294967295 bytes but only 3 are left");
}

TEST(ManifestLargeObject, RejectsOffsetsPastTheLargestLargeObject) {
    std::string payload;
    appendLargeObjectChunk(
        payload,
        {7, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - 1, "ab"});
    EXPECT_CONTAINS(formatError([&] { readChunks(payload); }),
                    "archive lo.pgs: large-object data: record at byte 0 (large object 7) ends "
                    "past the largest offset");
}

}  // namespace
}  // namespace pgsluice::archive
