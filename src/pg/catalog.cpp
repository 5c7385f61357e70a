#include "pgsluice/pg/catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::pg {

namespace {

// Objects below this OID are built into every server, so their OIDs agree between servers.
constexpr uint32_t kFirstNormalObjectId = 16384;

// Tables that belong to an extension are created by CREATE EXTENSION, not copied (as pg_dump).
constexpr const char* kNotExtensionMember =
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
    "'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')";

constexpr const char* kUserSchema = "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'";

uint32_t toOid(std::string_view text) {
    return static_cast<uint32_t>(std::strtoul(std::string(text).c_str(), nullptr, 10));
}

// Parses a text array of oids such as {1,2,3}.
std::vector<uint32_t> parseOidArray(std::string_view text) {
    std::vector<uint32_t> out;
    std::string current;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            current += c;
        } else if (!current.empty()) {
            out.push_back(toOid(current));
            current.clear();
        }
    }
    return out;
}

}  // namespace

std::string Table::selectList() const {
    std::string out;
    for (size_t i = 0; i < columns.size(); ++i) {
        out += (i ? ", " : "") + quoteIdentifier(columns[i].name);
    }
    return out;
}

std::string Table::columnList() const {
    return columns.empty() ? "" : "(" + selectList() + ")";
}

const Table* Catalog::find(uint32_t oid) const {
    for (const auto& t : tables) {
        if (t.oid == oid) {
            return &t;
        }
    }
    return nullptr;
}

bool Catalog::hasForeignKey(uint32_t oid) const {
    for (const auto& fk : foreign_keys) {
        if (fk.oid == oid) {
            return true;
        }
    }
    return false;
}

// Built-in types whose binary form cannot travel: the reg* types send the raw OID of the object
// they name (which differs between servers), and an empty tsquery is sent but refused on
// receive ("operand not found"). Their text forms work.
bool binaryHostileBuiltin(uint32_t oid) {
    switch (oid) {
        case 24:    // regproc
        case 2202:  // regprocedure
        case 2203:  // regoper
        case 2204:  // regoperator
        case 2205:  // regclass
        case 2206:  // regtype
        case 3734:  // regconfig
        case 3769:  // regdictionary
        case 4089:  // regnamespace
        case 4096:  // regrole
        case 4191:  // regcollation
        case 3615:  // tsquery
            return true;
        default:
            return false;
    }
}

bool binarySafeType(uint32_t oid, const std::vector<std::pair<uint32_t, TypeInfo>>& types) {
    auto lookup = [&](uint32_t key) -> const TypeInfo* {
        auto it = std::lower_bound(types.begin(), types.end(), key,
                                   [](const auto& entry, uint32_t k) { return entry.first < k; });
        return (it != types.end() && it->first == key) ? &it->second : nullptr;
    };
    // Domains send their base type's binary form; follow the chain (bounded against cycles).
    for (int depth = 0; depth < 32; ++depth) {
        const TypeInfo* info = lookup(oid);
        if (!info) {
            return false;
        }
        if (info->typtype == 'd') {
            oid = info->typbasetype;
            continue;
        }
        if (!info->binary_io || binaryHostileBuiltin(oid)) {
            return false;
        }
        if (info->typtype == 'c') {
            return false;  // record_send writes every attribute's type OID
        }
        if (info->typelem != 0 && info->typlen == -1) {
            // array_send writes the element type's OID; only built-in, non-composite elements
            // have the same OID on every server.
            const TypeInfo* elem = lookup(info->typelem);
            return info->typelem < kFirstNormalObjectId && elem && elem->typtype != 'c' &&
                   elem->binary_io && !binaryHostileBuiltin(info->typelem);
        }
        return true;
    }
    return false;
}

namespace {

using TableIndex = std::unordered_map<uint32_t, size_t>;  // table oid -> catalog.tables index

// Tables (with their sizes and ancestors) and the other relations -t patterns can match.
TableIndex readRelations(Connection& conn, Catalog& catalog) {
    // pg_dump matches unqualified -t patterns against tables visible under the default
    // search_path, so visibility is computed with it, and definitions below with an empty one.
    conn.exec("RESET search_path");
    Result tables = conn.exec(fmt::format(
        "WITH RECURSIVE anc(child, parent, depth) AS ("
        "  SELECT inhrelid, inhparent, 1 FROM pg_catalog.pg_inherits"
        "  UNION ALL SELECT a.child, i.inhparent, a.depth + 1 FROM anc a"
        "  JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.parent WHERE a.depth < 64), "
        // Grouped once and joined: a subquery per table scans the whole CTE each time, which
        // took 1.3 s of 1.6 s with 10,000 tables and 500 partitions.
        "ancestors(child, parents) AS ("
        "  SELECT child, pg_catalog.array_agg(parent ORDER BY depth) FROM anc GROUP BY child) "
        "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence = 'u', c.relispartition,"
        " pg_catalog.pg_table_size(c.oid), pg_catalog.pg_relation_size(c.oid), c.reltuples,"
        " ancestors.parents, pg_catalog.pg_table_is_visible(c.oid) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN ancestors ON ancestors.child = c.oid "
        "WHERE c.relkind IN ('r', 'p', 'f', 'm') AND {} AND {} "
        "ORDER BY n.nspname, c.relname",
        kUserSchema, kNotExtensionMember));
    TableIndex by_oid;
    for (int r = 0; r < tables.rows(); ++r) {
        Table t;
        t.oid = toOid(tables.get(r, 0));
        t.schema = std::string(tables.get(r, 1));
        t.name = std::string(tables.get(r, 2));
        t.qualified = qualifiedName(t.schema, t.name);
        t.relkind = tables.get(r, 3).empty() ? 'r' : tables.get(r, 3)[0];
        t.unlogged = tables.getBool(r, 4);
        t.is_partition = tables.getBool(r, 5);
        t.total_bytes = tables.getInt(r, 6);
        t.main_bytes = tables.getInt(r, 7);
        t.estimated_rows =
            std::max(0.0, std::strtod(std::string(tables.get(r, 8)).c_str(), nullptr));
        t.ancestors = parseOidArray(tables.get(r, 9));
        t.visible = tables.getBool(r, 10);
        by_oid.emplace(t.oid, catalog.tables.size());
        catalog.tables.push_back(std::move(t));
    }

    Result others = conn.exec(fmt::format(
        "SELECT n.nspname, c.relname, pg_catalog.pg_table_is_visible(c.oid) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('v', 'S') AND {} AND {}",
        kUserSchema, kNotExtensionMember));
    for (int r = 0; r < others.rows(); ++r) {
        catalog.other_relations.push_back(
            {std::string(others.get(r, 0)), std::string(others.get(r, 1)), others.getBool(r, 2)});
    }
    conn.exec("SELECT pg_catalog.set_config('search_path', '', false)");

    return by_oid;
}

// Schemas and foreign keys.
void readSchemasAndKeys(Connection& conn, Catalog& catalog) {
    Result schemas = conn.exec(
        "SELECT nspname FROM pg_catalog.pg_namespace n WHERE nspname <> 'information_schema' "
        "AND nspname !~ '^pg_' ORDER BY 1");
    for (int r = 0; r < schemas.rows(); ++r) {
        catalog.schemas.emplace_back(schemas.get(r, 0));
    }

    Result fks = conn.exec(
        "SELECT oid, conname, conrelid, confrelid FROM pg_catalog.pg_constraint "
        "WHERE contype = 'f' AND conparentid = 0 ORDER BY conrelid, conname");
    std::unordered_map<uint32_t, size_t> by_oid;
    for (int r = 0; r < fks.rows(); ++r) {
        by_oid.emplace(toOid(fks.get(r, 0)), catalog.foreign_keys.size());
        catalog.foreign_keys.push_back({toOid(fks.get(r, 0)),
                                        std::string(fks.get(r, 1)),
                                        toOid(fks.get(r, 2)),
                                        toOid(fks.get(r, 3)),
                                        {},
                                        {}});
    }
    // The column pairs, one row each, in key order (subsetting follows keys by their values).
    Result columns = conn.exec(
        "SELECT c.oid, a.attname, b.attname FROM pg_catalog.pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY k(col, ref, i) "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col "
        "JOIN pg_catalog.pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = k.ref "
        "WHERE c.contype = 'f' AND c.conparentid = 0 ORDER BY c.oid, k.i");
    for (int r = 0; r < columns.rows(); ++r) {
        if (auto it = by_oid.find(toOid(columns.get(r, 0))); it != by_oid.end()) {
            ForeignKey& fk = catalog.foreign_keys[it->second];
            fk.columns.emplace_back(columns.get(r, 1));
            fk.referenced_columns.emplace_back(columns.get(r, 2));
        }
    }
}

// Every type, for binarySafeType.
std::vector<std::pair<uint32_t, TypeInfo>> readTypes(Connection& conn) {
    std::vector<std::pair<uint32_t, TypeInfo>> types;
    {
        Result res = conn.exec(
            "SELECT oid, typtype, typelem, typbasetype, typlen, typsend <> 0 AND typreceive <> 0 "
            "FROM pg_catalog.pg_type ORDER BY oid");
        types.reserve(static_cast<size_t>(res.rows()));
        for (int r = 0; r < res.rows(); ++r) {
            TypeInfo info;
            info.typtype = res.get(r, 1).empty() ? 'b' : res.get(r, 1)[0];
            info.typelem = toOid(res.get(r, 2));
            info.typbasetype = toOid(res.get(r, 3));
            info.typlen = static_cast<int>(res.getInt(r, 4));
            info.binary_io = res.getBool(r, 5);
            types.emplace_back(toOid(res.get(r, 0)), info);
        }
    }

    return types;
}

// The columns COPY moves, and whether each table can move as COPY BINARY.
void readColumns(Connection& conn, Catalog& catalog, const TableIndex& by_oid,
                 const std::vector<std::pair<uint32_t, TypeInfo>>& types) {
    // indnullsnotdistinct exists from PostgreSQL 15 on.
    const char* nulls_not_distinct =
        catalog.server_version >= 150000 ? "i.indnullsnotdistinct" : "false";
    Result columns = conn.exec(fmt::format(
        "SELECT a.attrelid, a.attname, a.atttypid,"
        " CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod)"
        "  ELSE pg_catalog.format_type(a.atttypid, a.atttypmod) END, a.attnotnull,"
        " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid"
        "  AND i.indisunique AND a.attnum = ANY (i.indkey::int2[])),"
        " EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = a.attrelid"
        "  AND i.indisunique AND {} AND a.attnum = ANY (i.indkey::int2[])) "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "AND c.relkind = 'r' AND {} ORDER BY a.attrelid, a.attnum",
        nulls_not_distinct, kUserSchema));
    for (int r = 0; r < columns.rows(); ++r) {
        auto it = by_oid.find(toOid(columns.get(r, 0)));
        if (it == by_oid.end()) {
            continue;
        }
        Table& t = catalog.tables[it->second];
        Column col{std::string(columns.get(r, 1)), toOid(columns.get(r, 2)),
                   std::string(columns.get(r, 3)), columns.getBool(r, 4),
                   columns.getBool(r, 5),          columns.getBool(r, 6)};
        if (!binarySafeType(col.type_oid, types)) {
            t.binary_safe = false;
        }
        t.columns.push_back(std::move(col));
    }
}

// One index of table `t` from row `r` of the indexes query.
IndexDef indexFrom(const Result& indexes, int r, const Table& t) {
    IndexDef idx;
    idx.index_oid = toOid(indexes.get(r, 1));
    idx.name = std::string(indexes.get(r, 2));
    std::string quoted_name = quoteIdentifier(idx.name);
    std::vector<std::string> attach;
    std::string_view contype = indexes.isNull(r, 4) ? "" : indexes.get(r, 6);
    if (contype == "p" || contype == "u") {
        idx.constraint_oid = toOid(indexes.get(r, 4));
        idx.create_sql = std::string(indexes.get(r, 3));
        attach.push_back(fmt::format("ALTER TABLE ONLY {} ADD CONSTRAINT {} {} USING INDEX {}{}{}",
                                     t.qualified, quoteIdentifier(indexes.get(r, 5)),
                                     contype == "p" ? "PRIMARY KEY" : "UNIQUE", quoted_name,
                                     indexes.getBool(r, 8) ? " DEFERRABLE" : "",
                                     indexes.getBool(r, 9) ? " INITIALLY DEFERRED" : ""));
    } else if (contype == "x") {
        // Exclusion constraints cannot adopt an index: build them whole.
        idx.constraint_oid = toOid(indexes.get(r, 4));
        idx.create_sql = fmt::format("ALTER TABLE ONLY {} ADD CONSTRAINT {} {}", t.qualified,
                                     quoteIdentifier(indexes.get(r, 5)), indexes.get(r, 7));
    } else {
        idx.create_sql = std::string(indexes.get(r, 3));
    }
    if (indexes.getBool(r, 10)) {
        attach.push_back(fmt::format("ALTER TABLE {} CLUSTER ON {}", t.qualified, quoted_name));
    }
    if (indexes.getBool(r, 11)) {
        attach.push_back(fmt::format("ALTER TABLE ONLY {} REPLICA IDENTITY USING INDEX {}",
                                     t.qualified, quoted_name));
    }
    for (const auto& stmt : attach) {
        idx.attach_sql += stmt + ";";
    }
    return idx;
}

void readIndexes(Connection& conn, Catalog& catalog, const TableIndex& by_oid) {
    // Indexes built as soon as a table's data is in: those of ordinary tables outside partition
    // trees (indexes of partitioned tables attach to their partitions' indexes, so pg_restore
    // builds that whole tree after the data). Only valid indexes, as pg_dump.
    Result indexes = conn.exec(fmt::format(
        "SELECT i.indrelid, i.indexrelid, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid),"
        " con.oid, con.conname, con.contype, pg_catalog.pg_get_constraintdef(con.oid),"
        " con.condeferrable, con.condeferred, i.indisclustered, i.indisreplident "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid "
        " AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x') "
        "WHERE i.indisvalid AND c.relkind = 'r' AND NOT c.relispartition "
        " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = c.oid) "
        " AND {} AND {} ORDER BY i.indrelid, ic.relname",
        kUserSchema, kNotExtensionMember));
    for (int r = 0; r < indexes.rows(); ++r) {
        auto it = by_oid.find(toOid(indexes.get(r, 0)));
        if (it == by_oid.end()) {
            continue;
        }
        Table& t = catalog.tables[it->second];
        t.indexes.push_back(indexFrom(indexes, r, t));
    }
}

// Sequences and large objects.
void readSequencesAndLargeObjects(Connection& conn, Catalog& catalog) {
    Result sequences =
        conn.exec(fmt::format("SELECT n.nspname, c.relname, c.oid FROM pg_catalog.pg_class c "
                              "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.relkind = 'S' AND {} AND {} ORDER BY 1, 2",
                              kUserSchema, kNotExtensionMember));
    for (int r = 0; r < sequences.rows(); ++r) {
        Sequence s{toOid(sequences.get(r, 2)), std::string(sequences.get(r, 0)),
                   std::string(sequences.get(r, 1)), ""};
        s.qualified = qualifiedName(s.schema, s.name);
        catalog.sequences.push_back(std::move(s));
    }

    Result los = conn.exec("SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid");
    for (int r = 0; r < los.rows(); ++r) {
        catalog.large_objects.push_back(toOid(los.get(r, 0)));
    }
}

}  // namespace

Catalog loadCatalog(Connection& conn) {
    Catalog catalog;
    catalog.server_version = conn.serverVersion();
    if (catalog.server_version < 120000) {
        throw Error(
            fmt::format("the source server is version {}; pgsluice needs PostgreSQL 12 or newer",
                        catalog.server_version));
    }
    {
        Result res = conn.exec(
            "SELECT d.datname, pg_catalog.current_setting('block_size')::bigint, "
            "pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype "
            "FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()");
        catalog.database = std::string(res.get(0, 0));
        catalog.block_size = res.getInt(0, 1);
        catalog.locale = {std::string(res.get(0, 2)), std::string(res.get(0, 3)),
                          std::string(res.get(0, 4))};
    }

    TableIndex by_oid = readRelations(conn, catalog);
    readSchemasAndKeys(conn, catalog);
    readColumns(conn, catalog, by_oid, readTypes(conn));
    readIndexes(conn, catalog, by_oid);
    readSequencesAndLargeObjects(conn, catalog);
    return catalog;
}

}  // namespace pgsluice::pg
