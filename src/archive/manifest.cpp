#include "pgsluice/archive/manifest.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <unordered_map>
#include <utility>

#include "json_reader.hpp"
#include "pgsluice/archive/format.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::archive {

namespace {

using json::element;
using json::join;
using json::Json;
using json::jsonMessage;
// Written with keys in a fixed, readable order; read with plain json (order does not matter).
using OrderedJson = nlohmann::ordered_json;

// u32 oid, u64 offset, u32 length.
constexpr std::size_t kChunkHeaderSize = 16;

std::string hex64(std::uint64_t value) {
    return fmt::format("{:016x}", value);
}

// Dumps compact JSON; strings that are not UTF-8 (the source connection is UTF8, so only user
// input could be) are an Error rather than a corrupt manifest.
template <typename J>
std::string dumpJson(const J& value, std::string_view manifest) {
    try {
        return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("cannot write the {} manifest: {}", manifest, jsonMessage(e)));
    }
}

// A JSON array of to_json(item) for each of `items`, in order.
template <class Items, class F>
OrderedJson jsonArray(const Items& items, F&& to_json) {
    OrderedJson out = OrderedJson::array();
    for (const auto& item : items) {
        out.push_back(to_json(item));
    }
    return out;
}

// ---- contents: writing ----

OrderedJson tableJson(const pg::Table& t) {
    OrderedJson columns = jsonArray(t.columns, [](const pg::Column& c) -> OrderedJson {
        return {{"name", c.name},           {"type_oid", c.type_oid},
                {"type_name", c.type_name}, {"not_null", c.not_null},
                {"unique", c.unique},       {"nulls_not_distinct", c.nulls_not_distinct}};
    });
    OrderedJson indexes = jsonArray(t.indexes, [](const pg::IndexDef& i) -> OrderedJson {
        return {{"index_oid", i.index_oid},
                {"constraint_oid", i.constraint_oid},
                {"name", i.name},
                {"create_sql", i.create_sql},
                {"attach_sql", i.attach_sql}};
    });
    // `qualified` is not written: a reader rebuilds it from schema and name.
    return {{"oid", t.oid},
            {"schema", t.schema},
            {"name", t.name},
            {"relkind", std::string(1, t.relkind)},
            {"unlogged", t.unlogged},
            {"is_partition", t.is_partition},
            {"visible", t.visible},
            {"ancestors", t.ancestors},
            {"total_bytes", t.total_bytes},
            {"main_bytes", t.main_bytes},
            {"estimated_rows", t.estimated_rows},
            {"binary_safe", t.binary_safe},
            {"columns", std::move(columns)},
            {"indexes", std::move(indexes)}};
}

OrderedJson catalogJson(const pg::Catalog& catalog) {
    OrderedJson tables = jsonArray(catalog.tables, tableJson);
    OrderedJson sequences = jsonArray(catalog.sequences, [](const pg::Sequence& s) -> OrderedJson {
        return {{"oid", s.oid}, {"schema", s.schema}, {"name", s.name}};
    });
    OrderedJson others =
        jsonArray(catalog.other_relations, [](const pg::OtherRelation& o) -> OrderedJson {
            return {{"schema", o.schema}, {"name", o.name}, {"visible", o.visible}};
        });
    OrderedJson fks = jsonArray(catalog.foreign_keys, [](const pg::ForeignKey& fk) -> OrderedJson {
        return {
            {"oid", fk.oid}, {"name", fk.name}, {"table", fk.table}, {"referenced", fk.referenced}};
    });
    return {{"server_version", catalog.server_version},
            {"database", catalog.database},
            {"block_size", catalog.block_size},
            {"encoding", catalog.locale.encoding},
            {"lc_collate", catalog.locale.collate},
            {"lc_ctype", catalog.locale.ctype},
            {"schemas", catalog.schemas},
            {"tables", std::move(tables)},
            {"sequences", std::move(sequences)},
            {"other_relations", std::move(others)},
            {"foreign_keys", std::move(fks)},
            {"large_objects", catalog.large_objects}};
}

OrderedJson archivedTableJson(const ArchivedTable& t) {
    OrderedJson units = jsonArray(t.units, [](const ArchivedUnit& u) -> OrderedJson {
        return {{"id", u.id},
                {"part", u.part},
                {"parts", u.parts},
                {"estimated_bytes", u.estimated_bytes}};
    });
    return {{"oid", t.oid},
            {"with_data", t.with_data},
            {"format", t.format},
            {"units", std::move(units)},
            {"rewritten_columns", t.rewritten_columns},
            {"subset", t.subset}};
}

// ---- contents: reading ----

// One element of catalog.tables (already checked to be an object).
pg::Table readTable(const json::JsonReader& r, const Json& v, const std::string& path) {
    pg::Table t;
    t.oid = r.u32(v, path, "oid");
    t.schema = r.identifier(v, path, "schema");
    t.name = r.identifier(v, path, "name");
    t.qualified = pg::qualifiedName(t.schema, t.name);
    const std::string relkind = r.string(v, path, "relkind");
    if (relkind.size() != 1 || std::string_view("rpfm").find(relkind[0]) == std::string::npos) {
        r.fail(join(path, "relkind"), "expected \"r\", \"p\", \"f\" or \"m\"");
    }
    t.relkind = relkind[0];
    t.unlogged = r.boolean(v, path, "unlogged");
    t.is_partition = r.boolean(v, path, "is_partition");
    t.visible = r.boolean(v, path, "visible");
    t.ancestors = r.u32s(v, path, "ancestors");
    t.total_bytes = r.count(v, path, "total_bytes");
    t.main_bytes = r.count(v, path, "main_bytes");
    t.estimated_rows = r.nonNegative(v, path, "estimated_rows");
    t.binary_safe = r.boolean(v, path, "binary_safe");

    r.forEach(v, path, "columns", [&](const Json& c, const std::string& p, std::size_t) {
        pg::Column column;
        column.name = r.identifier(c, p, "name");
        column.type_oid = r.u32(c, p, "type_oid");
        column.type_name = r.string(c, p, "type_name");
        column.not_null = r.boolean(c, p, "not_null");
        column.unique = r.boolean(c, p, "unique");
        column.nulls_not_distinct = r.boolean(c, p, "nulls_not_distinct");
        t.columns.push_back(std::move(column));
    });
    r.forEach(v, path, "indexes", [&](const Json& x, const std::string& p, std::size_t) {
        pg::IndexDef index;
        index.index_oid = r.u32(x, p, "index_oid");
        index.constraint_oid = r.u32(x, p, "constraint_oid");
        index.name = r.string(x, p, "name");
        index.create_sql = r.string(x, p, "create_sql");
        index.attach_sql = r.string(x, p, "attach_sql");
        t.indexes.push_back(std::move(index));
    });
    return t;
}

pg::Catalog readCatalog(const json::JsonReader& r, const Json& root) {
    const std::string path = "catalog";
    const Json& v = r.object(root, "", path);
    pg::Catalog catalog;
    catalog.server_version =
        r.integer(v, path, "server_version", 0, std::numeric_limits<int>::max());
    catalog.database = r.string(v, path, "database");
    catalog.block_size = r.integer(v, path, "block_size", 1, std::numeric_limits<int>::max());
    // Archives before these were recorded: restore --create then uses the server's defaults.
    if (v.contains("encoding")) {
        catalog.locale = {r.string(v, path, "encoding"), r.string(v, path, "lc_collate"),
                          r.string(v, path, "lc_ctype")};
    }
    catalog.schemas = r.strings(v, path, "schemas");

    std::unordered_map<std::uint32_t, std::string> table_at;
    r.forEach(v, path, "tables", [&](const Json& x, const std::string& p, std::size_t) {
        pg::Table t = readTable(r, x, p);
        r.requireUnique(table_at, t.oid, p, join(p, "oid"), "table oid");
        catalog.tables.push_back(std::move(t));
    });
    std::unordered_map<std::uint32_t, std::string> sequence_at;
    r.forEach(v, path, "sequences", [&](const Json& s, const std::string& p, std::size_t) {
        pg::Sequence sequence;
        sequence.oid = r.u32(s, p, "oid");
        sequence.schema = r.identifier(s, p, "schema");
        sequence.name = r.identifier(s, p, "name");
        sequence.qualified = pg::qualifiedName(sequence.schema, sequence.name);
        r.requireUnique(sequence_at, sequence.oid, p, join(p, "oid"), "sequence oid");
        catalog.sequences.push_back(std::move(sequence));
    });
    r.forEach(v, path, "other_relations", [&](const Json& o, const std::string& p, std::size_t) {
        catalog.other_relations.push_back(
            {r.string(o, p, "schema"), r.string(o, p, "name"), r.boolean(o, p, "visible")});
    });
    r.forEach(v, path, "foreign_keys", [&](const Json& f, const std::string& p, std::size_t) {
        pg::ForeignKey fk;
        fk.oid = r.u32(f, p, "oid");
        fk.name = r.string(f, p, "name");
        fk.table = r.u32(f, p, "table");
        fk.referenced = r.u32(f, p, "referenced");
        if (!table_at.count(fk.table)) {
            r.fail(join(p, "table"),
                   fmt::format("oid {} names no table of catalog.tables", fk.table));
        }
        if (!table_at.count(fk.referenced)) {
            r.fail(join(p, "referenced"),
                   fmt::format("oid {} names no table of catalog.tables", fk.referenced));
        }
        catalog.foreign_keys.push_back(std::move(fk));
    });

    catalog.large_objects = r.u32s(v, path, "large_objects");
    std::vector<std::uint32_t> sorted = catalog.large_objects;
    std::sort(sorted.begin(), sorted.end());
    const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
    if (twice != sorted.end()) {
        r.fail(join(path, "large_objects"),
               fmt::format("large object oid {} is listed twice", *twice));
    }
    return catalog;
}

// Reads `tables` and checks each against its catalog table; `unit_at` collects unit ids.
std::vector<ArchivedTable> readArchivedTables(
    const json::JsonReader& r, const Json& root, const pg::Catalog& catalog,
    std::unordered_map<std::uint32_t, std::string>& unit_at) {
    const std::string path = "tables";
    const Json& tables = r.array(root, "", path);
    if (tables.size() != catalog.tables.size()) {
        r.fail(path,
               fmt::format("{} entries for {} tables in catalog.tables (one each, in the same "
                           "order)",
                           tables.size(), catalog.tables.size()));
    }
    std::vector<ArchivedTable> out;
    out.reserve(tables.size());
    r.forEach(tables, path, [&](const Json& v, const std::string& p, std::size_t i) {
        const pg::Table& table = catalog.tables[i];
        ArchivedTable t;
        t.oid = r.u32(v, p, "oid");
        if (t.oid != table.oid) {
            if (!catalog.find(t.oid)) {
                r.fail(join(p, "oid"),
                       fmt::format("oid {} names no table of catalog.tables", t.oid));
            }
            r.fail(join(p, "oid"),
                   fmt::format("oid {} is not that of catalog.tables[{}] ({}, oid {}): tables must "
                               "follow catalog.tables' order",
                               t.oid, i, table.qualified, table.oid));
        }
        t.with_data = r.boolean(v, p, "with_data");
        t.format = r.string(v, p, "format");
        if (t.format != "binary" && t.format != "text") {
            r.fail(join(p, "format"), "expected \"binary\" or \"text\"");
        }
        if ((t.format == "binary") != table.binary_safe) {
            r.fail(join(p, "format"),
                   table.binary_safe
                       ? fmt::format("\"text\", but {} is binary-safe, so its data is binary",
                                     table.qualified)
                       : fmt::format("\"binary\", but {} is not binary-safe (its data must be "
                                     "COPY text)",
                                     table.qualified));
        }

        const std::string units_path = join(p, "units");
        const Json& units = r.array(v, p, "units");
        if (!units.empty() && !t.with_data) {
            r.fail(units_path, fmt::format("{} is stored without data (with_data is false) but "
                                           "lists {} units",
                                           table.qualified, units.size()));
        }
        if (!units.empty() && !table.holdsData()) {
            r.fail(units_path, fmt::format("{} has relkind '{}' and holds no rows of its own, but "
                                           "lists {} units",
                                           table.qualified, table.relkind, units.size()));
        }
        std::vector<bool> part_seen(units.size(), false);
        r.forEach(units, units_path, [&](const Json& u, const std::string& up, std::size_t) {
            ArchivedUnit unit;
            unit.id = r.u32(u, up, "id");
            unit.parts =
                static_cast<int>(r.integer(u, up, "parts", 1, std::numeric_limits<int>::max()));
            unit.part = static_cast<int>(r.integer(u, up, "part", 0, unit.parts - 1));
            unit.estimated_bytes = r.count(u, up, "estimated_bytes");
            // The planner cuts a table into `parts` units numbered 0..parts-1, all stored.
            if (static_cast<std::size_t>(unit.parts) != units.size()) {
                r.fail(join(up, "parts"),
                       fmt::format("{}, but the table has {} units", unit.parts, units.size()));
            }
            if (part_seen[static_cast<std::size_t>(unit.part)]) {
                r.fail(join(up, "part"), fmt::format("part {} appears twice", unit.part));
            }
            part_seen[static_cast<std::size_t>(unit.part)] = true;
            r.requireUnique(unit_at, unit.id, join(up, "id"), join(up, "id"), "unit");
            t.units.push_back(unit);
        });
        t.rewritten_columns = r.strings(v, p, "rewritten_columns");
        if (v.contains("subset")) {  // manifests before subsets have none: whole
            t.subset = r.string(v, p, "subset");
        }
        out.push_back(std::move(t));
    });
    return out;
}

// ---- results ----

// Checks `qualified` is exactly "schema"."name" (both quoted) and returns it rebuilt.
std::string readQualified(const json::JsonReader& r, const Json& object, const std::string& path) {
    const std::string text = r.string(object, path, "qualified");
    std::string_view rest = text;
    const std::optional<std::string> schema = pg::takeQuotedIdentifier(rest);
    const bool dot = schema && !rest.empty() && rest[0] == '.';
    if (dot) {
        rest.remove_prefix(1);
    }
    const std::optional<std::string> name = dot ? pg::takeQuotedIdentifier(rest) : std::nullopt;
    if (!name || !rest.empty() || schema->empty() || name->empty() ||
        text.find('\0') != std::string::npos) {
        r.fail(join(path, "qualified"), "expected a quoted \"schema\".\"name\"");
    }
    return pg::qualifiedName(*schema, *name);
}

}  // namespace

void appendLargeObjectChunk(std::string& out, const LargeObjectChunk& chunk) {
    if (chunk.bytes.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw Error(
            fmt::format("large object {}: a chunk of {} bytes is over the 4 GiB a record "
                        "can hold",
                        chunk.oid, chunk.bytes.size()));
    }
    char header[kChunkHeaderSize];
    archive::storeLE(header, chunk.oid, 4);
    archive::storeLE(header + 4, chunk.offset, 8);
    archive::storeLE(header + 12, chunk.bytes.size(), 4);
    out.append(header, sizeof header);
    out.append(chunk.bytes);
}

void forEachLargeObjectChunk(std::string_view payload, std::string_view source,
                             const std::function<void(const LargeObjectChunk&)>& on_chunk) {
    std::size_t at = 0;
    while (at < payload.size()) {
        const std::size_t left = payload.size() - at;
        if (left < kChunkHeaderSize) {
            throw FormatError(
                fmt::format("archive {}: large-object data: record at byte {} is cut "
                            "short ({} bytes, a record header is {})",
                            source, at, left, kChunkHeaderSize));
        }
        LargeObjectChunk chunk;
        chunk.oid = static_cast<std::uint32_t>(archive::loadLE(payload.data() + at, 4));
        chunk.offset = archive::loadLE(payload.data() + at + 4, 8);
        const std::uint64_t length = archive::loadLE(payload.data() + at + 12, 4);
        if (length > left - kChunkHeaderSize) {
            throw FormatError(
                fmt::format("archive {}: large-object data: record at byte {} "
                            "(large object {}, offset {}) holds {} bytes but only {} "
                            "are left",
                            source, at, chunk.oid, chunk.offset, length, left - kChunkHeaderSize));
        }
        // lo_lseek64 takes a signed 64-bit offset.
        if (chunk.offset >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - length) {
            throw FormatError(
                fmt::format("archive {}: large-object data: record at byte {} "
                            "(large object {}) ends past the largest offset a "
                            "large object can have ({} + {})",
                            source, at, chunk.oid, chunk.offset, length));
        }
        chunk.bytes = payload.substr(at + kChunkHeaderSize, length);
        on_chunk(chunk);
        at += kChunkHeaderSize + length;
    }
}

std::string toJson(const Contents& contents) {
    OrderedJson tables = jsonArray(contents.tables, archivedTableJson);
    const SourceInfo& s = contents.source;
    const OrderedJson root = {
        {"version", contents.version},
        {"writer", contents.writer},
        {"source",
         {{"system_id", s.system_id},
          {"host", s.host},
          {"database", s.database},
          {"server_version", s.server_version},
          {"snapshot_time", s.snapshot_time}}},
        {"selection", contents.selection},
        {"rules_hash", contents.rules_hash},
        {"subset", contents.subset},
        {"compression_level", contents.compression_level},
        {"jobs", contents.jobs},
        {"catalog", catalogJson(contents.catalog)},
        {"tables", std::move(tables)},
        {"large_object_unit", contents.large_object_unit ? OrderedJson(*contents.large_object_unit)
                                                         : OrderedJson(nullptr)}};
    return dumpJson(root, "contents");
}

std::string toJson(const Results& results) {
    OrderedJson units = jsonArray(results.units, [](const UnitResult& u) -> OrderedJson {
        return {{"id", u.id},
                {"rows", u.digest.rows},
                {"sum_a", hex64(u.digest.sum_a)},
                {"sum_b", hex64(u.digest.sum_b)},
                {"raw_bytes", u.raw_bytes}};
    });
    OrderedJson sequences = jsonArray(results.sequences, [](const SequenceValue& s) -> OrderedJson {
        return {{"oid", s.oid},
                {"qualified", s.qualified},
                {"last_value", s.last_value},
                {"is_called", s.is_called}};
    });
    const OrderedJson root = {{"version", results.version},
                              {"units", std::move(units)},
                              {"sequences", std::move(sequences)},
                              {"large_objects", results.large_objects},
                              {"large_object_bytes", results.large_object_bytes},
                              {"finished", results.finished},
                              {"seconds", results.seconds}};
    return dumpJson(root, "results");
}

Contents parseContents(std::string_view json, std::string_view source) {
    const json::JsonReader r(source, "contents", manifest_version);
    try {
        const Json root = r.parse(json);
        Contents c;
        c.version = manifest_version;
        c.writer = r.string(root, "", "writer");
        const Json& s = r.object(root, "", "source");
        c.source.system_id = r.string(s, "source", "system_id");
        c.source.host = r.string(s, "source", "host");
        c.source.database = r.string(s, "source", "database");
        c.source.server_version = static_cast<int>(
            r.integer(s, "source", "server_version", 0, std::numeric_limits<int>::max()));
        c.source.snapshot_time = r.string(s, "source", "snapshot_time");
        c.selection = r.strings(root, "", "selection");
        c.rules_hash = r.string(root, "", "rules_hash");
        if (root.contains("subset")) {  // manifests before subsets have none
            c.subset = r.strings(root, "", "subset");
        }
        c.compression_level = r.integer(root, "", "compression_level");
        c.jobs = static_cast<int>(r.integer(root, "", "jobs", 1, std::numeric_limits<int>::max()));
        c.catalog = readCatalog(r, root);

        std::unordered_map<std::uint32_t, std::string> unit_at;
        c.tables = readArchivedTables(r, root, c.catalog, unit_at);
        const Json& lo = r.field(root, "", "large_object_unit");
        if (!lo.is_null()) {
            const std::uint32_t id = r.asU32(lo, "large_object_unit");
            const auto it = unit_at.find(id);
            if (it != unit_at.end()) {
                r.fail("large_object_unit", fmt::format("unit {} is also {}", id, it->second));
            }
            c.large_object_unit = id;
        }
        return c;
    } catch (const nlohmann::json::exception& e) {
        // Only reached if a check above let a value of the wrong type through.
        r.fail("", jsonMessage(e));
    }
}

Results parseResults(std::string_view json, std::string_view source) {
    const json::JsonReader r(source, "results", manifest_version);
    try {
        const Json root = r.parse(json);
        Results results;
        results.version = manifest_version;

        std::unordered_map<std::uint32_t, std::string> unit_at;
        r.forEach(root, "", "units", [&](const Json& u, const std::string& p, std::size_t) {
            UnitResult unit;
            unit.id = r.u32(u, p, "id");
            unit.digest.rows = r.u64(u, p, "rows");
            unit.digest.sum_a = r.hexU64(u, p, "sum_a");
            unit.digest.sum_b = r.hexU64(u, p, "sum_b");
            unit.raw_bytes = r.u64(u, p, "raw_bytes");
            r.requireUnique(unit_at, unit.id, p, join(p, "id"), "unit");
            results.units.push_back(unit);
        });

        std::unordered_map<std::uint32_t, std::string> sequence_at;
        r.forEach(root, "", "sequences", [&](const Json& s, const std::string& p, std::size_t) {
            SequenceValue value;
            value.oid = r.u32(s, p, "oid");
            value.qualified = readQualified(r, s, p);
            value.last_value = r.string(s, p, "last_value");
            std::int64_t parsed = 0;
            const char* end = value.last_value.data() + value.last_value.size();
            const auto [ptr, ec] = std::from_chars(value.last_value.data(), end, parsed);
            if (value.last_value.empty() || ec != std::errc() || ptr != end) {
                r.fail(join(p, "last_value"), "expected a bigint as decimal text");
            }
            value.is_called = r.boolean(s, p, "is_called");
            r.requireUnique(sequence_at, value.oid, p, join(p, "oid"), "sequence oid");
            results.sequences.push_back(std::move(value));
        });

        results.large_objects = r.u64(root, "", "large_objects");
        results.large_object_bytes = r.u64(root, "", "large_object_bytes");
        results.finished = r.string(root, "", "finished");
        results.seconds = r.nonNegative(root, "", "seconds");
        return results;
    } catch (const nlohmann::json::exception& e) {
        r.fail("", jsonMessage(e));
    }
}

}  // namespace pgsluice::archive
