#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgsluice::filter {

// What a pattern names: pg_dump's -t/-T family names relations, -n/-N names schemas.
enum class PatternKind { relation, schema };

// A relation as the catalogue reports it: just enough to apply pg_dump's matching rules.
struct RelationName {
    std::string_view schema;
    std::string_view name;
    // pg_catalog.pg_table_is_visible(oid) evaluated under the source's *default* search_path
    // (after RESET search_path), which is what pg_dump does. Only patterns without a schema
    // part look at it: pg_dump's `-t users` matches public.users but not app.users unless app
    // is on the default search_path.
    bool visible = false;
};

// One psql/pg_dump name pattern (see "Patterns" in the psql documentation), parsed once and
// matched directly, without building a regular expression.
class Pattern {
  public:
    // Parses TEXT with pg_dump's rules; throws UsageError naming the pattern when pg_dump would
    // reject it or when it needs regular-expression syntax, which pgsluice does not implement.
    static Pattern parse(std::string_view text, PatternKind kind);

    // True when this pattern selects RELATION (a schema pattern selects every relation in a
    // matching schema); names are compared as stored in the catalogue, case-sensitively.
    bool matches(const RelationName& relation) const;

    // True when this schema pattern matches the schema called NAME; a relation pattern never does.
    bool matchesSchema(std::string_view name) const;

    // The text the user gave, unchanged, for messages.
    const std::string& text() const noexcept { return text_; }

    // Whether this pattern names relations or schemas.
    PatternKind kind() const noexcept { return kind_; }

    // True when a relation pattern has a schema part (`schema.name` or `db.schema.name`).
    bool qualified() const noexcept { return schema_.has_value(); }

    // The database part of `db.schema.name`, quotes removed and unquoted letters folded.
    const std::optional<std::string>& database() const noexcept { return database_; }

    // Throws UsageError when the pattern names a database other than CURRENT_DATABASE, which
    // pg_dump refuses as a cross-database reference; does nothing for other patterns.
    void checkDatabase(std::string_view current_database) const;

  private:
    // One step of a glob: a literal byte, `?` (one character) or `*` (any run of characters).
    struct Token {
        enum class Type : std::uint8_t { byte, any_char, any_run };
        Type type;
        char byte;
    };
    using Glob = std::vector<Token>;

    static bool globMatches(const Glob& glob, std::string_view subject);

    std::string text_;
    PatternKind kind_ = PatternKind::relation;
    std::optional<std::string> database_;
    std::optional<Glob> schema_;
    Glob name_;  // the relation name, or the schema name for a schema pattern
};

}  // namespace pgsluice::filter
