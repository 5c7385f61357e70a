#include "pgsluice/engine/table_selection.hpp"

#include <fmt/format.h>

#include <unordered_map>

#include "pgsluice/filter/pattern.hpp"
#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::engine {

namespace {

using Decision = filter::Selection::Decision;
using Decisions = std::unordered_map<uint32_t, Decision>;
using TablesByOid = std::unordered_map<uint32_t, const pg::Table*>;

// The schemas whose objects pg_dump would not dump (see TableSelection::excluded_schemas).
std::set<std::string> excludedSchemas(const pg::Catalog& catalog,
                                      const filter::SelectionOptions& options) {
    std::set<std::string> excluded;
    // pg_dump's selectDumpableNamespace. Under -t it dumps no schema's objects but the named
    // tables themselves, which a list of schemas cannot say: leave those schemas alone.
    if (options.include_tables.empty() && options.include_table_and_children.empty()) {
        auto parse = [](const std::vector<std::string>& texts) {
            std::vector<filter::Pattern> patterns;
            for (const auto& text : texts) {
                patterns.push_back(filter::Pattern::parse(text, filter::PatternKind::schema));
            }
            return patterns;
        };
        auto any_matches = [](const std::vector<filter::Pattern>& patterns,
                              const std::string& schema) {
            for (const auto& p : patterns) {
                if (p.matchesSchema(schema)) {
                    return true;
                }
            }
            return false;
        };
        std::vector<filter::Pattern> include = parse(options.include_schemas);
        std::vector<filter::Pattern> exclude = parse(options.exclude_schemas);
        for (const auto& schema : catalog.schemas) {
            if ((!include.empty() && !any_matches(include, schema)) ||
                any_matches(exclude, schema)) {
                excluded.insert(schema);
            }
        }
    }

    return excluded;
}

// The selection said to pg_dump.
// pg_dump gets the user's patterns as they are (same semantics), plus exact names where
// pg_dump 15 lacks an option (the -and-children ones).
std::vector<std::string> patternArgs(const filter::SelectionOptions& options) {
    std::vector<std::string> args;
    for (const auto& p : options.include_tables) {
        args.push_back("--table=" + p);
    }
    for (const auto& p : options.exclude_tables) {
        args.push_back("--exclude-table=" + p);
    }
    for (const auto& p : options.include_schemas) {
        args.push_back("--schema=" + p);
    }
    for (const auto& p : options.exclude_schemas) {
        args.push_back("--exclude-schema=" + p);
    }
    return args;
}

std::vector<std::string> pgDumpArgs(const pg::Catalog& catalog,
                                    const filter::SelectionOptions& options,
                                    const Decisions& decisions) {
    std::vector<std::string> args = patternArgs(options);
    for (const auto& t : catalog.tables) {
        Decision d = decisions.at(t.oid);
        if (!options.include_table_and_children.empty() && d != Decision::skip) {
            args.push_back("--table=" + pg::qualifiedName(t.schema, t.name));
        }
        if (!options.exclude_table_and_children.empty() && d == Decision::skip) {
            args.push_back("--exclude-table=" + pg::qualifiedName(t.schema, t.name));
        }
    }

    return args;
}

// The foreign keys from rows that are copied to rows that are not.
std::vector<DanglingForeignKey> danglingKeys(const pg::Catalog& catalog, const Decisions& decisions,
                                             const TablesByOid& by_oid) {
    std::vector<DanglingForeignKey> dangling;
    // A kept row that points at a row left behind makes the constraint fail at the very end:
    // find those before anything moves.
    for (const auto& fk : catalog.foreign_keys) {
        auto from = decisions.find(fk.table);
        auto to = decisions.find(fk.referenced);
        if (from == decisions.end() || to == decisions.end() || from->second == Decision::skip) {
            continue;
        }
        std::string reason;
        if (to->second == Decision::skip) {
            reason = "it is left out";
        } else if (to->second == Decision::schema_only &&
                   from->second == Decision::schema_and_data) {
            reason = "its rows are left out";
        } else {
            continue;
        }
        const pg::Table* a = by_oid.at(fk.table);
        const pg::Table* b = by_oid.at(fk.referenced);
        dangling.push_back({&fk, a->schema + "." + a->name, b->schema + "." + b->name, reason});
    }
    return dangling;
}

}  // namespace

TableSelection selectTables(const pg::Catalog& catalog, const filter::SelectionOptions& options) {
    filter::Selection selection(options);
    selection.checkDatabase(catalog.database);
    for (const auto& schema : catalog.schemas) {
        selection.noteSchema(schema);
    }
    TableSelection result;
    result.include_everything = selection.includesEverything();

    TablesByOid by_oid;
    for (const auto& t : catalog.tables) {
        by_oid.emplace(t.oid, &t);
    }
    Decisions decisions;
    for (const auto& t : catalog.tables) {
        std::vector<filter::RelationName> ancestors;
        for (uint32_t a : t.ancestors) {
            if (auto it = by_oid.find(a); it != by_oid.end()) {
                ancestors.push_back({it->second->schema, it->second->name, it->second->visible});
            }
        }
        Decision d = selection.decide({t.schema, t.name, t.visible}, ancestors);
        decisions.emplace(t.oid, d);
        if (d == Decision::skip) {
            result.skip.insert(t.oid);
        } else if (d == Decision::schema_only) {
            result.schema_only.insert(t.oid);
        }
    }
    for (const auto& r : catalog.other_relations) {
        selection.decide({r.schema, r.name, r.visible});
    }
    result.warnings = selection.checkMatches();

    result.excluded_schemas = excludedSchemas(catalog, options);
    result.pg_dump_args = pgDumpArgs(catalog, options, decisions);
    result.dangling = danglingKeys(catalog, decisions, by_oid);
    return result;
}

std::string danglingMessage(const std::vector<DanglingForeignKey>& dangling) {
    std::string out = fmt::format(
        "{} foreign key{} would fail at the end of the copy, because the rows they point at are "
        "not copied:\n",
        dangling.size(), dangling.size() == 1 ? "" : "s");
    for (const auto& d : dangling) {
        out += fmt::format("  constraint {} on {} references {}: {}\n", d.key->name, d.table,
                           d.referenced, d.reason);
    }
    out +=
        "Keep the referenced tables' rows, leave out the referencing tables' rows too, or give "
        "--drop-dangling-foreign-keys to copy without these constraints.";
    return out;
}

std::optional<std::vector<std::string>> pgDumpArgsBeforeCatalog(
    const filter::SelectionOptions& options) {
    if (!options.include_table_and_children.empty() ||
        !options.exclude_table_and_children.empty()) {
        return std::nullopt;
    }
    return patternArgs(options);
}

}  // namespace pgsluice::engine
