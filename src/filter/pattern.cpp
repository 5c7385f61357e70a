#include "pgsluice/filter/pattern.hpp"

#include <utility>

#include "pgsluice/error.hpp"

namespace pgsluice::filter {

namespace {

// Outside double quotes pg_dump passes these through to a POSIX regular expression
// (patternToSQLRegex with force_escape = false), so `a+b` means "one or more a, then b".
// Rather than guess, pgsluice refuses them and tells the user to quote.
constexpr std::string_view regex_characters = "|+()[]{}^\\";

// Length of the UTF-8 character starting at POS, so that `?` and `*` step over whole
// characters as PostgreSQL's regex `.` does; a malformed sequence counts as one byte each.
std::size_t characterLength(std::string_view text, std::size_t pos) {
    const auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t length = 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
    }
    if (pos + length > text.size()) {
        return 1;
    }
    for (std::size_t i = 1; i < length; ++i) {
        if ((static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) {
            return 1;
        }
    }
    return length;
}

[[noreturn]] void reject(std::string_view text, const std::string& why) {
    throw UsageError("pattern \"" + std::string(text) + "\": " + why);
}

// Refuses a pattern with more dotted parts than its kind allows.
void checkDots(std::string_view text, PatternKind kind, std::size_t dots) {
    if (kind == PatternKind::schema) {
        // pg_dump 15-17 fail every `db.schema` pattern for -n/-N with this message (they compare
        // the current database with an empty string), so no dotted schema pattern can work.
        if (dots == 1) {
            reject(text,
                   "cross-database references are not implemented (pg_dump refuses a dotted "
                   "schema pattern); give the schema name alone, or put it in double quotes if "
                   "the name itself contains a dot");
        }
        if (dots > 1) {
            reject(text,
                   "improper qualified name (too many dotted names); a schema pattern is one "
                   "name, quote it if the name contains dots");
        }
    } else if (dots > 2) {
        reject(text,
               "improper relation name (too many dotted names); write table, schema.table or "
               "database.schema.table, and quote names that contain dots");
    }
}

// Refuses an empty part, or one with a regular-expression character pgsluice does not support.
void checkPart(std::string_view text, std::string_view what, bool empty, char regex_character) {
    if (empty) {
        // No PostgreSQL object has an empty name, so such a pattern can only be a mistake.
        reject(text, "the " + std::string(what) +
                         " part is empty; remove the stray dot or fill in the name");
    }
    if (regex_character != 0) {
        reject(text, std::string("\"") + regex_character +
                         "\" is a regular-expression character there, which pgsluice does "
                         "not support in patterns (only * and ?); to match it literally, put "
                         "the name in double quotes, e.g. '\"a+b\"'");
    }
}

}  // namespace

Pattern Pattern::parse(std::string_view text, PatternKind kind) {
    // One dot-separated part as pg_dump splits it. `literal` is the part as plain text, which
    // is how pg_dump reads the database part (wildcards in it are not wildcards).
    struct Part {
        Glob glob;
        std::string literal;
        char regex_character = 0;
    };

    if (text.empty()) {
        reject(text, "the pattern is empty; give a name such as public.users");
    }

    std::vector<Part> parts(1);
    bool in_quotes = false;
    auto add_byte = [&parts](char c) {
        parts.back().glob.push_back({Token::Type::byte, c});
        parts.back().literal.push_back(c);
    };
    // The same state machine as PostgreSQL's patternToSQLRegex: a quote toggles quoting
    // anywhere in a word, and `""` inside quotes stands for one `"`.
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '"') {
            if (in_quotes && i + 1 < text.size() && text[i + 1] == '"') {
                add_byte('"');
                i += 2;
            } else {
                in_quotes = !in_quotes;
                ++i;
            }
        } else if (!in_quotes && c >= 'A' && c <= 'Z') {
            // Only ASCII folds, as in pg_dump under a UTF-8 locale.
            add_byte(static_cast<char>(c - 'A' + 'a'));
            ++i;
        } else if (!in_quotes && c == '*') {
            parts.back().glob.push_back({Token::Type::any_run, 0});
            parts.back().literal.push_back('*');
            ++i;
        } else if (!in_quotes && c == '?') {
            parts.back().glob.push_back({Token::Type::any_char, 0});
            parts.back().literal.push_back('?');
            ++i;
        } else if (!in_quotes && c == '.') {
            parts.emplace_back();
            ++i;
        } else if (!in_quotes && regex_characters.find(c) != std::string_view::npos) {
            // pg_dump always escapes "[]" (array type names), so that pair is literal.
            if (c == '[' && i + 1 < text.size() && text[i + 1] == ']') {
                add_byte('[');
                add_byte(']');
                i += 2;
                continue;
            }
            if (parts.back().regex_character == 0) {
                parts.back().regex_character = c;
            }
            add_byte(c);
            ++i;
        } else {
            // Everything else, `$` included, is literal in pg_dump too.
            add_byte(c);
            ++i;
        }
    }

    const std::size_t dots = parts.size() - 1;
    Pattern pattern;
    pattern.text_ = std::string(text);
    pattern.kind_ = kind;

    checkDots(text, kind, dots);

    auto take_glob = [&](Part& part, std::string_view what) -> Glob {
        checkPart(text, what, part.glob.empty(), part.regex_character);
        return std::move(part.glob);
    };

    if (kind == PatternKind::schema) {
        pattern.name_ = take_glob(parts[0], "schema name");
        return pattern;
    }
    pattern.name_ = take_glob(parts.back(), "table name");
    if (parts.size() >= 2) {
        pattern.schema_ = take_glob(parts[parts.size() - 2], "schema name");
    }
    if (parts.size() == 3) {
        if (parts[0].literal.empty()) {
            reject(text, "the database part is empty; remove the leading dot");
        }
        pattern.database_ = std::move(parts[0].literal);
    }
    return pattern;
}

bool Pattern::matches(const RelationName& relation) const {
    if (kind_ == PatternKind::schema) {
        return globMatches(name_, relation.schema);
    }
    if (schema_) {
        return globMatches(*schema_, relation.schema) && globMatches(name_, relation.name);
    }
    // pg_dump adds pg_table_is_visible() when no schema is given.
    return relation.visible && globMatches(name_, relation.name);
}

bool Pattern::matchesSchema(std::string_view name) const {
    return kind_ == PatternKind::schema && globMatches(name_, name);
}

void Pattern::checkDatabase(std::string_view current_database) const {
    if (database_ && *database_ != current_database) {
        throw UsageError("pattern \"" + text_ +
                         "\": cross-database references are not implemented: it names database "
                         "\"" +
                         *database_ + "\" but the source is database \"" +
                         std::string(current_database) + "\"; drop the database part");
    }
}

bool Pattern::globMatches(const Glob& glob, std::string_view subject) {
    // Classic wildcard matching that backtracks only to the last `*`: linear in practice, and
    // exact because `*` can absorb anything the failed attempt consumed.
    std::size_t g = 0;
    std::size_t s = 0;
    std::size_t star = glob.size();  // none yet
    std::size_t star_subject = 0;
    while (s < subject.size()) {
        if (g < glob.size() && glob[g].type == Token::Type::byte && glob[g].byte == subject[s]) {
            ++g;
            ++s;
        } else if (g < glob.size() && glob[g].type == Token::Type::any_char) {
            ++g;
            s += characterLength(subject, s);
        } else if (g < glob.size() && glob[g].type == Token::Type::any_run) {
            star = g++;
            star_subject = s;
        } else if (star != glob.size()) {
            g = star + 1;
            star_subject += characterLength(subject, star_subject);
            s = star_subject;
        } else {
            return false;
        }
    }
    while (g < glob.size() && glob[g].type == Token::Type::any_run) {
        ++g;
    }
    return g == glob.size();
}

}  // namespace pgsluice::filter
