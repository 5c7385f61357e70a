#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::pg {

std::string quoteIdentifier(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    out += '"';
    return out;
}

std::string qualifiedName(std::string_view schema, std::string_view name) {
    return quoteIdentifier(schema) + "." + quoteIdentifier(name);
}

std::optional<std::string> takeQuotedIdentifier(std::string_view& text) {
    if (text.empty() || text[0] != '"') {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 1; i < text.size(); ++i) {
        if (text[i] != '"') {
            out += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == '"') {
            out += '"';
            ++i;
        } else {
            text.remove_prefix(i + 1);
            return out;
        }
    }
    return std::nullopt;
}

}  // namespace pgsluice::pg
