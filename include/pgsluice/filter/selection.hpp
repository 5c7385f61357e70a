#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/filter/pattern.hpp"

namespace pgsluice::filter {

// The pg_dump-style selection options, as given on the command line and by --filter files.
// Each list holds pattern texts in the order given; filter-file lines append to the same lists.
struct SelectionOptions {
    std::vector<std::string> include_tables;                   // -t, --table
    std::vector<std::string> include_table_and_children;       // --table-and-children
    std::vector<std::string> exclude_tables;                   // -T, --exclude-table
    std::vector<std::string> exclude_table_and_children;       // --exclude-table-and-children
    std::vector<std::string> include_schemas;                  // -n, --schema
    std::vector<std::string> exclude_schemas;                  // -N, --exclude-schema
    std::vector<std::string> exclude_table_data;               // --exclude-table-data
    std::vector<std::string> exclude_table_data_and_children;  // --exclude-table-data-and-children
    bool strict_names = false;                                 // --strict-names
};

// A pattern that selected nothing, with the option it was given to.
struct UnmatchedPattern {
    std::string option;  // e.g. "--exclude-table-data"
    std::string pattern;
};

// pg_dump's rules for which tables are dumped and which keep their rows, applied one relation
// at a time by a caller that knows the catalogue. Not thread-safe: decide() records matches.
//
// The rules (pg_dump.c selectDumpableNamespace / selectDumpableTable / makeTableDataInfo):
//  - with any -t or --table-and-children, exactly the matching relations are kept (plus the
//    inheritance descendants of --table-and-children matches); -n and -N then have no effect;
//  - else with any -n, relations in matching schemas are kept, minus those in -N schemas;
//  - else every relation outside pg_* and information_schema is kept, minus -N schemas;
//  - then -T and --exclude-table-and-children remove relations, whatever kept them;
//  - --exclude-table-data(-and-children) keeps a kept relation's definition but not its rows.
class Selection {
  public:
    enum class Decision { skip, schema_only, schema_and_data };

    // Parses every pattern in OPTIONS; throws UsageError naming the option and the pattern that
    // cannot be parsed.
    explicit Selection(const SelectionOptions& options);

    // Throws UsageError if a `db.schema.table` pattern names a database other than
    // CURRENT_DATABASE; decide() refuses to run until this was called when such patterns exist.
    void checkDatabase(std::string_view current_database);

    // What to copy of TABLE. ANCESTORS are all of its inheritance/partition ancestors at any
    // depth (parents, grandparents, every parent under multiple inheritance), in any order.
    // Records which patterns matched; call it for every relation pg_dump's -t can match
    // (tables, partitioned tables, foreign tables, views, materialized views, sequences) so
    // that --strict-names judges patterns as pg_dump does, and ignore the answer where unneeded.
    Decision decide(const RelationName& table, std::span<const RelationName> ancestors = {});

    // Records that schema NAME exists, so a -n pattern matching an empty schema counts as
    // matched (pg_dump matches -n against pg_namespace, not against tables).
    void noteSchema(std::string_view name);

    // True when no -t, --table-and-children or -n was given: pg_dump's "include everything",
    // under which objects outside schemas (extensions, casts, ...) are dumped too.
    bool includesEverything() const noexcept;

    // Texts of the -t, --table-and-children and -n patterns that have matched nothing so far.
    std::vector<std::string> unmatchedIncludePatterns() const;

    // Every pattern, include or exclude, that has matched nothing so far, in option order.
    std::vector<UnmatchedPattern> unmatchedPatterns() const;

    // Applies pg_dump's checks once every relation was decided: throws UsageError for an
    // unmatched include pattern under --strict-names, or when -n (or -t) patterns were given
    // and none matched at all; otherwise returns one warning per pattern that matched nothing.
    std::vector<std::string> checkMatches() const;

  private:
    // The patterns of one option, each with a flag saying whether it has matched yet.
    struct PatternList {
        std::string option;
        std::vector<Pattern> patterns;
        std::vector<bool> matched;
    };

    static PatternList parseList(std::string option, const std::vector<std::string>& texts,
                                 PatternKind kind);
    // Marks the patterns of LIST that match RELATION; true when any does.
    static bool record(PatternList& list, const RelationName& relation);
    // True when a pattern of LIST matches RELATION or one of ANCESTORS.
    static bool matchesFamily(const PatternList& list, const RelationName& relation,
                              std::span<const RelationName> ancestors);
    std::vector<const PatternList*> lists() const;

    PatternList include_tables_;
    PatternList include_table_and_children_;
    PatternList exclude_tables_;
    PatternList exclude_table_and_children_;
    PatternList include_schemas_;
    PatternList exclude_schemas_;
    PatternList exclude_table_data_;
    PatternList exclude_table_data_and_children_;
    bool strict_names_ = false;
    bool database_unchecked_ = false;
};

}  // namespace pgsluice::filter
