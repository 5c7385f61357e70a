#include "pgsluice/engine/prepare.hpp"

#include <fmt/format.h>

#include <optional>

#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::engine {

sanitize::Rules loadRules(const std::string& path, filter::SelectionOptions& selection) {
    sanitize::Rules rules = sanitize::parseRulesFile(path);
    for (const auto& p : rules.exclude_table_data) {
        selection.exclude_table_data.push_back(p.pattern);
    }
    return rules;
}

namespace {

// The rules file's `subset` and `virtual_foreign_keys`, with the file and line for messages.
SubsetSpec subsetOf(const sanitize::Rules& rules) {
    SubsetSpec spec;
    for (const auto& s : rules.subset) {
        spec.conditions.push_back({s.pattern, s.condition, rules.where(s.line)});
    }
    for (const auto& v : rules.virtual_foreign_keys) {
        spec.virtual_keys.push_back(
            {v.from.table, v.from.columns, v.to.table, v.to.columns, rules.where(v.line)});
    }
    return spec;
}

}  // namespace

std::unique_ptr<Sanitizing> checkRules(sanitize::Rules rules, const pg::Catalog& catalog,
                                       const TableSelection& selection) {
    auto out = std::make_unique<Sanitizing>();
    out->key = sanitize::loadSaltKey(rules);
    std::vector<sanitize::CatalogTable> tables;
    for (const auto& t : catalog.tables) {
        if (!t.holdsData()) {
            continue;
        }
        // A table whose rows do not move may be named (one rules file serves every selection),
        // but nothing about it is checked or rewritten.
        bool moves = !selection.skip.count(t.oid) && !selection.schema_only.count(t.oid);
        sanitize::CatalogTable ct{t.schema, t.name, t.visible, t.binary_safe, {}, moves};
        for (const auto& c : t.columns) {
            ct.columns.push_back({c.name, c.type_name, c.not_null, c.unique, c.nulls_not_distinct});
        }
        tables.push_back(std::move(ct));
    }
    out->plan = sanitize::validateRules(rules, tables, out->key);
    out->rules_hash = sanitize::rulesHash(rules);
    out->rules = std::move(rules);
    return out;
}

Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling,
                    const std::vector<std::string>& subset) {
    Prepared p;
    p.options = options;
    std::optional<sanitize::Rules> rules;
    if (!rules_file.empty()) {
        rules = loadRules(rules_file, p.options);
        p.subset = subsetOf(*rules);
    }
    for (const auto& s : subset) {
        p.subset.conditions.push_back(parseSubsetOption(s));
    }
    p.selection = selectTables(catalog, p.options);
    p.warnings = p.selection.warnings;
    if (drop_dangling) {
        for (const auto& d : p.selection.dangling) {
            p.warnings.push_back(fmt::format("leaving out foreign key {} on {}: {} ({})",
                                             d.key->name, d.table, d.referenced, d.reason));
            p.dropped_foreign_keys.insert(d.key->oid);
        }
    }
    if (rules) {
        // Every rule is checked before anything is written: a typo must not let personal data
        // through.
        p.sanitizing = checkRules(std::move(*rules), catalog, p.selection);
        p.warnings.insert(p.warnings.end(), p.sanitizing->plan.warnings.begin(),
                          p.sanitizing->plan.warnings.end());
        p.notes.push_back(fmt::format("--rules: rewriting columns of {} tables (rules hash {})",
                                      p.sanitizing->plan.tables.size(), p.sanitizing->rules_hash));
        p.details = p.sanitizing->plan.outside;
    }
    return p;
}

Prepared prepareRun(const pg::Catalog& catalog, const filter::SelectionOptions& options,
                    const std::string& rules_file, bool drop_dangling,
                    const std::vector<std::string>& subset, Progress& progress) {
    Prepared p = prepareRun(catalog, options, rules_file, drop_dangling, subset);
    for (const auto& w : p.warnings) {
        progress.warn(w);
    }
    for (const auto& n : p.notes) {
        progress.info(n);
    }
    for (const auto& d : p.details) {
        progress.info(d, true);
    }
    requireNoDangling(p);
    return p;
}

void requireNoDangling(const Prepared& prepared) {
    if (!prepared.selection.dangling.empty() && prepared.dropped_foreign_keys.empty()) {
        throw UsageError(danglingMessage(prepared.selection.dangling));
    }
}

pg::ClientTools clientToolsFor(const std::string& pg_bin, int server_version,
                               const std::string& what_needs, Progress& progress) {
    pg::ClientTools tools = pg::findClientTools(pg_bin, server_version, what_needs);
    progress.info("using " + tools.describe(), true);
    return tools;
}

void reportClientTools(nlohmann::ordered_json& report, const pg::ClientTools& tools) {
    std::string version = formatServerVersion(tools.version);
    report["pg_dump"] = {{"path", tools.pg_dump}, {"version", version}};
    report["pg_restore"] = {{"path", tools.pg_restore}, {"version", version}};
}

}  // namespace pgsluice::engine
