#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/catalog.hpp"

namespace pgsluice::engine {

// A foreign key whose rows could not be satisfied on the target with this selection.
struct DanglingForeignKey {
    const pg::ForeignKey* key = nullptr;
    std::string table;       // schema.name of the referencing table
    std::string referenced;  // schema.name of the referenced table
    std::string reason;      // "its rows are left out" / "it is left out"
};

// What the user's -t/-T/-n/-N/--exclude-table-data/--filter options select in one catalogue.
struct TableSelection {
    std::set<uint32_t> skip;                // tables not copied at all
    std::set<uint32_t> schema_only;         // tables whose definition is copied, not their rows
    std::vector<std::string> pg_dump_args;  // the same selection, said to pg_dump
    std::vector<std::string> warnings;      // patterns that matched nothing
    std::vector<DanglingForeignKey> dangling;
    bool include_everything = true;  // no -t/-n: large objects and non-schema objects come too
    // Schemas of the catalogue whose objects pg_dump would not dump: with -n those no -n
    // pattern matches, and those a -N pattern matches. Empty when -t names the tables (then
    // only the tables in `skip` are left out, not the other objects pg_dump -t would omit).
    std::set<std::string> excluded_schemas;
};

// Applies pg_dump's selection rules (filter::Selection) to every relation of `catalog`. Throws
// UsageError for
// --strict-names failures and bad patterns.
TableSelection selectTables(const pg::Catalog& catalog, const filter::SelectionOptions& options);

// TableSelection::pg_dump_args when they follow from `options` alone (no -and-children
// pattern, which pg_dump 15 is given as exact names), so that pg_dump can start before the
// catalogue is read; nothing otherwise.
std::optional<std::vector<std::string>> pgDumpArgsBeforeCatalog(
    const filter::SelectionOptions& options);

// The message that stops a run with dangling foreign keys (exit 2), naming each constraint.
std::string danglingMessage(const std::vector<DanglingForeignKey>& dangling);

}  // namespace pgsluice::engine
