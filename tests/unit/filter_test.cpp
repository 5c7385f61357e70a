#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/filter/filter_file.hpp"
#include "pgsluice/filter/pattern.hpp"
#include "pgsluice/filter/selection.hpp"

namespace pgsluice::filter {
namespace {

using Decision = Selection::Decision;
using Strings = std::vector<std::string>;

RelationName rel(std::string_view schema, std::string_view name, bool visible = false) {
    return RelationName{schema, name, visible};
}

// Runs F, expecting a UsageError, and returns its message ("" and a failure otherwise).
template <typename F>
std::string usageError(F&& f) {
    try {
        f();
    } catch (const UsageError& error) {
        return error.what();
    } catch (const std::exception& error) {
        ADD_FAILURE() << "expected UsageError, got: " << error.what();
        return "";
    }
    ADD_FAILURE() << "expected UsageError, nothing was thrown";
    return "";
}

bool startsWith(const std::string& text, const std::string& prefix) {
    return text.starts_with(prefix);
}

bool tableMatches(std::string_view pattern, const RelationName& relation) {
    return Pattern::parse(pattern, PatternKind::relation).matches(relation);
}

// ---------------------------------------------------------------------------------------------
// Patterns

TEST(FilterPattern, UnquotedLettersFoldToLowerCase) {
    EXPECT_TRUE(tableMatches("Users", rel("public", "users", true)));
    EXPECT_FALSE(tableMatches("Users", rel("public", "Users", true)));
    EXPECT_TRUE(tableMatches("PUBLIC.USERS", rel("public", "users")));
}

TEST(FilterPattern, QuotedPartsKeepCase) {
    EXPECT_TRUE(tableMatches("\"Users\"", rel("public", "Users", true)));
    EXPECT_FALSE(tableMatches("\"Users\"", rel("public", "users", true)));
    EXPECT_TRUE(tableMatches("\"Mixed\".\"T1\"", rel("Mixed", "T1")));
    EXPECT_FALSE(tableMatches("Mixed.T1", rel("Mixed", "T1")));
}

TEST(FilterPattern, QuotesMayStartAndStopInsideAWord) {
    // As in psql: Foo"Bar"baz is foo + Bar + baz.
    EXPECT_TRUE(tableMatches("Foo\"Bar\"Baz", rel("public", "fooBarbaz", true)));
    EXPECT_FALSE(tableMatches("Foo\"Bar\"Baz", rel("public", "FooBarBaz", true)));
}

TEST(FilterPattern, DoubledQuoteInsideQuotesIsOneQuote) {
    EXPECT_TRUE(tableMatches("\"we\"\"ird\"", rel("public", "we\"ird", true)));
    // Outside quotes the two quotes just open and close quoting (checked against pg_dump 15).
    EXPECT_TRUE(tableMatches("we\"\"ird", rel("public", "weird", true)));
    EXPECT_FALSE(tableMatches("we\"\"ird", rel("public", "we\"ird", true)));
}

TEST(FilterPattern, UnterminatedQuoteRunsToTheEnd) {
    EXPECT_TRUE(tableMatches("\"Foo", rel("public", "Foo", true)));
    EXPECT_TRUE(tableMatches("app.\"A.b", rel("app", "A.b")));
}

TEST(FilterPattern, StarMatchesAnyRunAndQuestionOneCharacter) {
    EXPECT_TRUE(tableMatches("log_*", rel("public", "log_", true)));
    EXPECT_TRUE(tableMatches("log_*", rel("public", "log_2024_01", true)));
    EXPECT_FALSE(tableMatches("log_*", rel("public", "blog_1", true)));
    EXPECT_TRUE(tableMatches("log_?", rel("public", "log_1", true)));
    EXPECT_FALSE(tableMatches("log_?", rel("public", "log_12", true)));
    EXPECT_FALSE(tableMatches("log_?", rel("public", "log_", true)));
    EXPECT_TRUE(tableMatches("a*b*c", rel("public", "axxbyyc", true)));
    EXPECT_TRUE(tableMatches("a*b*c", rel("public", "abc", true)));
    EXPECT_FALSE(tableMatches("a*b*c", rel("public", "acb", true)));
    EXPECT_TRUE(tableMatches("*a", rel("public", "aaa", true)));
    EXPECT_FALSE(tableMatches("*a", rel("public", "aab", true)));
    EXPECT_TRUE(tableMatches("?*?", rel("public", "ab", true)));
    EXPECT_FALSE(tableMatches("?*?", rel("public", "a", true)));
    EXPECT_TRUE(tableMatches("*", rel("public", "anything", true)));
}

TEST(FilterPattern, QuestionMarkIsOneUtf8Character) {
    EXPECT_TRUE(tableMatches("caf?", rel("public", "caf\xC3\xA9", true)));  // café
    EXPECT_FALSE(tableMatches("caf??", rel("public", "caf\xC3\xA9", true)));
    EXPECT_TRUE(tableMatches("*\xC3\xA9", rel("public", "caf\xC3\xA9", true)));
    EXPECT_TRUE(tableMatches("?", rel("public", "\xE2\x82\xAC", true)));  // €
}

TEST(FilterPattern, WildcardsInsideQuotesAreLiteral) {
    EXPECT_TRUE(tableMatches("\"a*\"", rel("public", "a*", true)));
    EXPECT_FALSE(tableMatches("\"a*\"", rel("public", "ab", true)));
    EXPECT_TRUE(tableMatches("\"a?\"", rel("public", "a?", true)));
    EXPECT_FALSE(tableMatches("\"a?\"", rel("public", "ab", true)));
}

TEST(FilterPattern, DotOutsideQuotesSeparatesSchemaFromName) {
    EXPECT_TRUE(tableMatches("x.y", rel("x", "y")));
    EXPECT_FALSE(tableMatches("x.y", rel("public", "x.y", true)));
    EXPECT_TRUE(Pattern::parse("x.y", PatternKind::relation).qualified());
}

TEST(FilterPattern, DotInsideQuotesIsPartOfTheName) {
    EXPECT_TRUE(tableMatches("\"x.y\"", rel("public", "x.y", true)));
    EXPECT_FALSE(tableMatches("\"x.y\"", rel("x", "y", true)));
    EXPECT_FALSE(Pattern::parse("\"x.y\"", PatternKind::relation).qualified());
    EXPECT_TRUE(tableMatches("\"s.1\".\"t.2\"", rel("s.1", "t.2")));
}

TEST(FilterPattern, RegexCharactersInQuotesAreLiteral) {
    EXPECT_TRUE(tableMatches("\"a+b\"", rel("public", "a+b", true)));
    EXPECT_FALSE(tableMatches("\"a+b\"", rel("public", "aab", true)));
    EXPECT_TRUE(tableMatches("\"(x)|[y]{2}^\\\"", rel("public", "(x)|[y]{2}^\\", true)));
}

TEST(FilterPattern, DollarAndArrayBracketsAreLiteralEvenUnquoted) {
    // pg_dump escapes `$` always and `[]` always; checked against pg_dump 15 for `a$b`.
    EXPECT_TRUE(tableMatches("a$b", rel("public", "a$b", true)));
    EXPECT_TRUE(tableMatches("int[]", rel("public", "int[]", true)));
}

TEST(FilterPattern, UnquotedRegexCharactersAreRefused) {
    // pg_dump would read `a+b` as the regular expression a+b (it dumps table "aab"), which
    // pgsluice does not implement: refuse rather than match something else.
    EXPECT_EQ(usageError([] { Pattern::parse("a+b", PatternKind::relation); }),
              "pattern \"a+b\": \"+\" is a regular-expression character there, which pgsluice "
              "does not support in patterns (only * and ?); to match it literally, put the name "
              "in double quotes, e.g. '\"a+b\"'");
    for (std::string text : {"log_[0-9]", "a|b", "(a)", "a{2}", "^a", "a\\b", "a]"}) {
        EXPECT_NE(usageError([&] {
                      Pattern::parse(text, PatternKind::relation);
                  }).find("is a regular-expression character"),
                  std::string::npos)
            << text;
    }
    EXPECT_NE(usageError([] { Pattern::parse("app+", PatternKind::schema); }).find("\"+\""),
              std::string::npos);
}

TEST(FilterPattern, UnqualifiedPatternsOnlyMatchVisibleTables) {
    // pg_dump adds pg_table_is_visible() for patterns without a schema (checked against
    // pg_dump 15: `-t users` dumps public.users, not app.users).
    EXPECT_TRUE(tableMatches("users", rel("public", "users", true)));
    EXPECT_FALSE(tableMatches("users", rel("app", "users", false)));
}

TEST(FilterPattern, QualifiedPatternsIgnoreVisibility) {
    EXPECT_TRUE(tableMatches("app.users", rel("app", "users", false)));
    EXPECT_TRUE(tableMatches("*.users", rel("app", "users", false)));
    EXPECT_TRUE(tableMatches("*.users", rel("public", "users", true)));
    EXPECT_FALSE(tableMatches("app.users", rel("public", "users", true)));
    EXPECT_TRUE(tableMatches("app*.*", rel("app_archive", "anything")));
}

TEST(FilterPattern, DatabaseQualifiedNameMustNameTheCurrentDatabase) {
    const Pattern pattern = Pattern::parse("TestDb.app.users", PatternKind::relation);
    ASSERT_TRUE(pattern.database().has_value());
    EXPECT_EQ(*pattern.database(), "testdb");
    EXPECT_TRUE(pattern.matches(rel("app", "users")));
    EXPECT_NO_THROW(pattern.checkDatabase("testdb"));
    EXPECT_EQ(usageError([&] { pattern.checkDatabase("prod"); }),
              "pattern \"TestDb.app.users\": cross-database references are not implemented: it "
              "names database \"testdb\" but the source is database \"prod\"; drop the database "
              "part");
    // The database part is a plain name: wildcards there are not wildcards (as in pg_dump).
    const Pattern star = Pattern::parse("*.app.users", PatternKind::relation);
    EXPECT_EQ(*star.database(), "*");
    EXPECT_FALSE(usageError([&] { star.checkDatabase("testdb"); }).empty());
    EXPECT_FALSE(Pattern::parse("app.users", PatternKind::relation).database().has_value());
}

TEST(FilterPattern, TooManyDotsAreRefused) {
    EXPECT_EQ(usageError([] { Pattern::parse("a.b.c.d", PatternKind::relation); }),
              "pattern \"a.b.c.d\": improper relation name (too many dotted names); write "
              "table, schema.table or database.schema.table, and quote names that contain dots");
}

TEST(FilterPattern, SchemaPatternsAreOneName) {
    // pg_dump 15 answers `-n testdb.app` with "cross-database references are not implemented".
    EXPECT_NE(usageError([] {
                  Pattern::parse("testdb.app", PatternKind::schema);
              }).find("pattern \"testdb.app\": cross-database references are not implemented"),
              std::string::npos);
    EXPECT_NE(usageError([] {
                  Pattern::parse("a.b.c", PatternKind::schema);
              }).find("improper qualified name (too many dotted names)"),
              std::string::npos);
    const Pattern dotted = Pattern::parse("\"a.b\"", PatternKind::schema);
    EXPECT_TRUE(dotted.matchesSchema("a.b"));
    EXPECT_FALSE(dotted.matchesSchema("ab"));
}

TEST(FilterPattern, SchemaPatternsMatchSchemasAndTheirRelations) {
    const Pattern pattern = Pattern::parse("App*", PatternKind::schema);
    EXPECT_TRUE(pattern.matchesSchema("app"));
    EXPECT_TRUE(pattern.matchesSchema("app_archive"));
    EXPECT_FALSE(pattern.matchesSchema("App"));
    EXPECT_TRUE(pattern.matches(rel("app_archive", "anything")));
    EXPECT_FALSE(pattern.matches(rel("public", "app")));
    EXPECT_FALSE(Pattern::parse("app", PatternKind::relation).matchesSchema("app"));
}

TEST(FilterPattern, EmptyPatternsAndPartsAreRefused) {
    EXPECT_EQ(usageError([] { Pattern::parse("", PatternKind::relation); }),
              "pattern \"\": the pattern is empty; give a name such as public.users");
    EXPECT_EQ(usageError([] { Pattern::parse("foo.", PatternKind::relation); }),
              "pattern \"foo.\": the table name part is empty; remove the stray dot or fill in "
              "the name");
    EXPECT_EQ(usageError([] { Pattern::parse(".foo", PatternKind::relation); }),
              "pattern \".foo\": the schema name part is empty; remove the stray dot or fill in "
              "the name");
    EXPECT_EQ(usageError([] { Pattern::parse("\"\"", PatternKind::schema); }),
              "pattern \"\"\"\": the schema name part is empty; remove the stray dot or fill in "
              "the name");
    EXPECT_EQ(usageError([] { Pattern::parse(".a.b", PatternKind::relation); }),
              "pattern \".a.b\": the database part is empty; remove the leading dot");
}

TEST(FilterPattern, TextIsKeptAsGiven) {
    const Pattern pattern = Pattern::parse("Public.\"Users\"", PatternKind::relation);
    EXPECT_EQ(pattern.text(), "Public.\"Users\"");
    EXPECT_EQ(pattern.kind(), PatternKind::relation);
}

// ---------------------------------------------------------------------------------------------
// Filter files

SelectionOptions readString(const std::string& text, SelectionOptions options = {}) {
    std::istringstream input(text);
    readFilter(input, "f.txt", options);
    return options;
}

std::string filterError(const std::string& text) {
    return usageError([&] { readString(text); });
}

TEST(FilterFile, ReadsEveryAcceptedLine) {
    const SelectionOptions options = readString(
        "# a comment\n"
        "\n"
        "   \t\n"
        "include table public.users\n"
        "  INCLUDE Table_And_Children public.measure   \n"
        "include schema app\n"
        "exclude table app.secrets\n"
        "exclude table_and_children app.audit\n"
        "exclude table_data public.emails\n"
        "exclude table_data_and_children public.events\n"
        "\texclude\tschema\ttmp\n"
        "    # indented comment\n"
        "exclude table_data last_line_without_newline");
    EXPECT_EQ(options.include_tables, Strings{"public.users"});
    EXPECT_EQ(options.include_table_and_children, Strings{"public.measure"});
    EXPECT_EQ(options.include_schemas, Strings{"app"});
    EXPECT_EQ(options.exclude_tables, Strings{"app.secrets"});
    EXPECT_EQ(options.exclude_table_and_children, Strings{"app.audit"});
    EXPECT_EQ(options.exclude_table_data, (Strings{"public.emails", "last_line_without_newline"}));
    EXPECT_EQ(options.exclude_table_data_and_children, Strings{"public.events"});
    EXPECT_EQ(options.exclude_schemas, Strings{"tmp"});
    EXPECT_FALSE(options.strict_names);
}

TEST(FilterFile, AppendsAfterCommandLinePatterns) {
    SelectionOptions options;
    options.exclude_table_data = {"from_cli"};
    options.strict_names = true;
    options = readString("exclude table_data from_file\n", options);
    EXPECT_EQ(options.exclude_table_data, (Strings{"from_cli", "from_file"}));
    EXPECT_TRUE(options.strict_names);
}

TEST(FilterFile, QuotedPatternsKeepSpacesHashesAndQuotes) {
    const SelectionOptions options = readString(
        "exclude table_data \"My Table # 1\"\n"
        "exclude table_data app.\"Odd \"\"Name\"\"\"  # trailing comment\n"
        "exclude table_data \"Mixed\".\"T1\"\n");
    EXPECT_EQ(options.exclude_table_data,
              (Strings{"\"My Table # 1\"", "app.\"Odd \"\"Name\"\"\"", "\"Mixed\".\"T1\""}));
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("public", "My Table # 1", true)), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("app", "Odd \"Name\"")), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("Mixed", "T1")), Decision::schema_only);
}

TEST(FilterFile, CommentsEndUnquotedPatterns) {
    const SelectionOptions options = readString(
        "exclude table foo # not part of it\n"
        "exclude table bar#baz\n");
    EXPECT_EQ(options.exclude_tables, (Strings{"foo", "bar"}));
}

TEST(FilterFile, WhitespaceInsidePatternsIsNormalisedLikePgDump) {
    const SelectionOptions options = readString(
        "include table   public . users  \n"
        "include table foo    bar\n"
        "include table \"a\" \"b\"\n");
    EXPECT_EQ(options.include_tables, (Strings{"public.users", "foo bar", "\"a\" \"b\""}));
}

TEST(FilterFile, QuotedNamesMaySpanLinesAndUseEscapes) {
    const SelectionOptions options = readString(
        "exclude table_data \"two\n"
        "lines\"\n"
        "exclude table_data \"back\\\\slash\"\n"
        "exclude table_data \"new\\nline\"\n"
        "exclude table_data \"dro\\pped\"\n");
    EXPECT_EQ(options.exclude_table_data,
              (Strings{"\"two\nlines\"", "\"back\\slash\"", "\"new\nline\"", "\"droped\""}));
}

TEST(FilterFile, CrLfLineEndsAreAccepted) {
    const SelectionOptions options = readString("exclude table a\r\nexclude table \"b\"\r\n");
    EXPECT_EQ(options.exclude_tables, (Strings{"a", "\"b\""}));
}

TEST(FilterFile, InvalidCommandNamesTheLine) {
    EXPECT_EQ(filterError("# ok\nexclude table a\ninclde table foo\n"),
              "f.txt:3: invalid filter command \"inclde\" (expected \"include\" or \"exclude\"); "
              "lines read 'include|exclude OBJECT_TYPE PATTERN'");
    EXPECT_EQ(filterError("include# table foo\n"),
              "f.txt:1: invalid filter command \"include#\" (expected \"include\" or "
              "\"exclude\"); lines read 'include|exclude OBJECT_TYPE PATTERN'");
}

TEST(FilterFile, MissingObjectTypeNamesTheLine) {
    EXPECT_EQ(filterError("\n\ninclude   \n"),
              "f.txt:3: missing filter object type after \"include\"; expected table, "
              "table_and_children, table_data, table_data_and_children or schema");
}

TEST(FilterFile, UnknownObjectTypeNamesTheLine) {
    EXPECT_EQ(filterError("exclude tables foo\n"),
              "f.txt:1: unsupported filter object type: \"tables\"; expected table, "
              "table_and_children, table_data, table_data_and_children or schema");
}

TEST(FilterFile, MissingPatternNamesTheLine) {
    EXPECT_EQ(filterError("exclude table a\nexclude table\n"),
              "f.txt:2: missing object name pattern; write the table or schema name after the "
              "object type");
    EXPECT_EQ(filterError("exclude table   # only a note\n"),
              "f.txt:1: missing object name pattern (only a comment follows the object type); "
              "write the table or schema name after the object type");
}

TEST(FilterFile, IncludeTableDataIsRefusedAsInPgDump) {
    EXPECT_EQ(filterError("include table_data public.emails\n"),
              "f.txt:1: include filter for \"table data\" is not allowed; use include|exclude "
              "table, table_and_children or schema, or exclude table_data or "
              "table_data_and_children");
    EXPECT_EQ(filterError("\ninclude table_data_and_children public.events\n"),
              "f.txt:2: include filter for \"table data and children\" is not allowed; use "
              "include|exclude table, table_and_children or schema, or exclude table_data or "
              "table_data_and_children");
}

TEST(FilterFile, ObjectTypesPgsluiceDoesNotFilterAreRefused) {
    EXPECT_EQ(filterError("exclude function f\n"),
              "f.txt:1: exclude filter for \"function\" is not allowed; use include|exclude "
              "table, table_and_children or schema, or exclude table_data or "
              "table_data_and_children");
    EXPECT_PRED2(startsWith, filterError("include index i\n"),
                 "f.txt:1: include filter for \"index\" is not a");
    EXPECT_PRED2(startsWith, filterError("exclude trigger t\n"),
                 "f.txt:1: exclude filter for \"trigger\" is not a");
    EXPECT_PRED2(startsWith, filterError("exclude database d\n"),
                 "f.txt:1: exclude filter for \"database\" is not a");
    EXPECT_PRED2(startsWith, filterError("exclude foreign_data srv\n"),
                 "f.txt:1: exclude filter for \"foreign data\" is not a");
    EXPECT_EQ(filterError("include foreign_data srv\n"),
              "f.txt:1: include filter for \"foreign data\" is not supported by pgsluice, which "
              "never copies the rows of foreign tables; remove the line");
    EXPECT_EQ(filterError("exclude extension postgis\n"),
              "f.txt:1: exclude filter for \"extension\" is not supported by pgsluice, which "
              "copies extensions as pg_dump's schema output has them; remove the line");
    EXPECT_PRED2(startsWith, filterError("include extension postgis\n"),
                 "f.txt:1: include filter for \"extension\" is not sup");
}

TEST(FilterFile, UnterminatedQuoteIsReportedAtTheEnd) {
    EXPECT_EQ(filterError("exclude table a\nexclude table \"open\nstill open\n"),
              "f.txt:3: unexpected end of file inside a double-quoted name; add the closing \"");
}

TEST(FilterFile, LineNumbersCountLinesInsideQuotedNames) {
    EXPECT_PRED2(startsWith, filterError("exclude table_data \"a\nb\"\nbogus table x\n"),
                 "f.txt:3: ");
}

TEST(FilterFile, BadPatternsNameTheLine) {
    EXPECT_EQ(filterError("exclude table ok\nexclude table_data a+b\n"),
              "f.txt:2: pattern \"a+b\": \"+\" is a regular-expression character there, which "
              "pgsluice does not support in patterns (only * and ?); to match it literally, put "
              "the name in double quotes, e.g. '\"a+b\"'");
    EXPECT_PRED2(
        startsWith, filterError("include schema db.app\n"),
        "f.txt:1: pattern \"db.app\": cross-database references are not implemented (pg_d");
    EXPECT_PRED2(
        startsWith, filterError("include table a.b.c.d\n"),
        "f.txt:1: pattern \"a.b.c.d\": improper relation name (too many dotted names); wri");
}

TEST(FilterFile, NulBytesAreRefused) {
    EXPECT_EQ(filterError(std::string("exclude table a\0b\n", 18)),
              "f.txt:1: the line contains a NUL byte; a filter file is plain text");
}

TEST(FilterFile, OptionsAreUnchangedWhenAFileIsBad) {
    SelectionOptions options;
    options.exclude_tables = {"kept"};
    std::istringstream input("exclude table added\nexclude nonsense x\n");
    EXPECT_FALSE(usageError([&] { readFilter(input, "f.txt", options); }).empty());
    EXPECT_EQ(options.exclude_tables, Strings{"kept"});
}

TEST(FilterFile, LoadsFromDisk) {
    const std::string path = ::testing::TempDir() + "pgsluice_filter_test.txt";
    {
        std::ofstream file(path);
        file << "exclude table_data public.emails\n";
    }
    SelectionOptions options;
    loadFilterFile(path, options);
    EXPECT_EQ(options.exclude_table_data, Strings{"public.emails"});

    {
        std::ofstream file(path);
        file << "\nexclude nope x\n";
    }
    EXPECT_EQ(usageError([&] { loadFilterFile(path, options); }).substr(0, path.size() + 3),
              path + ":2:");
    std::remove(path.c_str());

    EXPECT_EQ(usageError([&] { loadFilterFile(path, options); }),
              "could not open filter file \"" + path +
                  "\": No such file or directory; check the --filter path");
}

// ---------------------------------------------------------------------------------------------
// Selection

TEST(Selection, WithoutOptionsEverythingOutsideSystemSchemasIsCopied) {
    Selection selection(SelectionOptions{});
    EXPECT_TRUE(selection.includesEverything());
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("pg_catalog", "pg_class", true)), Decision::skip);
    EXPECT_EQ(selection.decide(rel("pg_toast", "pg_toast_1")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("information_schema", "sql_features")), Decision::skip);
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, TableIncludesSelectOnlyMatchingTables) {
    SelectionOptions options;
    options.include_tables = {"users", "app.ord*"};
    Selection selection(options);
    EXPECT_FALSE(selection.includesEverything());
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app", "users")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("public", "orders", true)), Decision::skip);
}

TEST(Selection, SchemaOptionsHaveNoEffectWhenTablesAreNamed) {
    // pg_dump docs: "The -n and -N switches have no effect when -t is used"; checked against
    // pg_dump 15 (`-n app -t foo` and `-N public -t foo` both dump public.foo).
    SelectionOptions options;
    options.include_tables = {"foo"};
    options.include_schemas = {"app"};
    options.exclude_schemas = {"public"};
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("public", "foo", true)), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::skip);
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, ExcludeTableWinsOverIncludeTable) {
    SelectionOptions options;
    options.include_tables = {"app.*"};
    options.exclude_tables = {"app.secrets"};
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app", "secrets")), Decision::skip);
}

TEST(Selection, SchemaIncludeAndExclude) {
    SelectionOptions options;
    options.include_schemas = {"app*"};
    options.exclude_schemas = {"app_secret"};
    options.exclude_tables = {"app.tmp_*"};
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app_archive", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app_secret", "keys")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("app", "tmp_1")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::skip);
    // Named explicitly, a system schema is dumped, as in pg_dump.
    SelectionOptions system;
    system.include_schemas = {"pg_catalog"};
    EXPECT_EQ(Selection(system).decide(rel("pg_catalog", "pg_class", true)),
              Decision::schema_and_data);
}

TEST(Selection, ExcludeSchemaAlone) {
    SelectionOptions options;
    options.exclude_schemas = {"audit"};
    Selection selection(options);
    EXPECT_TRUE(selection.includesEverything());
    EXPECT_EQ(selection.decide(rel("audit", "log")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);
}

TEST(Selection, ExcludeTableDataKeepsTheDefinition) {
    SelectionOptions options;
    options.exclude_table_data = {"public.emails", "post_office_*"};
    options.exclude_tables = {"public.gone"};
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("public", "emails", true)), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("public", "post_office_log", true)), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("hidden", "post_office_log")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);

    SelectionOptions both;
    both.exclude_tables = {"public.emails"};
    both.exclude_table_data = {"public.emails"};
    EXPECT_EQ(Selection(both).decide(rel("public", "emails", true)), Decision::skip);
}

TEST(Selection, PlainOptionsDoNotReachPartitions) {
    SelectionOptions options;
    options.exclude_table_data = {"public.measure"};
    options.exclude_tables = {"public.audit"};
    Selection selection(options);
    const RelationName measure = rel("public", "measure", true);
    const RelationName audit = rel("public", "audit", true);
    EXPECT_EQ(selection.decide(measure), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("parts", "measure_1"), {&measure, 1}),
              Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("public", "audit_2024", true), {&audit, 1}),
              Decision::schema_and_data);

    // -t on a partitioned table selects that table alone, as pg_dump does.
    SelectionOptions only;
    only.include_tables = {"public.measure"};
    Selection only_selection(only);
    EXPECT_EQ(only_selection.decide(measure), Decision::schema_and_data);
    EXPECT_EQ(only_selection.decide(rel("parts", "measure_1"), {&measure, 1}), Decision::skip);
}

TEST(Selection, AndChildrenOptionsFollowAncestors) {
    SelectionOptions options;
    options.exclude_table_data_and_children = {"measure"};  // unqualified: visible ancestor
    options.exclude_table_and_children = {"public.audit"};
    Selection selection(options);
    const std::vector<RelationName> measure_chain = {rel("parts", "measure_2024", false),
                                                     rel("public", "measure", true)};
    const RelationName audit = rel("public", "audit", true);
    EXPECT_EQ(selection.decide(measure_chain[1]), Decision::schema_only);
    EXPECT_EQ(selection.decide(measure_chain[0], {&measure_chain[1], 1}), Decision::schema_only);
    // A grandchild: its ancestors are its parent and grandparent.
    EXPECT_EQ(selection.decide(rel("parts", "measure_2024_01"), measure_chain),
              Decision::schema_only);
    EXPECT_EQ(selection.decide(audit), Decision::skip);
    EXPECT_EQ(selection.decide(rel("parts", "audit_1"), {&audit, 1}), Decision::skip);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);
    // An ancestor that is not visible is not matched by an unqualified pattern.
    const RelationName hidden = rel("other", "measure", false);
    EXPECT_EQ(selection.decide(rel("other", "measure_1"), {&hidden, 1}), Decision::schema_and_data);
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, TableAndChildrenIncludesDescendants) {
    SelectionOptions options;
    options.include_table_and_children = {"public.measure"};
    Selection selection(options);
    const RelationName measure = rel("public", "measure", true);
    EXPECT_EQ(selection.decide(measure), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("parts", "measure_1"), {&measure, 1}),
              Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::skip);
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, StrictNamesRefusesAnUnmatchedTablePattern) {
    SelectionOptions options;
    options.include_tables = {"users", "nomatch"};
    options.strict_names = true;
    Selection selection(options);
    selection.decide(rel("public", "users", true));
    EXPECT_EQ(selection.unmatchedIncludePatterns(), Strings{"nomatch"});
    EXPECT_EQ(usageError([&] { selection.checkMatches(); }),
              "no matching tables were found for pattern \"nomatch\" (--table with "
              "--strict-names); check the spelling, write schema.table (an unqualified name only "
              "matches tables visible in the source's default search_path), and quote "
              "mixed-case names as '\"Name\"', or drop --strict-names");
}

TEST(Selection, StrictNamesRefusesAnUnmatchedSchemaPatternFirst) {
    SelectionOptions options;
    options.include_tables = {"nomatch_table"};
    options.include_schemas = {"app", "nomatch"};
    options.strict_names = true;
    Selection selection(options);
    selection.decide(rel("app", "orders"));
    EXPECT_EQ(selection.unmatchedIncludePatterns(), (Strings{"nomatch_table", "nomatch"}));
    EXPECT_EQ(usageError([&] { selection.checkMatches(); }),
              "no matching schemas were found for pattern \"nomatch\" (--schema with "
              "--strict-names); check the spelling and quote mixed-case names as '\"Name\"', or "
              "drop --strict-names");
}

TEST(Selection, SchemaPatternsCountAsMatchedEvenWhenTablesAreNamed) {
    // pg_dump expands -n against pg_namespace even when -t makes it moot.
    SelectionOptions options;
    options.include_tables = {"public.users"};
    options.include_schemas = {"app"};
    options.strict_names = true;
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::schema_and_data);
    EXPECT_TRUE(selection.unmatchedIncludePatterns().empty());
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, EmptySchemasCountWhenNoted) {
    SelectionOptions options;
    options.include_schemas = {"empty"};
    options.strict_names = true;
    Selection selection(options);
    selection.decide(rel("public", "users", true));
    EXPECT_EQ(selection.unmatchedIncludePatterns(), Strings{"empty"});
    selection.noteSchema("empty");
    EXPECT_TRUE(selection.unmatchedIncludePatterns().empty());
    EXPECT_TRUE(selection.checkMatches().empty());
}

TEST(Selection, WithoutStrictNamesUnmatchedPatternsAreWarnings) {
    SelectionOptions options;
    options.include_tables = {"users", "nomatch"};
    options.exclude_table_data = {"public.emials"};
    options.exclude_schemas = {"gone"};
    Selection selection(options);
    selection.decide(rel("public", "users", true));
    const std::vector<UnmatchedPattern> unmatched = selection.unmatchedPatterns();
    ASSERT_EQ(unmatched.size(), 3u);
    EXPECT_EQ(unmatched[0].option, "--table");
    EXPECT_EQ(unmatched[0].pattern, "nomatch");
    EXPECT_EQ(unmatched[1].option, "--exclude-schema");
    EXPECT_EQ(unmatched[1].pattern, "gone");
    EXPECT_EQ(unmatched[2].option, "--exclude-table-data");
    EXPECT_EQ(unmatched[2].pattern, "public.emials");
    const Strings warnings = selection.checkMatches();
    ASSERT_EQ(warnings.size(), 3u);
    EXPECT_EQ(warnings[0],
              "pattern \"nomatch\" given to --table (or the matching --filter line) matched no "
              "table; check the spelling, write schema.table (an unqualified name only matches "
              "tables visible in the source's default search_path), and quote mixed-case names "
              "as '\"Name\"'");
    EXPECT_EQ(warnings[1],
              "pattern \"gone\" given to --exclude-schema (or the matching --filter line) "
              "matched no schema; check the spelling and quote mixed-case names as '\"Name\"'");
    EXPECT_EQ(warnings[2].substr(0, 72),
              "pattern \"public.emials\" given to --exclude-table-data (or the matching -");
}

TEST(Selection, StrictNamesDoesNotApplyToExcludePatterns) {
    SelectionOptions options;
    options.exclude_tables = {"nomatch"};
    options.strict_names = true;
    Selection selection(options);
    selection.decide(rel("public", "users", true));
    EXPECT_TRUE(selection.unmatchedIncludePatterns().empty());
    EXPECT_EQ(selection.checkMatches().size(), 1u);
}

TEST(Selection, NoMatchAtAllIsAnErrorEvenWithoutStrictNames) {
    // pg_dump: "no matching tables were found" / "no matching schemas were found".
    SelectionOptions tables;
    tables.include_tables = {"nomatch"};
    Selection table_selection(tables);
    table_selection.decide(rel("public", "users", true));
    EXPECT_EQ(usageError([&] { table_selection.checkMatches(); }),
              "no matching tables were found for any --table pattern; check the spelling, write "
              "schema.table (an unqualified name only matches tables visible in the source's "
              "default search_path), and quote mixed-case names as '\"Name\"'");

    SelectionOptions schemas;
    schemas.include_schemas = {"nomatch"};
    Selection schema_selection(schemas);
    schema_selection.decide(rel("public", "users", true));
    EXPECT_EQ(usageError([&] { schema_selection.checkMatches(); }),
              "no matching schemas were found for any --schema pattern; check the spelling and "
              "quote mixed-case names as '\"Name\"'");
}

TEST(Selection, AndChildrenPatternsCountOnlyDirectMatches) {
    SelectionOptions options;
    options.include_table_and_children = {"public.measure_1"};
    Selection selection(options);
    const RelationName parent = rel("public", "measure_1", true);
    // Only the child is seen; the pattern matched through an ancestor has not matched itself.
    EXPECT_EQ(selection.decide(rel("parts", "p1"), {&parent, 1}), Decision::schema_and_data);
    EXPECT_EQ(selection.unmatchedIncludePatterns(), Strings{"public.measure_1"});
    selection.decide(parent);
    EXPECT_TRUE(selection.unmatchedIncludePatterns().empty());
}

TEST(Selection, BadPatternsNameTheirOption) {
    SelectionOptions options;
    options.exclude_table_data = {"ok", "a+b"};
    EXPECT_EQ(usageError([&] { Selection selection(options); }),
              "--exclude-table-data: pattern \"a+b\": \"+\" is a regular-expression character "
              "there, which pgsluice does not support in patterns (only * and ?); to match it "
              "literally, put the name in double quotes, e.g. '\"a+b\"'");
    SelectionOptions schemas;
    schemas.exclude_schemas = {"db.app"};
    EXPECT_EQ(usageError([&] { Selection selection(schemas); }).substr(0, 33),
              "--exclude-schema: pattern \"db.app");
}

TEST(Selection, DatabaseQualifiedPatternsNeedTheDatabaseChecked) {
    SelectionOptions options;
    options.exclude_table_data = {"prod.public.emails"};
    Selection selection(options);
    EXPECT_THROW(selection.decide(rel("public", "emails", true)), std::logic_error);
    EXPECT_EQ(usageError([&] { selection.checkDatabase("staging"); }),
              "--exclude-table-data: pattern \"prod.public.emails\": cross-database references "
              "are not implemented: it names database \"prod\" but the source is database "
              "\"staging\"; drop the database part");
    selection.checkDatabase("prod");
    EXPECT_EQ(selection.decide(rel("public", "emails", true)), Decision::schema_only);

    Selection plain(SelectionOptions{});
    EXPECT_NO_THROW(plain.decide(rel("public", "emails", true)));
}

TEST(Selection, FilterFileAndCommandLineCombine) {
    SelectionOptions options;
    options.include_tables = {"app.*"};
    options = readString(
        "exclude table app.secrets\n"
        "exclude table_data app.emails\n",
        options);
    Selection selection(options);
    EXPECT_EQ(selection.decide(rel("app", "orders")), Decision::schema_and_data);
    EXPECT_EQ(selection.decide(rel("app", "secrets")), Decision::skip);
    EXPECT_EQ(selection.decide(rel("app", "emails")), Decision::schema_only);
    EXPECT_EQ(selection.decide(rel("public", "users", true)), Decision::skip);
}

}  // namespace
}  // namespace pgsluice::filter
