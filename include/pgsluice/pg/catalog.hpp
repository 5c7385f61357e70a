#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::pg {

// One column that COPY moves (generated and dropped columns are never listed).
struct Column {
    std::string name;
    uint32_t type_oid = 0;
    // pg_catalog.format_type of the type, for a domain of its base type with the domain's
    // typmod: "character varying(64)", "public.citext".
    std::string type_name;
    bool not_null = false;
    // Part of the key of a unique index (PK, UNIQUE, or plain unique index, partial included):
    // a non-injective rewrite of this column could make two keys equal.
    bool unique = false;
    bool nulls_not_distinct = false;  // one of those indexes is NULLS NOT DISTINCT
};

// An index (or the PK/UNIQUE/EXCLUDE constraint that owns it) built right after its table's data.
struct IndexDef {
    uint32_t index_oid = 0;
    uint32_t constraint_oid = 0;  // 0 when the index backs no constraint
    std::string name;
    // CREATE [UNIQUE] INDEX ..., fully qualified. A PK or UNIQUE constraint's index is built
    // like any other index so that it runs alongside the table's other index builds
    // (ADD PRIMARY KEY would lock them out).
    std::string create_sql;
    // Short statements to run once the table's indexes exist: ADD CONSTRAINT ... USING INDEX,
    // CLUSTER ON, REPLICA IDENTITY. Empty when there is nothing to attach.
    std::string attach_sql;
};

// A table of the source database as the planner needs it.
struct Table {
    uint32_t oid = 0;
    std::string schema;
    std::string name;
    std::string qualified;  // "schema"."name", quoted for SQL
    char relkind = 'r';     // r ordinary, p partitioned, f foreign, m materialized view
    bool unlogged = false;
    bool is_partition = false;
    bool visible = false;  // pg_table_is_visible under the default search_path (pg_dump's -t)
    std::vector<uint32_t> ancestors;  // parents up the inheritance/partition tree
    long long total_bytes = 0;        // on disk, TOAST included
    long long main_bytes = 0;         // main fork only: what ctid ranges cut
    double estimated_rows = 0;
    std::vector<Column> columns;
    // False when a column's binary form embeds type OIDs that differ between servers (arrays of
    // user types, composite types): such tables move as COPY text instead.
    bool binary_safe = true;
    std::vector<IndexDef> indexes;

    // True for tables whose rows COPY moves (ordinary tables and partition leaves).
    bool holdsData() const { return relkind == 'r'; }
    // The column list for COPY, quoted: ("a", "b"); empty for a table without columns, which
    // COPY takes without a list (a list cannot be empty).
    std::string columnList() const;
    // The columns as a SELECT list, quoted: "a", "b"; empty for a table without columns
    // (SELECT FROM t is valid).
    std::string selectList() const;
};

// A sequence whose value is carried over.
struct Sequence {
    uint32_t oid = 0;
    std::string schema;
    std::string name;
    std::string qualified;
};

// A relation that holds no rows of its own but that -t patterns can match (view, sequence...).
struct OtherRelation {
    std::string schema;
    std::string name;
    bool visible = false;
};

// A foreign key, for the check that no kept row points at a row left behind.
struct ForeignKey {
    uint32_t oid = 0;
    std::string name;
    uint32_t table = 0;       // the referencing table
    uint32_t referenced = 0;  // the referenced table
    // The referencing columns and the referenced ones, pairwise (read from the source; not
    // kept in an archive's manifest).
    std::vector<std::string> columns;
    std::vector<std::string> referenced_columns;
};

// What the planner knows of the source database, read inside the exported snapshot.
// A database's encoding and locale, as CREATE DATABASE takes them; empty when not known (an
// archive written before they were recorded).
struct DatabaseLocale {
    std::string encoding;  // "UTF8"
    std::string collate;   // LC_COLLATE
    std::string ctype;     // LC_CTYPE
};

struct Catalog {
    std::vector<Table> tables;
    std::vector<Sequence> sequences;
    std::vector<uint32_t> large_objects;
    std::vector<OtherRelation> other_relations;
    std::vector<std::string> schemas;
    std::vector<ForeignKey> foreign_keys;
    int server_version = 0;
    std::string database;
    long long block_size = 8192;
    DatabaseLocale locale;  // of the source database

    // The table with this oid, or nullptr.
    const Table* find(uint32_t oid) const;
    // True when `foreign_keys` holds the constraint with this oid.
    bool hasForeignKey(uint32_t oid) const;
};

// Reads tables, columns, indexes, sequences and large objects from the source.
// `conn` must be inside the snapshot transaction, with search_path empty so definitions are
// schema-qualified.
Catalog loadCatalog(Connection& conn);

// True when COPY BINARY output of this type can be read by another server whatever its OIDs.
// `types` maps oid -> (typtype, typelem, typbasetype, typlen).
struct TypeInfo {
    char typtype = 'b';
    uint32_t typelem = 0;
    uint32_t typbasetype = 0;
    int typlen = 0;
    bool binary_io = true;  // has both a send and a receive function
};
bool binarySafeType(uint32_t oid, const std::vector<std::pair<uint32_t, TypeInfo>>& types);

}  // namespace pgsluice::pg
