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
#include "pgsluice/pg/client_tools.hpp"
#include "pgsluice/pg/connection.hpp"
#include "pgsluice/pg/identifier.hpp"
#include "scoped_env.hpp"
#include "test_support.hpp"

namespace pgsluice::pg {
namespace {

using test::ScopedEnv;

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

// ---- which pg_dump and pg_restore ----

TEST(PgClientTools, ParsesWhatPgDumpVersionPrints) {
    EXPECT_EQ(parseToolVersion("pg_dump (PostgreSQL) 17.2\n"), 170002);
    EXPECT_EQ(parseToolVersion("pg_dump (PostgreSQL) 15.4 (Debian 15.4-1.pgdg120+1)\n"), 150004);
    EXPECT_EQ(parseToolVersion("pg_restore (PostgreSQL) 9.6.24\n"), 90624);
    EXPECT_EQ(parseToolVersion("pg_dump (PostgreSQL) 18beta1\n"), 180000);
    EXPECT_EQ(parseToolVersion("16.1"), 160001);
    EXPECT_EQ(parseToolVersion("cannot execute pg_dump"), 0);
    EXPECT_EQ(parseToolVersion(""), 0);
    EXPECT_EQ(majorName(170002), "17");
    EXPECT_EQ(majorName(90624), "9.6");
    EXPECT_EQ(majorVersion(150004), 15);
}

TEST(PgClientTools, TakesTheFirstCandidateAtLeastAsNewAsTheServer) {
    std::vector<ToolCandidate> candidates = {
        {"/usr/bin", "PATH", 150004, 150004},
        {"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql", 170002, 170002},
        {"/usr/lib/postgresql/16/bin", "/usr/lib/postgresql", 160003, 160003},
    };
    ClientTools for15 = chooseClientTools(candidates, 150010, "the source server is 15.10");
    EXPECT_EQ(for15.pg_dump, "/usr/bin/pg_dump");
    EXPECT_EQ(for15.pg_restore, "/usr/bin/pg_restore");
    EXPECT_EQ(for15.origin, "PATH");
    ClientTools for16 = chooseClientTools(candidates, 160000, "x");
    EXPECT_EQ(for16.pg_dump, "/usr/lib/postgresql/17/bin/pg_dump");
    EXPECT_EQ(for16.version, 170002);
    EXPECT_NE(for16.describe().find("17.2"), std::string::npos) << for16.describe();
    EXPECT_NE(for16.describe().find("/usr/lib/postgresql/17/bin/pg_dump"), std::string::npos);
    // A minor release does not matter: pg_dump 17.0 dumps a 17.4 server.
    EXPECT_EQ(chooseClientTools(candidates, 170004, "x").version, 170002);
}

TEST(PgClientTools, SkipsADirectoryWhosePgRestoreIsMissingOrOlder) {
    std::vector<ToolCandidate> candidates = {
        {"/a", "--pg-bin", 170002, 0},
        {"/b", "PATH", 170002, 160001},
        {"/c", "/usr/lib/postgresql", 170000, 170000},
    };
    EXPECT_EQ(chooseClientTools(candidates, 170000, "x").pg_dump, "/c/pg_dump");
}

TEST(PgClientTools, NoneNewEnoughNamesTheVersionAndTheDebianPackage) {
    std::vector<ToolCandidate> candidates = {
        {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql", 150004, 150004},
        {"/old", "--pg-bin", 90624, 90624},
    };
    try {
        chooseClientTools(candidates, 170002, "the source server is 17.2");
        FAIL() << "pg_dump 15 chosen for a 17 server";
    } catch (const UsageError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("pg_dump and pg_restore 17 or newer are needed"), std::string::npos) << m;
        EXPECT_NE(m.find("the source server is 17.2"), std::string::npos) << m;
        EXPECT_NE(m.find("postgresql-client-17"), std::string::npos) << m;
        EXPECT_NE(m.find("pg_dump 15.4"), std::string::npos) << m;
        EXPECT_NE(m.find("pg_dump 9.6.24"), std::string::npos) << m;
        EXPECT_NE(m.find("--pg-bin"), std::string::npos) << m;
    }
    // 9.6 orders below 10, not above it.
    EXPECT_THROW(chooseClientTools({{"/old", "--pg-bin", 90624, 90624}}, 120000, "x"), UsageError);
    EXPECT_THROW(chooseClientTools({}, 120000, "x"), UsageError);
}

// A directory of fake pg_dump and pg_restore that print `version` for --version.
void writeFakeTools(const std::filesystem::path& dir, const std::string& version) {
    std::filesystem::create_directories(dir);
    for (const char* name : {"pg_dump", "pg_restore"}) {
        std::filesystem::path path = dir / name;
        std::ofstream(path) << "#!/bin/sh\necho '" << name << " (PostgreSQL) " << version << "'\n";
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    }
}

TEST(PgClientTools, ProbesTheVersionOfRealExecutables) {
    testing::TempDir dir;
    writeFakeTools(dir.path() / "17", "17.2");
    writeFakeTools(dir.path() / "old", "9.6.24");
    ScopedEnv env("PGSLUICE_PG_BIN", std::nullopt);
    ScopedEnv older("PGSLUICE_PG_BINDIR", std::nullopt);

    std::string seventeen = (dir.path() / "17").string();
    ClientTools tools = findClientTools(seventeen, 170001, "the source server is 17.1");
    EXPECT_EQ(tools.pg_dump, seventeen + "/pg_dump");
    EXPECT_EQ(tools.version, 170002);
    EXPECT_EQ(tools.origin, "--pg-bin");

    // --pg-bin is the only candidate: an unsuitable one is an error, not a fallback.
    std::string old = (dir.path() / "old").string();
    try {
        findClientTools(old, 150004, "the source server is 15.4");
        FAIL() << "pg_dump 9.6 accepted";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("pg_dump 9.6.24"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("postgresql-client-15"), std::string::npos);
    }

    ScopedEnv from_env("PGSLUICE_PG_BIN", seventeen);
    std::vector<ToolCandidate> candidates = findToolCandidates("");
    ASSERT_EQ(candidates.size(), 1u);
    EXPECT_EQ(candidates[0].origin, "PGSLUICE_PG_BIN");
    EXPECT_EQ(candidates[0].pg_restore_version, 170002);
    // --pg-bin wins over the environment.
    EXPECT_EQ(findToolCandidates(old)[0].pg_dump_version, 90624);
}

TEST(PgClientTools, PathComesBeforeTheInstalledVersions) {
    testing::TempDir dir;
    writeFakeTools(dir.path() / "bin", "18.0");
    ScopedEnv env("PGSLUICE_PG_BIN", std::nullopt);
    ScopedEnv older("PGSLUICE_PG_BINDIR", std::nullopt);
    ScopedEnv path("PATH", (dir.path() / "nothing").string() + ":" + (dir.path() / "bin").string());
    std::vector<ToolCandidate> candidates = findToolCandidates("");
    ASSERT_FALSE(candidates.empty());
    EXPECT_EQ(candidates[0].origin, "PATH");
    EXPECT_EQ(candidates[0].dir, (dir.path() / "bin").string());
    EXPECT_EQ(candidates[0].pg_dump_version, 180000);
    for (size_t i = 1; i < candidates.size(); ++i) {
        EXPECT_EQ(candidates[i].origin, "/usr/lib/postgresql");
        if (i > 1) {
            EXPECT_GE(candidates[i - 1].pg_dump_version, candidates[i].pg_dump_version)
                << "newest first";
        }
    }
}

}  // namespace
}  // namespace pgsluice::pg
