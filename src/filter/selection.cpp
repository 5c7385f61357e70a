#include "pgsluice/filter/selection.hpp"

#include <stdexcept>
#include <utility>

#include "pgsluice/error.hpp"

namespace pgsluice::filter {

namespace {

// pg_dump never dumps its own catalogues unless asked for by name (selectDumpableNamespace).
bool isSystemSchema(std::string_view schema) {
    return schema.starts_with("pg_") || schema == "information_schema";
}

const char* const unmatched_hint =
    "; check the spelling, write schema.table (an unqualified name only matches tables visible "
    "in the source's default search_path), and quote mixed-case names as '\"Name\"'";

const char* const unmatched_schema_hint =
    "; check the spelling and quote mixed-case names as '\"Name\"'";

}  // namespace

Selection::Selection(const SelectionOptions& options)
    : include_tables_(parseList("--table", options.include_tables, PatternKind::relation)),
      include_table_and_children_(parseList(
          "--table-and-children", options.include_table_and_children, PatternKind::relation)),
      exclude_tables_(parseList("--exclude-table", options.exclude_tables, PatternKind::relation)),
      exclude_table_and_children_(parseList("--exclude-table-and-children",
                                            options.exclude_table_and_children,
                                            PatternKind::relation)),
      include_schemas_(parseList("--schema", options.include_schemas, PatternKind::schema)),
      exclude_schemas_(parseList("--exclude-schema", options.exclude_schemas, PatternKind::schema)),
      exclude_table_data_(
          parseList("--exclude-table-data", options.exclude_table_data, PatternKind::relation)),
      exclude_table_data_and_children_(parseList("--exclude-table-data-and-children",
                                                 options.exclude_table_data_and_children,
                                                 PatternKind::relation)),
      strict_names_(options.strict_names) {
    for (const PatternList* list : lists()) {
        for (const Pattern& pattern : list->patterns) {
            if (pattern.database()) {
                database_unchecked_ = true;
            }
        }
    }
}

Selection::PatternList Selection::parseList(std::string option,
                                            const std::vector<std::string>& texts,
                                            PatternKind kind) {
    PatternList list;
    list.option = std::move(option);
    list.patterns.reserve(texts.size());
    for (const std::string& text : texts) {
        try {
            list.patterns.push_back(Pattern::parse(text, kind));
        } catch (const UsageError& error) {
            throw UsageError(list.option + ": " + error.what());
        }
    }
    list.matched.assign(list.patterns.size(), false);
    return list;
}

void Selection::checkDatabase(std::string_view current_database) {
    for (const PatternList* list : lists()) {
        for (const Pattern& pattern : list->patterns) {
            try {
                pattern.checkDatabase(current_database);
            } catch (const UsageError& error) {
                throw UsageError(list->option + ": " + error.what());
            }
        }
    }
    database_unchecked_ = false;
}

bool Selection::record(PatternList& list, const RelationName& relation) {
    bool any = false;
    for (std::size_t i = 0; i < list.patterns.size(); ++i) {
        // No short cut: every pattern must learn whether it matched, for --strict-names.
        if (list.patterns[i].matches(relation)) {
            list.matched[i] = true;
            any = true;
        }
    }
    return any;
}

bool Selection::matchesFamily(const PatternList& list, const RelationName& relation,
                              std::span<const RelationName> ancestors) {
    for (const Pattern& pattern : list.patterns) {
        if (pattern.matches(relation)) {
            return true;
        }
        for (const RelationName& ancestor : ancestors) {
            if (pattern.matches(ancestor)) {
                return true;
            }
        }
    }
    return false;
}

Selection::Decision Selection::decide(const RelationName& table,
                                      std::span<const RelationName> ancestors) {
    if (database_unchecked_) {
        throw std::logic_error(
            "filter::Selection::decide called before checkDatabase with db-qualified patterns");
    }

    // Record every list first: pg_dump expands each pattern against the whole catalogue
    // before deciding anything, so a pattern counts as matched even where another rule wins.
    // The -and-children lists count only direct matches, as pg_dump's recursive query starts
    // from them; descendants are reached through decide() on the descendants themselves.
    const bool in_table_list = record(include_tables_, table);
    record(include_table_and_children_, table);
    const bool in_excluded_tables = record(exclude_tables_, table);
    record(exclude_table_and_children_, table);
    const bool in_included_schema = record(include_schemas_, table);
    const bool in_excluded_schema = record(exclude_schemas_, table);
    const bool data_excluded = record(exclude_table_data_, table);
    record(exclude_table_data_and_children_, table);
    for (const RelationName& ancestor : ancestors) {
        noteSchema(ancestor.schema);
    }

    bool keep = false;
    if (!include_tables_.patterns.empty() || !include_table_and_children_.patterns.empty()) {
        keep = in_table_list || matchesFamily(include_table_and_children_, table, ancestors);
    } else if (!include_schemas_.patterns.empty()) {
        keep = in_included_schema && !in_excluded_schema;
    } else {
        keep = !isSystemSchema(table.schema) && !in_excluded_schema;
    }
    if (keep &&
        (in_excluded_tables || matchesFamily(exclude_table_and_children_, table, ancestors))) {
        keep = false;
    }
    if (!keep) {
        return Decision::skip;
    }
    if (data_excluded || matchesFamily(exclude_table_data_and_children_, table, ancestors)) {
        return Decision::schema_only;
    }
    return Decision::schema_and_data;
}

void Selection::noteSchema(std::string_view name) {
    for (PatternList* list : {&include_schemas_, &exclude_schemas_}) {
        for (std::size_t i = 0; i < list->patterns.size(); ++i) {
            if (list->patterns[i].matchesSchema(name)) {
                list->matched[i] = true;
            }
        }
    }
}

bool Selection::includesEverything() const noexcept {
    return include_tables_.patterns.empty() && include_table_and_children_.patterns.empty() &&
           include_schemas_.patterns.empty();
}

std::vector<const Selection::PatternList*> Selection::lists() const {
    return {&include_tables_,     &include_table_and_children_,
            &exclude_tables_,     &exclude_table_and_children_,
            &include_schemas_,    &exclude_schemas_,
            &exclude_table_data_, &exclude_table_data_and_children_};
}

std::vector<std::string> Selection::unmatchedIncludePatterns() const {
    std::vector<std::string> result;
    for (const PatternList* list :
         {&include_tables_, &include_table_and_children_, &include_schemas_}) {
        for (std::size_t i = 0; i < list->patterns.size(); ++i) {
            if (!list->matched[i]) {
                result.push_back(list->patterns[i].text());
            }
        }
    }
    return result;
}

std::vector<UnmatchedPattern> Selection::unmatchedPatterns() const {
    std::vector<UnmatchedPattern> result;
    for (const PatternList* list : lists()) {
        for (std::size_t i = 0; i < list->patterns.size(); ++i) {
            if (!list->matched[i]) {
                result.push_back({list->option, list->patterns[i].text()});
            }
        }
    }
    return result;
}

std::vector<std::string> Selection::checkMatches() const {
    auto none_matched = [](const PatternList& list) {
        for (bool matched : list.matched) {
            if (matched) {
                return false;
            }
        }
        return true;
    };
    auto first_unmatched = [](const PatternList& list) -> const Pattern* {
        for (std::size_t i = 0; i < list.patterns.size(); ++i) {
            if (!list.matched[i]) {
                return &list.patterns[i];
            }
        }
        return nullptr;
    };

    // Same order and wording as pg_dump's main(): schemas first, then tables.
    if (strict_names_) {
        if (const Pattern* pattern = first_unmatched(include_schemas_)) {
            throw UsageError("no matching schemas were found for pattern \"" + pattern->text() +
                             "\" (--schema with --strict-names)" + unmatched_schema_hint +
                             ", or drop --strict-names");
        }
    }
    if (!include_schemas_.patterns.empty() && none_matched(include_schemas_)) {
        throw UsageError(std::string("no matching schemas were found for any --schema pattern") +
                         unmatched_schema_hint);
    }
    if (strict_names_) {
        for (const PatternList* list : {&include_tables_, &include_table_and_children_}) {
            if (const Pattern* pattern = first_unmatched(*list)) {
                throw UsageError("no matching tables were found for pattern \"" + pattern->text() +
                                 "\" (" + list->option + " with --strict-names)" + unmatched_hint +
                                 ", or drop --strict-names");
            }
        }
    }
    const bool tables_given =
        !include_tables_.patterns.empty() || !include_table_and_children_.patterns.empty();
    if (tables_given && none_matched(include_tables_) &&
        none_matched(include_table_and_children_)) {
        throw UsageError(std::string("no matching tables were found for any --table pattern") +
                         unmatched_hint);
    }

    std::vector<std::string> warnings;
    for (const PatternList* list : lists()) {
        const bool schemas = list == &include_schemas_ || list == &exclude_schemas_;
        for (std::size_t i = 0; i < list->patterns.size(); ++i) {
            if (!list->matched[i]) {
                warnings.push_back("pattern \"" + list->patterns[i].text() + "\" given to " +
                                   list->option + " (or the matching --filter line) matched no " +
                                   (schemas ? "schema" : "table") +
                                   (schemas ? unmatched_schema_hint : unmatched_hint));
            }
        }
    }
    return warnings;
}

}  // namespace pgsluice::filter
