// What a subset is asked, as text: the --subset option, the manifest's lines, the role names,
// the tid[] literals the queries and COPY take.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pgsluice/engine/subset.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::engine {

SubsetSpec::Condition parseSubsetOption(const std::string& text) {
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '"') {
            quoted = !quoted;
        } else if (text[i] == ':' && !quoted) {
            std::string table = text.substr(0, i);
            std::string sql = text.substr(i + 1);
            if (table.empty() || sql.find_first_not_of(" \t") == std::string::npos) {
                break;
            }
            return {table, sql, "--subset"};
        }
    }
    throw UsageError(fmt::format(
        "--subset '{}': write TABLE:CONDITION, e.g. --subset 'public.users:id % 100 = 0'", text));
}

std::vector<std::string> describeSubset(const SubsetSpec& spec) {
    std::vector<std::string> out;
    for (const auto& c : spec.conditions) {
        out.push_back(fmt::format("{}: {} ({})", c.pattern, c.sql, c.where));
    }
    for (const auto& v : spec.virtual_keys) {
        out.push_back(fmt::format("virtual {}({}) -> {}({}) ({})", v.from_pattern,
                                  fmt::join(v.from_columns, ", "), v.to_pattern,
                                  fmt::join(v.to_columns, ", "), v.where));
    }
    return out;
}

const char* subsetRoleName(SubsetRole role) {
    switch (role) {
        case SubsetRole::whole:
            return "whole";
        case SubsetRole::condition:
            return "condition";
        case SubsetRole::follows:
            return "follows parents";
    }
    return "";
}

std::string ctidArray(const std::vector<std::uint64_t>& ctids, std::size_t begin, std::size_t end) {
    std::string out = "{";
    for (std::size_t i = begin; i < end; ++i) {
        out +=
            fmt::format("{}\"({},{})\"", i > begin ? "," : "", ctids[i] >> 16, ctids[i] & 0xFFFF);
    }
    return out + "}";
}

}  // namespace pgsluice::engine
