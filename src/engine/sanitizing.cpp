#include "pgsluice/engine/sanitizing.hpp"

#include <fmt/format.h>

#include "pgsluice/copy/binary_writer.hpp"

namespace pgsluice::engine {

sanitize::Rules loadRules(const std::string& path, filter::SelectionOptions& selection) {
    sanitize::Rules rules = sanitize::parseRulesFile(path);
    for (const auto& p : rules.exclude_table_data) {
        selection.exclude_table_data.push_back(p.pattern);
    }
    return rules;
}

std::unique_ptr<Sanitizing> checkRules(sanitize::Rules rules, const pg::Catalog& catalog,
                                       const SelectionResult& selection) {
    auto out = std::make_unique<Sanitizing>();
    out->key = sanitize::loadSaltKey(rules);
    std::vector<sanitize::CatalogTable> tables;
    for (const auto& t : catalog.tables) {
        if (!t.holdsData() || selection.skip.count(t.oid) || selection.schema_only.count(t.oid)) {
            continue;  // no row of it moves, so no rule applies to it
        }
        sanitize::CatalogTable ct{t.schema, t.name, t.visible, t.binary_safe, {}};
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

StreamRewriter::StreamRewriter(const sanitize::TableSanitizer& table)
    : splitter_(copy::SplitterOptions{table.column_count}), rewriter_(table) {}

void StreamRewriter::feed(std::string_view chunk, std::string& out) {
    splitter_.feed(copy::asBytes(chunk));
    while (const std::optional<copy::Row> row = splitter_.next()) {
        if (!header_written_) {
            copy::BinaryWriter writer(out);
            writer.writeHeader();
            header_written_ = true;
        }
        rewriter_.rewrite(row->bytes, out, row->number);
    }
}

void StreamRewriter::finish(std::string& out) {
    splitter_.finish();
    copy::BinaryWriter writer(out);
    if (!header_written_) {
        writer.writeHeader();
    }
    writer.writeTrailer();
}

}  // namespace pgsluice::engine
