// Unit tests of the PostgreSQL helpers that need no server: identifier quoting and parsing, and
// which database a conninfo names.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "pgsluice/error.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/identifier.hpp"
#include "test_support.hpp"

namespace pgsluice::pg {
namespace {

// Sets (or unsets, with nullopt) an environment variable for the scope's duration and puts the
// old value back afterwards.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        if (value) {
            ::setenv(name, value->c_str(), 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

// --- quoteIdentifier / qualifiedName ---------------------------------------------------------

TEST(PgQuoteIdentifier, AlwaysQuotes) {
    EXPECT_EQ(quoteIdentifier("users"), "\"users\"");
    EXPECT_EQ(quoteIdentifier("Users"), "\"Users\"");
    EXPECT_EQ(quoteIdentifier("select"), "\"select\"");
    EXPECT_EQ(quoteIdentifier("my table.x"), "\"my table.x\"");
}

TEST(PgQuoteIdentifier, DoublesEmbeddedQuotes) {
    EXPECT_EQ(quoteIdentifier("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(quoteIdentifier("\""), "\"\"\"\"");
    EXPECT_EQ(quoteIdentifier("\"\"x\""), "\"\"\"\"\"x\"\"\"");
}

TEST(PgQuoteIdentifier, EmptyNameIsTwoQuotes) {
    EXPECT_EQ(quoteIdentifier(""), "\"\"");
}

TEST(PgQuoteIdentifier, KeepsUtf8BytesAsTheyAre) {
    EXPECT_EQ(quoteIdentifier("zoë"), "\"zoë\"");
    EXPECT_EQ(quoteIdentifier("表\"名"), "\"表\"\"名\"");
    EXPECT_EQ(quoteIdentifier("🙂"), "\"🙂\"");
}

TEST(PgQuoteIdentifier, KeepsEmbeddedNulAndControlBytes) {
    const std::string name("a\0b\n", 4);
    EXPECT_EQ(quoteIdentifier(name), "\"" + name + "\"");
}

TEST(PgQualifiedName, QuotesBothParts) {
    EXPECT_EQ(qualifiedName("public", "users"), "\"public\".\"users\"");
    EXPECT_EQ(qualifiedName("My Schema", "t\"x"), "\"My Schema\".\"t\"\"x\"");
    EXPECT_EQ(qualifiedName("", ""), "\"\".\"\"");
}

// --- takeQuotedIdentifier --------------------------------------------------------------------

TEST(PgTakeQuotedIdentifier, RoundTripsQuoteIdentifier) {
    for (std::string name : {"users", "", "a\"b", "\"", "\"\"", "x\"\"y\"", "zoë", "表\"名",
                             "with space", "dot.inside", "end\""}) {
        const std::string quoted = quoteIdentifier(name);
        std::string_view text = quoted;
        std::optional<std::string> taken = takeQuotedIdentifier(text);
        ASSERT_TRUE(taken) << quoted;
        EXPECT_EQ(*taken, name) << quoted;
        EXPECT_TRUE(text.empty()) << quoted << " left " << text;
    }
}

TEST(PgTakeQuotedIdentifier, TakesOnlyTheFirstIdentifier) {
    const std::string qualified = qualifiedName("my\"schema", "t");
    std::string_view text = qualified;
    EXPECT_EQ(takeQuotedIdentifier(text), "my\"schema");
    EXPECT_EQ(text, ".\"t\"");
    text.remove_prefix(1);
    EXPECT_EQ(takeQuotedIdentifier(text), "t");
    EXPECT_EQ(text, "");

    std::string_view rest = "\"a\" AND more";
    EXPECT_EQ(takeQuotedIdentifier(rest), "a");
    EXPECT_EQ(rest, " AND more");
}

TEST(PgTakeQuotedIdentifier, DoubledQuotesAreOneQuote) {
    std::string_view text = "\"say \"\"hi\"\"\"!";
    EXPECT_EQ(takeQuotedIdentifier(text), "say \"hi\"");
    EXPECT_EQ(text, "!");
    // "" alone is the empty identifier; """" is one quote.
    std::string_view empty = "\"\"";
    EXPECT_EQ(takeQuotedIdentifier(empty), "");
    EXPECT_EQ(empty, "");
    std::string_view quote = "\"\"\"\"x";
    EXPECT_EQ(takeQuotedIdentifier(quote), "\"");
    EXPECT_EQ(quote, "x");
}

TEST(PgTakeQuotedIdentifier, IncompleteInputIsLeftUnchanged) {
    for (std::string_view original : {"\"", "\"abc", "\"ab\"\"", "\"ab\"\"cd", "\"\"\"", "\"zoë"}) {
        std::string_view text = original;
        EXPECT_EQ(takeQuotedIdentifier(text), std::nullopt) << original;
        EXPECT_EQ(text, original);
        EXPECT_EQ(text.data(), original.data()) << "the view must not move";
    }
}

TEST(PgTakeQuotedIdentifier, TextNotStartingWithAQuoteIsLeftUnchanged) {
    for (std::string_view original : {"", "abc", " \"abc\"", "abc\"def\"", "."}) {
        std::string_view text = original;
        EXPECT_EQ(takeQuotedIdentifier(text), std::nullopt) << original;
        EXPECT_EQ(text, original);
    }
}

// --- databaseNamed ---------------------------------------------------------------------------

TEST(PgDatabaseNamed, TakesDbnameFromKeyValueConninfo) {
    ScopedEnv env("PGDATABASE", "from_env");
    EXPECT_EQ(databaseNamed("host=localhost dbname=shop port=5432", "alice"), "shop");
    EXPECT_EQ(databaseNamed("dbname='my db' host=h", "alice"), "my db");
    EXPECT_EQ(databaseNamed("dbname = spaced", "alice"), "spaced");
}

TEST(PgDatabaseNamed, TakesDbnameFromAUri) {
    ScopedEnv env("PGDATABASE", "from_env");
    EXPECT_EQ(databaseNamed("postgresql://bob@db.example.org:5433/shop?sslmode=disable", "alice"),
              "shop");
    EXPECT_EQ(databaseNamed("postgres:///local", "alice"), "local");
    EXPECT_EQ(databaseNamed("postgresql://h/my%20db", "alice"), "my db");
    EXPECT_EQ(databaseNamed("postgresql://h/ignored?dbname=override", "alice"), "override");
}

TEST(PgDatabaseNamed, FallsBackToPgdatabase) {
    ScopedEnv env("PGDATABASE", "from_env");
    EXPECT_EQ(databaseNamed("host=localhost", "alice"), "from_env");
    EXPECT_EQ(databaseNamed("", "alice"), "from_env");
    EXPECT_EQ(databaseNamed("postgresql://h:5432", "alice"), "from_env");
    EXPECT_EQ(databaseNamed("dbname=", "alice"), "from_env");
}

TEST(PgDatabaseNamed, FallsBackToTheUserWithoutPgdatabase) {
    {
        ScopedEnv env("PGDATABASE", std::nullopt);
        EXPECT_EQ(databaseNamed("host=localhost", "alice"), "alice");
        EXPECT_EQ(databaseNamed("postgresql://bob@h", "alice"), "alice")
            << "the user to fall back to is the caller's (the session's), not the URI's";
    }
    {
        ScopedEnv env("PGDATABASE", "");
        EXPECT_EQ(databaseNamed("host=localhost", "alice"), "alice")
            << "an empty PGDATABASE counts as unset";
    }
}

// A service file with `text`, removed at the end of the scope; PGSERVICEFILE points at it.
class ScopedServiceFile {
  public:
    explicit ScopedServiceFile(const std::string& text)
        : path_(std::filesystem::temp_directory_path() /
                ("pgsluice-unit-services-" + std::to_string(::getpid()))),
          env_("PGSERVICEFILE", path_.string()) {
        std::ofstream(path_) << text;
    }
    ~ScopedServiceFile() { std::filesystem::remove(path_); }

  private:
    std::filesystem::path path_;
    ScopedEnv env_;
};

TEST(PgDatabaseNamed, TakesDbnameFromTheServiceFile) {
    // Port 1 on the loopback: nothing listens, and the name is resolved without a server.
    ScopedServiceFile services(
        "[staging]\nhost=127.0.0.1\nport=1\ndbname=app\n"
        "[nodb]\nhost=127.0.0.1\nport=1\n");
    ScopedEnv env("PGDATABASE", "from_env");
    EXPECT_EQ(databaseNamed("service=staging", "alice"), "app")
        << "--swap must replace the service's database, not PGDATABASE or the user's";
    EXPECT_EQ(databaseNamed("service=staging dbname=other", "alice"), "other");
    {
        ScopedEnv service("PGSERVICE", "staging");
        EXPECT_EQ(databaseNamed("host=127.0.0.1 port=1", "alice"), "app");
    }
    EXPECT_EQ(databaseNamed("service=nodb", "alice"), "from_env");
}

TEST(PgDatabaseNamed, UnparsableConninfoIsAUsageError) {
    ScopedEnv env("PGDATABASE", "from_env");
    for (const std::string conninfo :
         {"nonsense", "host='unterminated", "nosuchoption=1", "postgresql://h/db?nosuch=1"}) {
        try {
            std::string db = databaseNamed(conninfo, "alice");
            ADD_FAILURE() << conninfo << " gave " << db;
        } catch (const UsageError& e) {
            EXPECT_EQ(e.code(), ExitCode::usage);
            EXPECT_TRUE(std::string(e.what()).starts_with("--target: ")) << e.what();
            EXPECT_GT(std::string(e.what()).size(), std::string("--target: ").size());
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos)
                << "libpq's message is trimmed: " << e.what();
        }
    }
}

TEST(PgDatabaseNamed, UnparsableConninfoMessageIsLibpqs) {
    try {
        databaseNamed("nonsense", "alice");
        FAIL() << "no error";
    } catch (const UsageError& e) {
        EXPECT_CONTAINS(std::string(e.what()), "\"nonsense\"");
    }
}

}  // namespace
}  // namespace pgsluice::pg
