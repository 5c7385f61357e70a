#include "pgsluice/sanitize/validate.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/pattern.hpp"

namespace pgsluice::sanitize {

namespace {

// A rule that applies to one column of one table.
struct Candidate {
    const TableRule* table = nullptr;
    const ColumnRule* column = nullptr;
};

std::string columnList(const CatalogTable& table) {
    constexpr std::size_t shown = 12;
    std::string out;
    for (std::size_t i = 0; i < table.columns.size() && i < shown; ++i) {
        out += i == 0 ? "" : ", ";
        out += table.columns[i].name;
    }
    if (table.columns.size() > shown) {
        out += ", ...";
    }
    return out.empty() ? "none" : out;
}

class Checker {
  public:
    Checker(const Rules& rules, const SaltKey& key) : rules_(rules), key_(key) {}

    SanitizePlan run(std::span<const CatalogTable> catalog) {
        std::vector<std::optional<filter::Pattern>> patterns;
        for (const TableRule& table : rules_.tables) {
            try {
                patterns.emplace_back(
                    filter::Pattern::parse(table.pattern, filter::PatternKind::relation));
            } catch (const UsageError& error) {
                problem(table.line, error.what());
                patterns.emplace_back();
            }
        }
        std::vector<std::size_t> matches(rules_.tables.size(), 0);
        std::vector<std::size_t> matches_outside(rules_.tables.size(), 0);
        SanitizePlan plan;
        for (std::size_t t = 0; t < catalog.size(); ++t) {
            const CatalogTable& table = catalog[t];
            const filter::RelationName relation{table.schema, table.name, table.visible};
            std::map<int, std::vector<Candidate>> candidates;
            for (std::size_t r = 0; r < rules_.tables.size(); ++r) {
                if (!patterns[r] || !patterns[r]->matches(relation)) {
                    continue;
                }
                if (!table.moves) {
                    ++matches_outside[r];
                    continue;
                }
                ++matches[r];
                collect(table, rules_.tables[r], candidates);
            }
            if (candidates.empty()) {
                continue;
            }
            TableSanitizer sanitizer{
                t, table.schema, table.name, static_cast<int>(table.columns.size()), {}};
            for (const auto& [index, found] : candidates) {
                if (std::optional<RuledColumn> ruled = choose(table, index, found)) {
                    sanitizer.columns.push_back(std::move(*ruled));
                }
            }
            if (!table.binary_copy && !sanitizer.columns.empty()) {
                problem(sanitizer.columns.front().line,
                        qualified(table) +
                            " has a column of a composite or user-defined array type, so its "
                            "rows move as COPY text, which the sanitiser cannot rewrite; move "
                            "it with exclude_table_data or drop its rules");
            }
            if (!sanitizer.columns.empty()) {
                plan.tables.push_back(std::move(sanitizer));
            }
        }
        for (std::size_t r = 0; r < rules_.tables.size(); ++r) {
            const TableRule& rule = rules_.tables[r];
            if (matches[r] > 0 || !patterns[r]) {
                continue;
            }
            if (matches_outside[r] > 0) {
                plan.outside.push_back(rules_.where(rule.line) + ": table pattern \"" +
                                       rule.pattern + "\" matches only tables whose rows this " +
                                       "run does not move: its rules are not applied");
                continue;
            }
            const std::string message =
                "table pattern \"" + rule.pattern + "\" matches no table in the source";
            if (rule.wildcard) {
                plan.warnings.push_back(rules_.where(rule.line) + ": " + message);
            } else {
                problem(rule.line, message +
                                       "; check the spelling (names match as in pg_dump -t: "
                                       "unquoted letters fold to lower case, and a name without "
                                       "a schema finds only tables on the search path)");
            }
        }
        if (!problems_.empty()) {
            std::stable_sort(problems_.begin(), problems_.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            problems_.erase(std::unique(problems_.begin(), problems_.end()), problems_.end());
            std::string message;
            for (const auto& [line, text] : problems_) {
                message += message.empty() ? "" : "\n";
                message += rules_.where(line) + ": " + text;
            }
            throw UsageError(message);
        }
        return plan;
    }

  private:
    void problem(int line, std::string message) {
        problems_.emplace_back(line, std::move(message));
    }

    static std::string qualified(const CatalogTable& table) {
        return table.schema + "." + table.name;
    }

    // Adds the column rules of RULE that apply to TABLE to CANDIDATES, by column index.
    void collect(const CatalogTable& table, const TableRule& rule,
                 std::map<int, std::vector<Candidate>>& candidates) {
        for (const ColumnRule& column : rule.columns) {
            const auto it =
                std::find_if(table.columns.begin(), table.columns.end(),
                             [&](const CatalogColumn& c) { return c.name == column.column; });
            if (it == table.columns.end()) {
                if (!rule.wildcard) {
                    problem(column.line, "table " + qualified(table) + " has no column \"" +
                                             column.column +
                                             "\" (its columns: " + columnList(table) +
                                             "); fix the name, which must match exactly, case "
                                             "included");
                }
                continue;
            }
            candidates[static_cast<int>(it - table.columns.begin())].push_back({&rule, &column});
        }
    }

    // Picks the rule for column INDEX of TABLE among FOUND and checks it; nothing on a problem.
    std::optional<RuledColumn> choose(const CatalogTable& table, int index,
                                      const std::vector<Candidate>& found) {
        std::vector<Candidate> pool;
        for (const Candidate& candidate : found) {
            if (!candidate.table->wildcard) {
                pool.push_back(candidate);
            }
        }
        if (pool.empty()) {
            pool = found;
        }
        const CatalogColumn& column = table.columns[static_cast<std::size_t>(index)];
        const std::string where = qualified(table) + "." + column.name;
        for (const Candidate& other : pool) {
            if (other.column->transform != pool.front().column->transform) {
                problem(other.column->line,
                        where + " is ruled twice: " + other.column->transform.canonical() +
                            " here (pattern \"" + other.table->pattern + "\") and " +
                            pool.front().column->transform.canonical() + " at line " +
                            std::to_string(pool.front().column->line) + " (pattern \"" +
                            pool.front().table->pattern +
                            "\"); keep one, or rule the table by its exact name, which "
                            "overrides wildcard patterns");
                return std::nullopt;
            }
        }
        const ColumnRule& rule = *pool.front().column;
        const TransformSpec& spec = rule.transform;
        const ColumnType type = classifyType(column.type_name);
        const TransformTraits traits = traitsOf(spec, type);
        if (!traits.accepted.contains(type.kind)) {
            problem(rule.line, spec.name() + " cannot rewrite " + where + " of type " +
                                   column.type_name + "; it accepts " + traits.accepted.describe() +
                                   " (null accepts every type)");
            return std::nullopt;
        }
        if (spec.kind == TransformKind::null_value && column.not_null) {
            problem(rule.line, "null on " + where +
                                   ", which is NOT NULL; use set or a transform that keeps a "
                                   "value");
            return std::nullopt;
        }
        if (spec.kind == TransformKind::null_value && column.unique && column.nulls_not_distinct) {
            problem(rule.line, "null on " + where +
                                   ", which a NULLS NOT DISTINCT unique index covers: two NULLs "
                                   "would collide; use email, digits or hash");
            return std::nullopt;
        }
        if (column.unique && !traits.keeps_uniqueness) {
            problem(
                rule.line,
                spec.canonical() + " on " + where +
                    ", which a primary key or unique index covers: it can map "
                    "distinct values to one; use a transform that keeps "
                    "uniqueness (email, digits, phone, uuid, ip, hash at its full length, null)");
            return std::nullopt;
        }
        try {
            return RuledColumn{index, column.name, rule.line, makeTransform(spec, type, key_)};
        } catch (const UsageError& error) {
            problem(rule.line, where + ": " + error.what());
            return std::nullopt;
        }
    }

    const Rules& rules_;
    const SaltKey& key_;
    std::vector<std::pair<int, std::string>> problems_;
};

}  // namespace

const TableSanitizer* SanitizePlan::find(std::string_view schema, std::string_view name) const {
    for (const TableSanitizer& table : tables) {
        if (table.schema == schema && table.name == name) {
            return &table;
        }
    }
    return nullptr;
}

SanitizePlan validateRules(const Rules& rules, std::span<const CatalogTable> catalog,
                           const SaltKey& key) {
    return Checker(rules, key).run(catalog);
}

}  // namespace pgsluice::sanitize
