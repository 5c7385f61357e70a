// Databases nobody here designed: tables without columns, servers and databases configured
// against us, a rules file written for more tables than a run copies.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

// Runs pgsluice with `args`, expecting success.
void expectOk(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
    RunResult r = runPgsluice(args, std::move(env));
    ASSERT_EQ(r.exit_code, 0) << r;
}

// --- tables without columns -------------------------------------------------------------------

// Zero-column tables with and without rows, a table whose every column was dropped (its rows
// stay), a zero-column inheritance parent with a child that has columns, a partition whose
// non-key columns were dropped.
constexpr const char* kZeroColumns = R"sql(
CREATE TABLE empty_no_rows ();
CREATE TABLE empty_with_rows ();
INSERT INTO empty_with_rows DEFAULT VALUES;
INSERT INTO empty_with_rows DEFAULT VALUES;
INSERT INTO empty_with_rows DEFAULT VALUES;
CREATE TABLE all_dropped (a int, b text);
INSERT INTO all_dropped SELECT i, 'x' FROM generate_series(1, 50) i;
ALTER TABLE all_dropped DROP COLUMN a, DROP COLUMN b;
CREATE TABLE parent ();
INSERT INTO parent DEFAULT VALUES;
CREATE TABLE child (x int PRIMARY KEY, y text) INHERITS (parent);
INSERT INTO child SELECT i, 'y' || i FROM generate_series(1, 20) i;
CREATE TABLE tree (k int NOT NULL, v text) PARTITION BY LIST (k);
CREATE TABLE tree_1 PARTITION OF tree FOR VALUES IN (1);
CREATE TABLE tree_2 PARTITION OF tree FOR VALUES IN (2);
INSERT INTO tree SELECT 1 + i % 2, 'v' FROM generate_series(1, 40) i;
ALTER TABLE tree DROP COLUMN v;
)sql";

TEST(Hostile, TablesWithoutColumnsMoveWithTheirRows) {
    std::string src = uniqueDatabaseName("zerocols");
    source().createDatabase(src);
    source().exec(src, kZeroColumns);

    std::string copied = emptyTarget("zerocols_copy");
    expectOk({"copy", "--source", source().conninfo(src), "--target", target().conninfo(copied),
              "-j", "2", "--progress", "none", "--verify"});
    EXPECT_TRUE(sameDatabase(source(), src, target(), copied));
    EXPECT_EQ(target().scalar(copied, "SELECT count(*) FROM all_dropped"), "50");
    EXPECT_EQ(target().scalar(copied, "SELECT count(*) FROM ONLY parent"), "1");

    // The same through an archive, read from a file and from a pipe.
    std::string archive = (std::filesystem::temp_directory_path() / (src + ".sluice")).string();
    expectOk({"dump", "--source", source().conninfo(src), "-f", archive, "--progress", "none",
              "--split-tables-larger-than", "1kB"});
    std::string restored = emptyTarget("zerocols_file");
    expectOk({"restore", "--target", target().conninfo(restored), "-f", archive, "--progress",
              "none", "--verify"});
    EXPECT_TRUE(sameDatabase(source(), src, target(), restored));
    std::string piped = emptyTarget("zerocols_pipe");
    ProcessOptions from_file;
    from_file.stdin_path = archive;
    std::vector<std::string> argv = {
        pgsluiceBinary(), "restore", "--target", target().conninfo(piped), "-f", "-",
        "--progress",     "none"};
    RunResult r = runProcess(argv, from_file);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), piped));
    std::filesystem::remove(archive);

    RunResult verify = runPgsluice(
        {"verify", "--source", source().conninfo(src), "--target", target().conninfo(copied)});
    EXPECT_EQ(verify.exit_code, 0) << verify;
}

// --- settings ---------------------------------------------------------------------------------

// Both servers configured unlike each other and unlike pg_dump's defaults, and both databases
// carrying the timeouts a DBA sets on production.
class HostileSettings : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ClusterOptions src;
        src.settings = {"DateStyle = 'SQL, DMY'", "TimeZone = 'Pacific/Chatham'",
                        "IntervalStyle = 'sql_standard'", "extra_float_digits = 0"};
        ClusterOptions dst;
        dst.settings = {"DateStyle = 'German, MDY'", "TimeZone = 'America/St_Johns'",
                        "IntervalStyle = 'iso_8601'", "extra_float_digits = 0"};
        dst.next_oid = 400000;
        source_ = std::make_unique<TestCluster>("odd-source", src);
        target_ = std::make_unique<TestCluster>("odd-target", dst);
    }
    static void TearDownTestSuite() {
        source_.reset();
        target_.reset();
    }

    static std::unique_ptr<TestCluster> source_;
    static std::unique_ptr<TestCluster> target_;
};

std::unique_ptr<TestCluster> HostileSettings::source_;
std::unique_ptr<TestCluster> HostileSettings::target_;

// Timeouts short enough that every pgsluice session would trip them if it did not lift them.
void setTimeouts(const TestCluster& cluster, const std::string& db) {
    std::string sql;
    for (const char* setting :
         {"statement_timeout = '50ms'", "lock_timeout = '50ms'",
          "idle_in_transaction_session_timeout = '100ms'", "idle_session_timeout = '2s'"}) {
        sql += "ALTER DATABASE " + db + " SET " + setting + ";";
    }
    cluster.exec("postgres", sql);
}

void resetTimeouts(const TestCluster& cluster, const std::string& db) {
    cluster.exec("postgres", "ALTER DATABASE " + db + " RESET ALL");
}

TEST_F(HostileSettings, DatesIntervalsFloatsAndTimeoutsSurviveTheCopy) {
    std::string db = uniqueDatabaseName("odd");
    source_->createDatabase(db);
    // An enum array makes the table move as COPY text, where the session's settings shape the
    // values; the second table moves as COPY BINARY. Enough rows that a statement takes longer
    // than the 50 ms timeout.
    source_->exec(db, R"sql(
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE texty (id int PRIMARY KEY, moods mood[], at timestamptz, d date,
                            gap interval, f8 float8, f4 float4, n numeric);
        INSERT INTO texty
        SELECT i, ARRAY['ok', 'happy']::mood[],
               timestamptz '2020-03-29 15:32:00+13:45' + i * interval '37 minutes 11.5 seconds',
               date '2020-02-29' + i, make_interval(years => i % 3, days => i, secs => i / 7.0),
               pi() * i / 3, (pi() / 7 * i)::float4, i / 3.0
        FROM generate_series(1, 60000) i;
        CREATE TABLE binary_rows (id int PRIMARY KEY, at timestamptz, f8 float8);
        INSERT INTO binary_rows SELECT i, now() - i * interval '1 second', 1.0 / i
        FROM generate_series(1, 60000) i;
    )sql");
    std::string dst = uniqueDatabaseName("odd_dst");
    target_->createDatabase(dst);
    setTimeouts(*source_, db);
    setTimeouts(*target_, dst);

    RunResult r = runPgsluice({"copy", "--source", source_->conninfo(db), "--target",
                               target_->conninfo(dst), "-j", "2", "--progress", "plain"});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.out.find("text format"), std::string::npos) << "texty must move as text\n" << r;

    std::string archive = (std::filesystem::temp_directory_path() / (db + ".sluice")).string();
    RunResult d = runPgsluice(
        {"dump", "--source", source_->conninfo(db), "-f", archive, "--progress", "none"});
    EXPECT_EQ(d.exit_code, 0) << d;
    std::string restored = uniqueDatabaseName("odd_restored");
    target_->createDatabase(restored);
    setTimeouts(*target_, restored);
    RunResult rr = runPgsluice(
        {"restore", "--target", target_->conninfo(restored), "-f", archive, "--progress", "none"});
    EXPECT_EQ(rr.exit_code, 0) << rr;
    std::filesystem::remove(archive);

    // Compared under fixed settings (the digests pin their own), timeouts lifted for that.
    resetTimeouts(*source_, db);
    resetTimeouts(*target_, dst);
    resetTimeouts(*target_, restored);
    EXPECT_TRUE(sameDatabase(*source_, db, *target_, dst));
    EXPECT_TRUE(sameDatabase(*source_, db, *target_, restored));
    // extra_float_digits = 0 on both servers must not have rounded a float on the way.
    EXPECT_EQ(target_->scalar(dst,
                              "SET extra_float_digits = 3; SELECT f8::text FROM texty "
                              "WHERE id = 7"),
              source_->scalar(db,
                              "SET extra_float_digits = 3; SELECT f8::text FROM texty "
                              "WHERE id = 7"));
}

// --- a rules file with any selection ----------------------------------------------------------

TEST(Hostile, ARulesFileMayNameTablesTheSelectionLeavesOut) {
    std::string src = uniqueDatabaseName("rulesel");
    source().createDatabase(src);
    source().exec(src, R"sql(
        CREATE TABLE accounts_user (id int PRIMARY KEY, email text);
        INSERT INTO accounts_user SELECT i, 'user' || i || '@real.example' FROM generate_series(1, 20) i;
        CREATE TABLE payments_payment (id int PRIMARY KEY, card text);
        INSERT INTO payments_payment SELECT i, '4111 1111 1111 ' || i FROM generate_series(1, 20) i;
    )sql");
    TempFile rules("rules.yaml", R"(version: 1
salt_env: PGSLUICE_TEST_SALT
tables:
  public.accounts_user:
    email: email
  public.payments_payment:
    card: {set: "xxxx"}
)");
    std::map<std::string, std::string> env = {
        {"PGSLUICE_TEST_SALT", "0123456789abcdef0123456789abcdef"}};
    std::string dst = emptyTarget("rulesel");
    RunResult r = runPgsluice(
        {"copy", "--source", source().conninfo(src), "--target", target().conninfo(dst), "-t",
         "public.accounts_user", "--rules", rules.path(), "-v", "--progress", "plain"},
        env);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("public.payments_payment\" matches only tables whose rows this run does "
                         "not move"),
              std::string::npos)
        << r;
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM accounts_user WHERE email LIKE "
                              "'%@real.example'"),
              "0");
    EXPECT_EQ(target().scalar(dst, "SELECT to_regclass('public.payments_payment') IS NULL"), "t");

    // The same rules, the same selection, for plan, dump and verify.
    RunResult plan = runPgsluice({"plan", "--source", source().conninfo(src), "-t",
                                  "public.accounts_user", "--rules", rules.path()},
                                 env);
    EXPECT_EQ(plan.exit_code, 0) << plan;
    std::string archive = (std::filesystem::temp_directory_path() / (src + ".sluice")).string();
    RunResult dump =
        runPgsluice({"dump", "--source", source().conninfo(src), "-f", archive, "-t",
                     "public.accounts_user", "--rules", rules.path(), "--progress", "none"},
                    env);
    EXPECT_EQ(dump.exit_code, 0) << dump;
    std::filesystem::remove(archive);
    RunResult verify =
        runPgsluice({"verify", "--source", source().conninfo(src), "--target",
                     target().conninfo(dst), "-t", "public.accounts_user", "--rules", rules.path()},
                    env);
    EXPECT_EQ(verify.exit_code, 0) << verify;

    // A pattern that matches no table of the source at all is still the typo it looks like.
    TempFile typo("rules.yaml", R"(version: 1
salt_env: PGSLUICE_TEST_SALT
tables:
  public.acounts_user:
    email: email
)");
    std::string untouched = emptyTarget("rulesel_typo");
    RunResult bad = runPgsluice(
        {"copy", "--source", source().conninfo(src), "--target", target().conninfo(untouched), "-t",
         "public.accounts_user", "--rules", typo.path(), "--progress", "none"},
        env);
    EXPECT_EQ(bad.exit_code, 2) << bad;
    EXPECT_NE(bad.err.find("public.acounts_user\" matches no table in the source"),
              std::string::npos)
        << bad;
    EXPECT_EQ(target().scalar(untouched,
                              "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                              "ON n.oid = c.relnamespace WHERE nspname = 'public'"),
              "0");
}

// --- rows of any size ---------------------------------------------------------------------------

// md5 of every value of public.wide, one line per row; with `ruled`, the text as the rules file
// below rewrites it.
std::string wideValues(const TestCluster& cluster, const std::string& db, bool ruled = false) {
    std::string t =
        ruled ? "CASE WHEN t IS NULL THEN '-' ELSE md5('x') END" : "coalesce(md5(t), '-')";
    return cluster.scalar(db, "SELECT string_agg(concat_ws(' ', id, kind, coalesce(md5(b), '-'), " +
                                  t +
                                  ", coalesce(md5(j::text), '-'), note), E'\\n' ORDER BY id) "
                                  "FROM public.wide");
}

// A 300 MiB bytea, a 200 MiB text and a 50 MiB jsonb (the bench's generator), through copy,
// dump and restore from a file and from a pipe, and copy with a rule on the text column.
TEST(Hostile, RowsOfHundredsOfMegabytesMoveWhole) {
    std::string src = uniqueDatabaseName("wide");
    source().createDatabase(src);
    std::ifstream in(sqlDir().parent_path().parent_path().parent_path() / "scripts" / "sql" /
                     "bench_wide_rows.sql");
    std::stringstream text;
    text << in.rdbuf();
    std::string sql = text.str();
    ASSERT_NE(sql.find(":mb"), std::string::npos) << "scripts/sql/bench_wide_rows.sql not found";
    sql = std::regex_replace(sql, std::regex(R"(\\set[^\n]*\n)"), "");
    sql = std::regex_replace(sql, std::regex(":mb"), "300");
    source().exec(src, sql);
    const std::string want = wideValues(source(), src);
    const std::chrono::milliseconds slow{std::chrono::minutes(5)};

    std::string copied = emptyTarget("wide_copy");
    RunResult c = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                               target().conninfo(copied), "-j", "2", "--progress", "none"},
                              {}, slow);
    ASSERT_EQ(c.exit_code, 0) << c;
    EXPECT_EQ(wideValues(target(), copied), want);
    target().dropDatabase(copied);

    std::string archive = (std::filesystem::temp_directory_path() / (src + ".sluice")).string();
    RunResult d = runPgsluice(
        {"dump", "--source", source().conninfo(src), "-f", archive, "--progress", "none"}, {},
        slow);
    ASSERT_EQ(d.exit_code, 0) << d;
    std::string restored = emptyTarget("wide_restore");
    RunResult r = runPgsluice(
        {"restore", "--target", target().conninfo(restored), "-f", archive, "--progress", "none"},
        {}, slow);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(wideValues(target(), restored), want);
    target().dropDatabase(restored);

    std::string piped = emptyTarget("wide_pipe");
    ProcessOptions from_pipe;
    from_pipe.stdin_path = archive;
    from_pipe.timeout = slow;
    RunResult p = runProcess({pgsluiceBinary(), "restore", "--target", target().conninfo(piped),
                              "-f", "-", "-j", "2", "--progress", "none"},
                             from_pipe);
    ASSERT_EQ(p.exit_code, 0) << p;
    EXPECT_EQ(wideValues(target(), piped), want);
    target().dropDatabase(piped);
    std::filesystem::remove(archive);

    TempFile rules("rules.yaml", "version: 1\ntables:\n  public.wide:\n    t: {set: \"x\"}\n");
    std::string ruled = emptyTarget("wide_rules");
    RunResult w =
        runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                     target().conninfo(ruled), "--rules", rules.path(), "--progress", "none"},
                    {}, slow);
    ASSERT_EQ(w.exit_code, 0) << w;
    EXPECT_EQ(wideValues(target(), ruled), wideValues(source(), src, true));
    target().dropDatabase(ruled);
    source().dropDatabase(src);
}

}  // namespace
}  // namespace pgsluice::integration
