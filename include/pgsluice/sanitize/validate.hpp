#pragma once

// The check of the rules against the source catalogue, made before any byte moves: every rule
// must name an existing table and column, fit the column's type and keep the column's
// constraints satisfiable. Its result says, per table, which columns are rewritten and how.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/transform.hpp"

namespace pgsluice::sanitize {

// A column of the source as the check needs it.
struct CatalogColumn {
    std::string name;  // as stored in pg_attribute
    // pg_catalog.format_type(atttypid, atttypmod), or typname; for a domain, its base type
    // with the column's typmod.
    std::string type_name;
    bool not_null = false;
    // Covered by a primary key, a unique constraint or a unique index, alone or with other
    // columns (a non-injective rewrite of one member can make two rows' keys equal).
    bool unique = false;
    // One of those indexes is NULLS NOT DISTINCT (PostgreSQL 15+), so NULLs collide there.
    bool nulls_not_distinct = false;
};

// A table of the source, with its columns in COPY column order (generated columns left out).
struct CatalogTable {
    std::string schema;
    std::string name;
    bool visible = false;     // pg_table_is_visible under the default search_path
    bool binary_copy = true;  // its rows move as COPY BINARY (pg::Table::binary_safe)
    std::vector<CatalogColumn> columns;
    // False for a table of the source whose rows this run does not move (outside the
    // selection, or its data left out): rules may name it (one rules file serves many
    // selections), but nothing about it is checked or rewritten.
    bool moves = true;
};

// One rewritten column.
struct RuledColumn {
    int index = 0;  // position among the table's COPY columns
    std::string name;
    int line = 0;  // line of the rule applied, in the rules file
    std::shared_ptr<const Transform> transform;
};

// The rewrites of one table; shared (read-only) by every worker that copies it.
struct TableSanitizer {
    std::size_t table_index = 0;  // position of the table in the catalogue given to the check
    std::string schema;
    std::string name;
    int column_count = 0;
    std::vector<RuledColumn> columns;  // by ascending index
};

// What the check found: the tables to rewrite and the warnings to show.
struct SanitizePlan {
    std::vector<TableSanitizer> tables;  // in catalogue order; tables without rewrites absent
    std::vector<std::string> warnings;   // "FILE:LINE: ..." for wildcard patterns matching nothing
    // "FILE:LINE: ..." for patterns that match only tables whose rows do not move (said with
    // -v: the rules file names more than this run copies).
    std::vector<std::string> outside;

    // The rewrites of table SCHEMA.NAME, or nullptr when its rows pass through untouched.
    const TableSanitizer* find(std::string_view schema, std::string_view name) const;
};

// Checks RULES against CATALOG and builds every transform with KEY (see loadSaltKey). Throws
// UsageError listing every problem at once, one per line as "FILE:LINE: message; what to do",
// ordered by line. Rules:
//  - a table pattern matching no table is an error when it has no wildcard (a typo would let
//    personal data through) and a warning when it has one; a pattern matching only tables
//    whose rows do not move is neither (it is listed in `outside`);
//  - a column missing from a matched table is an error for a pattern without wildcards and is
//    skipped for a wildcard pattern (`"*.*": {ssn: null}` rules every table that has an ssn);
//  - where several patterns rule the same column, a pattern without wildcards overrides
//    wildcard ones; two rules of the same kind that disagree are an error;
//  - the column's type must be accepted, `null` needs a nullable column (and NULLs distinct in
//    its unique indexes), a unique column needs a transform that keeps uniqueness, and the
//    options must fit the column (constant type, declared length);
//  - a ruled table must move as COPY BINARY.
SanitizePlan validateRules(const Rules& rules, std::span<const CatalogTable> catalog,
                           const SaltKey& key);

}  // namespace pgsluice::sanitize
