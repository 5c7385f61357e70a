#include "pgsluice/scan/findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "pgsluice/filter/pattern.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/types.hpp"

namespace pgsluice::scan {

namespace {

using sanitize::TransformKind;
using sanitize::TransformSpec;
using sanitize::TypeKind;

void count(ColumnProfile::PathCounts& counts, ValueKinds kinds, bool prose, bool number) {
    bool any = false;
    for (int k = 0; k < value_kind_count; ++k) {
        if (kinds.contains(static_cast<ValueKind>(k))) {
            ++counts.kinds[k];
            any = true;
        }
    }
    if (any) {
        counts.free_text_rows += prose ? 1 : 0;
        counts.numbers = counts.numbers || number;
    }
}

TransformSpec spec(TransformKind kind) {
    TransformSpec s;
    s.kind = kind;
    return s;
}

// What a name or value kind asks for, most fitting first (each checked against the type).
std::vector<TransformSpec> candidatesFor(std::optional<NameKind> name, ValueKind value) {
    TransformKind first = TransformKind::hash;
    if (name) {
        switch (*name) {
            case NameKind::email:
                first = TransformKind::email;
                break;
            case NameKind::phone:
                first = TransformKind::phone;
                break;
            case NameKind::first_name:
                first = TransformKind::first_name;
                break;
            case NameKind::last_name:
                first = TransformKind::last_name;
                break;
            case NameKind::full_name:
                first = TransformKind::full_name;
                break;
            case NameKind::ip_address:
                first = TransformKind::ip;
                break;
            case NameKind::birth_date: {
                TransformSpec shift = spec(TransformKind::shift_date);
                shift.days = 365;
                return {shift, spec(TransformKind::hash), spec(TransformKind::null_value)};
            }
            case NameKind::geo_location: {
                TransformSpec noise = spec(TransformKind::noise);
                noise.percent = 10;
                return {noise, spec(TransformKind::null_value)};
            }
            case NameKind::user_agent:
                return {spec(TransformKind::null_value), spec(TransformKind::hash)};
            default:
                first = TransformKind::hash;
                break;
        }
    } else {
        switch (value) {
            case ValueKind::email:
                first = TransformKind::email;
                break;
            case ValueKind::phone:
                first = TransformKind::phone;
                break;
            case ValueKind::ipv4:
            case ValueKind::ipv6:
                first = TransformKind::ip;
                break;
            default:
                first = TransformKind::hash;
                break;
        }
    }
    return {spec(first), spec(TransformKind::hash), spec(TransformKind::null_value)};
}

// The first candidate the column's type, NOT NULL and unique indexes allow.
TransformSpec suggestFor(const ColumnInfo& column, std::vector<TransformSpec> candidates,
                         bool prose) {
    const sanitize::ColumnType type = sanitize::classifyType(column.type_name);
    if (prose) {
        // A value found inside prose: a fake e-mail in place of a whole note reads oddly and
        // hides nothing more than removing the note does.
        candidates = {spec(TransformKind::null_value)};
        TransformSpec set = spec(TransformKind::set);
        set.constant = "redacted";
        candidates.push_back(set);
    }
    for (TransformSpec& s : candidates) {
        if (!sanitize::acceptedTypes(s.kind).contains(type.kind)) {
            continue;
        }
        if (s.kind == TransformKind::null_value && column.not_null) {
            continue;
        }
        if (s.kind == TransformKind::hash && type.max_chars > 0 &&
            type.max_chars < sanitize::hash_full_length && type.kind != TypeKind::bpchar) {
            s.length = type.max_chars;
            s.length_given = true;
        }
        if (column.unique && !sanitize::traitsOf(s, type).keeps_uniqueness) {
            continue;
        }
        return s;
    }
    return column.not_null ? spec(TransformKind::hash) : spec(TransformKind::null_value);
}

// The transform for the values at one JSON path (strings, or numbers when `numbers`).
TransformSpec suggestForJsonPath(std::string_view path, std::optional<NameKind> name,
                                 ValueKind value, bool numbers, bool prose) {
    TransformSpec leaf = candidatesFor(name, value).front();
    const bool text_only = leaf.kind != TransformKind::phone && leaf.kind != TransformKind::noise &&
                           leaf.kind != TransformKind::null_value;
    if (prose || leaf.kind == TransformKind::shift_date || (numbers && text_only)) {
        leaf = spec(TransformKind::null_value);  // values that stay otherwise are removed
    }
    TransformSpec json = spec(TransformKind::json);
    json.json_paths.push_back(
        {rulesPath(path), std::make_shared<const TransformSpec>(std::move(leaf))});
    return json;
}

std::string share(long long matched, long long rows) {
    const double percent = rows > 0 ? 100.0 * double(matched) / double(rows) : 0.0;
    return fmt::format("in {:.3g}% of {} sampled rows", percent, rows);
}

// One finding per JSON path of `profile` where a key name or a value kind matched; `column`
// gives the fields they share.
void jsonPathFindings(const Finding& column, const ColumnProfile& profile,
                      std::vector<Finding>& out) {
    for (const auto& [path, counts] : profile.paths()) {
        if (path.empty()) {
            continue;
        }
        Finding f = column;
        f.path = path;
        std::optional<ValueKind> value;
        if (counts.key_match && counts.key_rows > 0) {
            f.reasons.push_back(fmt::format("json key matches {}", counts.key_match->pattern));
        }
        for (int k = 0; k < value_kind_count; ++k) {
            if (counts.kinds[k] > 0) {
                const auto kind = static_cast<ValueKind>(k);
                value = value.value_or(kind);
                f.reasons.push_back(fmt::format("{} {}", valueKindName(kind),
                                                share(counts.kinds[k], profile.rows())));
            }
        }
        if (f.reasons.empty()) {
            continue;
        }
        std::optional<NameKind> name_kind;
        if (counts.key_match) {
            name_kind = counts.key_match->kind;
        }
        const bool path_prose =
            value && counts.free_text_rows * 2 > counts.kinds[static_cast<int>(*value)];
        f.suggested_spec = suggestForJsonPath(path, name_kind, value.value_or(ValueKind::token),
                                              counts.numbers, path_prose);
        f.suggested = f.suggested_spec.canonical();
        out.push_back(std::move(f));
    }
}

}  // namespace

bool sampledType(std::string_view type_name) {
    const TypeKind kind = sanitize::classifyType(type_name).kind;
    return sanitize::isTextLike(kind) || kind == TypeKind::json || kind == TypeKind::jsonb;
}

void ColumnProfile::add(std::string_view value, bool json) {
    ++rows_;
    if (json) {
        // Each path counts once per row, however many array elements it matched in.
        struct RowPath {
            ValueKinds kinds;
            bool prose = false;
            bool number = false;
            bool key = false;
        };
        std::map<std::string, RowPath> row;
        walkJson(value, [&](const JsonLeaf& leaf) {
            RowPath& p = row[leaf.path];
            p.kinds |= leaf.kinds;
            if (!leaf.kinds.empty()) {
                p.prose = p.prose || leaf.prose;
                p.number = p.number || leaf.number;
            }
            if (leaf.key_match) {
                paths_[leaf.path].key_match = leaf.key_match;
                p.key = true;
            }
        });
        for (const auto& [path, p] : row) {
            if (p.key) {
                ++paths_[path].key_rows;
            }
            if (!p.kinds.empty()) {
                count(paths_[path], p.kinds, p.prose, p.number);
            }
        }
        return;
    }
    const ValueKinds kinds = detectValues(value);
    if (!kinds.empty()) {
        count(paths_[""], kinds, looksLikeProse(value), false);
    }
}

std::vector<Finding> columnFindings(const Finding& table, const ColumnInfo& column,
                                    const ColumnProfile* profile) {
    std::vector<Finding> out;
    auto make = [&](std::optional<std::string> path) {
        Finding f;
        f.table = table.table;
        f.schema = table.schema;
        f.name = table.name;
        f.visible = table.visible;
        f.column = column.name;
        f.path = std::move(path);
        return f;
    };
    const std::optional<NameMatch> by_name = matchName(column.name);
    const TypeKind type = sanitize::classifyType(column.type_name).kind;
    const bool json_type = type == TypeKind::json || type == TypeKind::jsonb;

    Finding whole = make(std::nullopt);
    std::optional<ValueKind> first_value;
    bool prose = false;
    if (by_name) {
        whole.reasons.push_back(fmt::format("name matches {}", by_name->pattern));
    }
    if (type == TypeKind::inet || type == TypeKind::cidr) {
        whole.reasons.push_back("type " + std::string(sanitize::typeKindName(type)));
        first_value = ValueKind::ipv4;
    }
    if (profile) {
        for (const auto& [path, counts] : profile->paths()) {
            if (!path.empty()) {
                continue;
            }
            for (int k = 0; k < value_kind_count; ++k) {
                if (counts.kinds[k] > 0) {
                    const auto kind = static_cast<ValueKind>(k);
                    first_value = first_value.value_or(kind);
                    whole.reasons.push_back(fmt::format("{} {}", valueKindName(kind),
                                                        share(counts.kinds[k], profile->rows())));
                    prose = prose || counts.free_text_rows * 2 > counts.kinds[k];
                }
            }
            if (prose) {
                whole.reasons.push_back("inside free text");
            }
        }
    }
    if (!whole.reasons.empty()) {
        std::optional<NameKind> name_kind;
        if (by_name) {
            name_kind = by_name->kind;
        }
        if (json_type) {
            TransformSpec set = spec(TransformKind::set);
            set.constant = "{}";
            whole.suggested_spec =
                suggestFor(column, {spec(TransformKind::null_value), set}, false);
        } else {
            whole.suggested_spec = suggestFor(
                column, candidatesFor(name_kind, first_value.value_or(ValueKind::token)), prose);
        }
        whole.suggested = whole.suggested_spec.canonical();
        out.push_back(std::move(whole));
    }
    if (!profile || !json_type) {
        return out;
    }
    jsonPathFindings(make(std::nullopt), *profile, out);
    return out;
}

void markCovered(std::vector<Finding>& findings, const Coverage& coverage) {
    std::vector<filter::Pattern> table_patterns;
    std::vector<filter::Pattern> keep_patterns;
    if (coverage.rules) {
        for (const auto& t : coverage.rules->tables) {
            table_patterns.push_back(
                filter::Pattern::parse(t.pattern, filter::PatternKind::relation));
        }
        for (const auto& k : coverage.rules->keep) {
            keep_patterns.push_back(
                filter::Pattern::parse(k.table_pattern, filter::PatternKind::relation));
        }
    }
    for (Finding& f : findings) {
        const filter::RelationName relation{f.schema, f.name, f.visible};
        f.covered = false;
        f.covered_by.clear();
        if (std::find(coverage.schema_only.begin(), coverage.schema_only.end(), f.table) !=
            coverage.schema_only.end()) {
            f.covered_by = "exclude_table_data";
        }
        for (std::size_t i = 0;
             coverage.rules && i < coverage.rules->keep.size() && f.covered_by.empty(); ++i) {
            if (coverage.rules->keep[i].column == f.column && keep_patterns[i].matches(relation)) {
                f.covered_by = "keep";
            }
        }
        for (std::size_t i = 0;
             coverage.rules && i < coverage.rules->tables.size() && f.covered_by.empty(); ++i) {
            if (!table_patterns[i].matches(relation)) {
                continue;
            }
            for (const auto& c : coverage.rules->tables[i].columns) {
                if (c.column == f.column) {
                    f.covered_by = "rule";
                }
            }
        }
        f.covered = !f.covered_by.empty();
    }
}

std::string rulesPath(std::string_view json_path) {
    std::string out;
    std::size_t i = json_path.substr(0, 1) == "$" ? 1 : 0;
    while (i < json_path.size()) {
        if (json_path[i] == '.') {
            ++i;
            continue;
        }
        if (!out.empty()) {
            out += '.';
        }
        if (json_path.substr(i, 3) == "[*]") {
            out += '*';
            i += 3;
        } else if (json_path.substr(i, 2) == "[\"") {
            const std::size_t end = json_path.find("\"]", i + 2);
            out += std::string(json_path.substr(i + 2, end - i - 2));
            i = end == std::string_view::npos ? json_path.size() : end + 2;
        } else {
            const std::size_t end = json_path.find_first_of(".[", i);
            out += std::string(json_path.substr(i, end - i));
            i = end == std::string_view::npos ? json_path.size() : end;
        }
    }
    return out;
}

}  // namespace pgsluice::scan
