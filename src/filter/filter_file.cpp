#include "pgsluice/filter/filter_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <utility>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/pattern.hpp"

// The grammar follows PostgreSQL 17's src/bin/pg_dump/filter.c (filter_read_item,
// read_pattern, read_quoted_string) so that a file written for pg_dump means the same here.

namespace pgsluice::filter {

namespace {

// isspace() in the C locale; filter.c's tests never see multibyte whitespace either.
bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// Every object type pg_dump's filter parser knows, so that an unknown word and a known but
// unsupported one get different messages.
enum class ObjectType {
    table,
    table_and_children,
    table_data,
    table_data_and_children,
    schema,
    database,
    extension,
    foreign_data,
    function,
    index,
    trigger,
};

struct ObjectTypeName {
    std::string_view keyword;
    std::string_view description;  // as filter_object_type_name() words it
    ObjectType type;
};

constexpr std::array<ObjectTypeName, 11> object_types{{
    {"table", "table", ObjectType::table},
    {"table_and_children", "table and children", ObjectType::table_and_children},
    {"table_data", "table data", ObjectType::table_data},
    {"table_data_and_children", "table data and children", ObjectType::table_data_and_children},
    {"schema", "schema", ObjectType::schema},
    {"database", "database", ObjectType::database},
    {"extension", "extension", ObjectType::extension},
    {"foreign_data", "foreign data", ObjectType::foreign_data},
    {"function", "function", ObjectType::function},
    {"index", "index", ObjectType::index},
    {"trigger", "trigger", ObjectType::trigger},
}};

// Line-by-line reader that keeps each line's '\n', since filter.c's quoted-string parsing
// treats a line end differently from the end of the buffer.
class LineReader {
  public:
    LineReader(std::istream& input, std::string_view source) : input_(input), source_(source) {}

    // Reads the next line into line(); false at the end of input.
    bool next() {
        std::string text;
        if (!std::getline(input_, text)) {
            if (input_.bad()) {
                throw UsageError(source_ +
                                 ": could not read the filter file; check that it is "
                                 "a readable regular file");
            }
            return false;
        }
        ++number_;
        if (!input_.eof()) {
            text.push_back('\n');
        }
        if (text.find('\0') != std::string::npos) {
            fail("the line contains a NUL byte; a filter file is plain text");
        }
        line_ = std::move(text);
        return true;
    }

    const std::string& line() const noexcept { return line_; }

    [[noreturn]] void fail(const std::string& message) const {
        throw UsageError(source_ + ":" + std::to_string(number_) + ": " + message);
    }

  private:
    std::istream& input_;
    std::string source_;
    std::string line_;
    int number_ = 0;
};

std::string_view readKeyword(const std::string& line, std::size_t& pos) {
    while (pos < line.size() && isSpace(line[pos])) {
        ++pos;
    }
    const std::size_t start = pos;
    while (pos < line.size() && !isSpace(line[pos])) {
        ++pos;
    }
    return std::string_view(line).substr(start, pos - start);
}

// Appends a double-quoted name, quotes kept, to OUT; it may run over several lines, each
// line break becoming '\n'. Inside, `""` is kept (the pattern parser reads it as one quote),
// `\n` becomes a newline, `\\` a backslash, and a backslash before anything else is dropped
// together with that character, exactly as read_quoted_string() does.
void readQuoted(LineReader& reader, std::size_t& pos, std::string& out) {
    out.push_back('"');
    ++pos;
    while (true) {
        const std::string* line = &reader.line();
        if (pos < line->size() && ((*line)[pos] == '\r' || (*line)[pos] == '\n')) {
            ++pos;
            continue;
        }
        if (pos >= line->size()) {
            if (!reader.next()) {
                reader.fail(
                    "unexpected end of file inside a double-quoted name; add the closing \"");
            }
            line = &reader.line();
            pos = 0;
            out.push_back('\n');
            // filter.c looks at the new line's first character without skipping a line end.
        }
        const char c = (*line)[pos];
        if (c == '"') {
            out.push_back('"');
            ++pos;
            if (pos < line->size() && (*line)[pos] == '"') {
                out.push_back('"');
                ++pos;
            } else {
                return;
            }
        } else if (c == '\\') {
            ++pos;
            if (pos < line->size() && (*line)[pos] == 'n') {
                out.push_back('\n');
            } else if (pos < line->size() && (*line)[pos] == '\\') {
                out.push_back('\\');
            }
            pos = std::min(pos + 1, line->size());
        } else {
            out.push_back(c);
            ++pos;
        }
    }
}

// Reads the pattern that ends the line (up to a `#` comment) the way read_pattern() does:
// runs of blanks between words become one space, blanks around `.`, `(` and `)` disappear,
// and `,` becomes ", ".
std::string readPattern(LineReader& reader, std::size_t& pos) {
    while (pos < reader.line().size() && isSpace(reader.line()[pos])) {
        ++pos;
    }
    if (pos >= reader.line().size()) {
        reader.fail(
            "missing object name pattern; write the table or schema name after the "
            "object type");
    }
    std::string out;
    bool skip_space = true;
    bool found_space = false;
    while (pos < reader.line().size() && reader.line()[pos] != '#') {
        while (pos < reader.line().size() && !isSpace(reader.line()[pos]) &&
               std::string_view("#,.()\"").find(reader.line()[pos]) == std::string_view::npos) {
            if (!skip_space && found_space) {
                out.push_back(' ');
                skip_space = true;
            }
            out.push_back(reader.line()[pos++]);
        }
        skip_space = false;
        if (pos < reader.line().size()) {
            const char c = reader.line()[pos];
            if (c == '"') {
                if (found_space) {
                    out.push_back(' ');
                }
                readQuoted(reader, pos, out);
            } else if (c == ',') {
                out += ", ";
                skip_space = true;
                ++pos;
            } else if (c == '.' || c == '(' || c == ')') {
                out.push_back(c);
                skip_space = true;
                ++pos;
            }
        }
        found_space = false;
        while (pos < reader.line().size() && isSpace(reader.line()[pos])) {
            found_space = true;
            ++pos;
        }
    }
    if (out.empty()) {
        // pg_dump would accept "exclude table # note" as an empty pattern that matches nothing.
        reader.fail(
            "missing object name pattern (only a comment follows the object type); "
            "write the table or schema name after the object type");
    }
    return out;
}

}  // namespace

void readFilter(std::istream& input, std::string_view source, SelectionOptions& options) {
    SelectionOptions staged = options;
    LineReader reader(input, source);
    while (reader.next()) {
        std::size_t pos = 0;
        while (pos < reader.line().size() && isSpace(reader.line()[pos])) {
            ++pos;
        }
        if (pos == reader.line().size() || reader.line()[pos] == '#') {
            continue;
        }

        const std::string command(readKeyword(reader.line(), pos));
        bool include = false;
        if (equalsIgnoringCase(command, "include")) {
            include = true;
        } else if (!equalsIgnoringCase(command, "exclude")) {
            reader.fail("invalid filter command \"" + command +
                        "\" (expected \"include\" or \"exclude\"); lines read "
                        "'include|exclude OBJECT_TYPE PATTERN'");
        }

        const std::string type_word(readKeyword(reader.line(), pos));
        if (type_word.empty()) {
            reader.fail("missing filter object type after \"" + command +
                        "\"; expected table, table_and_children, table_data, "
                        "table_data_and_children or schema");
        }
        const ObjectTypeName* type = nullptr;
        for (const ObjectTypeName& candidate : object_types) {
            if (equalsIgnoringCase(type_word, candidate.keyword)) {
                type = &candidate;
            }
        }
        if (type == nullptr) {
            reader.fail("unsupported filter object type: \"" + type_word +
                        "\"; expected table, table_and_children, table_data, "
                        "table_data_and_children or schema");
        }

        const std::string pattern = readPattern(reader, pos);

        std::vector<std::string>* list = nullptr;
        switch (type->type) {
            case ObjectType::table:
                list = include ? &staged.include_tables : &staged.exclude_tables;
                break;
            case ObjectType::table_and_children:
                list = include ? &staged.include_table_and_children
                               : &staged.exclude_table_and_children;
                break;
            case ObjectType::table_data:
                list = include ? nullptr : &staged.exclude_table_data;
                break;
            case ObjectType::table_data_and_children:
                list = include ? nullptr : &staged.exclude_table_data_and_children;
                break;
            case ObjectType::schema:
                list = include ? &staged.include_schemas : &staged.exclude_schemas;
                break;
            case ObjectType::extension:
                reader.fail(std::string(include ? "include" : "exclude") +
                            " filter for \"extension\" is not supported by pgsluice, which "
                            "copies extensions as pg_dump's schema output has them; remove "
                            "the line");
            case ObjectType::foreign_data:
                if (include) {
                    reader.fail(
                        "include filter for \"foreign data\" is not supported by pgsluice, "
                        "which never copies the rows of foreign tables; remove the line");
                }
                break;
            case ObjectType::database:
            case ObjectType::function:
            case ObjectType::index:
            case ObjectType::trigger:
                break;
        }
        if (list == nullptr) {
            // pg_dump's own wording, then what to do about it.
            reader.fail(std::string(include ? "include" : "exclude") + " filter for \"" +
                        std::string(type->description) +
                        "\" is not allowed; use include|exclude table, table_and_children "
                        "or schema, or exclude table_data or table_data_and_children");
        }

        // Check the pattern now, while the line number is known.
        try {
            Pattern::parse(pattern, type->type == ObjectType::schema ? PatternKind::schema
                                                                     : PatternKind::relation);
        } catch (const UsageError& error) {
            reader.fail(error.what());
        }
        list->push_back(pattern);
    }
    options = std::move(staged);
}

void loadFilterFile(const std::string& path, SelectionOptions& options) {
    if (path == "-") {
        readFilter(std::cin, "<stdin>", options);
        return;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        throw UsageError("could not open filter file \"" + path + "\": " + std::strerror(errno) +
                         "; check the --filter path");
    }
    readFilter(file, path, options);
}

}  // namespace pgsluice::filter
