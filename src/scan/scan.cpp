#include "pgsluice/scan/scan.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>

#include "pgsluice/pg/identifier.hpp"
#include "pgsluice/sanitize/types.hpp"

namespace pgsluice::scan {

namespace {

// A reader's transaction is renewed after this many tables, so that the locks it took on the
// tables it read are let go (see Snapshot::refresh).
constexpr int tables_per_transaction = 200;

Finding tableOf(const pg::Table& t) {
    Finding f;
    f.table = t.schema + "." + t.name;
    f.schema = t.schema;
    f.name = t.name;
    f.visible = t.visible;
    return f;
}

ColumnInfo infoOf(const pg::Column& c) {
    return {c.name, c.type_name, c.not_null, c.unique};
}

// Samples one table and appends its findings.
void scanTable(pg::Connection& reader, const pg::Table& table, int rows,
               std::vector<Finding>& out) {
    std::vector<const pg::Column*> sampled;
    for (const auto& c : table.columns) {
        if (sampledType(c.type_name)) {
            sampled.push_back(&c);
        }
    }
    std::vector<ColumnProfile> profiles(sampled.size());
    if (!sampled.empty() && rows > 0) {
        // Block sampling only pays on a table much larger than the sample; it can also come
        // back short (few, full pages), and then the plain bounded read is used.
        const bool large = table.estimated_rows > 4.0 * rows;
        pg::Result result = reader.exec(sampleQuery(table, sampled, rows, large));
        if (large && result.rows() < rows / 2) {
            result = reader.exec(sampleQuery(table, sampled, rows, false));
        }
        for (std::size_t c = 0; c < sampled.size(); ++c) {
            const bool json =
                sanitize::classifyType(sampled[c]->type_name).kind == sanitize::TypeKind::json ||
                sanitize::classifyType(sampled[c]->type_name).kind == sanitize::TypeKind::jsonb;
            for (int r = 0; r < result.rows(); ++r) {
                if (!result.isNull(r, static_cast<int>(c))) {
                    profiles[c].add(result.get(r, static_cast<int>(c)), json);
                }
            }
        }
    }
    const Finding where = tableOf(table);
    std::size_t next = 0;
    for (const auto& c : table.columns) {
        const ColumnProfile* profile = nullptr;
        if (next < sampled.size() && sampled[next] == &c) {
            profile = &profiles[next++];
        }
        for (Finding& f : columnFindings(where, infoOf(c), profile)) {
            out.push_back(std::move(f));
        }
    }
}

// A table name as a pg_dump pattern: plain when it is a lower-case identifier, else quoted.
std::string patternPart(const std::string& name) {
    bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
    for (char c : name) {
        plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    }
    if (plain) {
        return name;
    }
    std::string out = "\"";
    for (char c : name) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

std::string pathText(const Finding& f) {
    return f.path ? *f.path : "-";
}

}  // namespace

std::string sampleQuery(const pg::Table& table, const std::vector<const pg::Column*>& columns,
                        int rows, bool tablesample) {
    std::string list;
    for (const pg::Column* c : columns) {
        list += (list.empty() ? "" : ", ") + pg::quoteIdentifier(c->name) + "::text";
    }
    std::string sample;
    if (tablesample) {
        const double percent =
            std::clamp(100.0 * 2.0 * rows / std::max(table.estimated_rows, 1.0), 0.0001, 100.0);
        sample = fmt::format(" TABLESAMPLE SYSTEM ({:.4f})", percent);
    }
    return fmt::format("SELECT {} FROM {}{} LIMIT {}", list, table.qualified, sample, rows);
}

std::vector<Finding> scanTables(const pg::Snapshot& snapshot,
                                const std::vector<const pg::Table*>& tables,
                                const std::vector<const pg::Table*>& names_only, int rows,
                                const std::function<void(const std::string&)>& on_table) {
    std::vector<Finding> out;
    if (!tables.empty()) {
        pg::Connection reader = snapshot.openReader();
        int in_transaction = 0;
        for (const pg::Table* t : tables) {
            if (++in_transaction > tables_per_transaction) {
                snapshot.refresh(reader);
                in_transaction = 1;
            }
            if (on_table) {
                on_table(t->schema + "." + t->name);
            }
            try {
                scanTable(reader, *t, rows, out);
            } catch (Error& e) {
                e.addContext("sampling table " + t->schema + "." + t->name);
                throw;
            }
        }
    }
    for (Finding& f : scanNames(names_only)) {
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<Finding> scanNames(const std::vector<const pg::Table*>& tables) {
    std::vector<Finding> out;
    for (const pg::Table* t : tables) {
        const Finding where = tableOf(*t);
        for (const auto& c : t->columns) {
            for (Finding& f : columnFindings(where, infoOf(c), nullptr)) {
                out.push_back(std::move(f));
            }
        }
    }
    return out;
}

std::string findingsJson(const std::vector<Finding>& findings) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Finding& f : findings) {
        list.push_back({{"table", f.table},
                        {"column", f.column},
                        {"path", f.path ? nlohmann::ordered_json(*f.path) : nullptr},
                        {"reasons", f.reasons},
                        {"suggested", f.suggested},
                        {"covered", f.covered}});
    }
    return nlohmann::ordered_json{{"findings", list}}.dump(2) + "\n";
}

std::string findingsText(const std::vector<Finding>& findings, int sample_rows) {
    std::size_t width[4] = {5, 6, 4, 9};
    for (const Finding& f : findings) {
        width[0] = std::max(width[0], f.table.size());
        width[1] = std::max(width[1], f.column.size());
        width[2] = std::max(width[2], pathText(f).size());
        width[3] = std::max(width[3], f.suggested.size());
    }
    std::string out =
        fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<23}  {}\n", "table", width[0], "column",
                    width[1], "path", width[2], "suggested", width[3], "covered", "reasons");
    std::size_t uncovered = 0;
    for (const Finding& f : findings) {
        std::string reasons;
        for (const auto& r : f.reasons) {
            reasons += (reasons.empty() ? "" : "; ") + r;
        }
        uncovered += f.covered ? 0 : 1;
        out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<23}  {}\n", f.table, width[0],
                           f.column, width[1], pathText(f), width[2], f.suggested, width[3],
                           f.covered ? "yes (" + f.covered_by + ")" : "NO", reasons);
    }
    out += fmt::format(
        "\n{} findings, {} not covered (at most {} rows sampled per table; no value is shown)\n",
        findings.size(), uncovered, sample_rows);
    return out;
}

std::string draftRules(const std::vector<Finding>& findings) {
    // table -> column -> spec, in the order first found.
    std::vector<
        std::pair<const Finding*, std::vector<std::pair<std::string, sanitize::TransformSpec>>>>
        tables;
    for (const Finding& f : findings) {
        auto table = std::find_if(tables.begin(), tables.end(),
                                  [&](const auto& t) { return t.first->table == f.table; });
        if (table == tables.end()) {
            tables.push_back({&f, {}});
            table = tables.end() - 1;
        }
        auto& columns = table->second;
        auto column = std::find_if(columns.begin(), columns.end(),
                                   [&](const auto& c) { return c.first == f.column; });
        if (column == columns.end()) {
            columns.emplace_back(f.column, f.suggested_spec);
            continue;
        }
        sanitize::TransformSpec& spec = column->second;
        const bool json = f.suggested_spec.kind == sanitize::TransformKind::json;
        if (json && spec.kind == sanitize::TransformKind::json) {
            for (const auto& p : f.suggested_spec.json_paths) {
                spec.json_paths.push_back(p);
            }
        } else if (json) {
            spec = f.suggested_spec;  // the paths say more than a name does
        }
    }
    std::string out =
        "# Drafted by `pgsluice scan`: every column it flagged, with a suggested transform.\n"
        "# Read it before you use it; see docs/rules.md and docs/scan.md.\n"
        "version: 1\nsalt_env: PGSLUICE_SALT\n";
    out += tables.empty() ? "tables: {}\n" : "tables:\n";
    for (const auto& [table, columns] : tables) {
        const std::string pattern = patternPart(table->schema) + "." + patternPart(table->name);
        out += fmt::format("  {}:\n", nlohmann::json(pattern).dump());
        for (const auto& [column, spec] : columns) {
            out += fmt::format("    {}: {}\n", nlohmann::json(column).dump(), spec.canonical());
        }
    }
    return out;
}

std::string uncoveredMessage(const std::vector<Finding>& uncovered, const std::string& rules_file) {
    std::string out = fmt::format(
        "--strict: {} column{} likely holding personal data {} not covered by a rule, "
        "exclude_table_data or keep:",
        uncovered.size(), uncovered.size() == 1 ? "" : "s", uncovered.size() == 1 ? "is" : "are");
    for (const Finding& f : uncovered) {
        std::string reasons;
        for (const auto& r : f.reasons) {
            reasons += (reasons.empty() ? "" : "; ") + r;
        }
        out += fmt::format("\n  {}.{}{}: {} (suggested: {})", f.table, f.column,
                           f.path ? " at " + *f.path : "", reasons, f.suggested);
    }
    if (rules_file.empty()) {
        out +=
            "\nadd --rules FILE with a rule for each (`pgsluice scan --format yaml` drafts one), "
            "or list them under keep:";
    } else {
        out += fmt::format(
            "\nchange {}: add a rule for each (`pgsluice scan --rules {} --format yaml` drafts "
            "them), or list them under keep:",
            rules_file, rules_file);
    }
    return out;
}

}  // namespace pgsluice::scan
