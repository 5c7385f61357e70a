// Selection options (pg_dump patterns, filter files) and `pgsluice plan` against real servers.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

// A small app-shaped database: users referenced by payments, a big e-mail table, logs.
std::string appDatabase(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    source().createDatabase(db);
    source().exec(db,
                  "CREATE SCHEMA audit;"
                  "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);"
                  "INSERT INTO users SELECT i, 'u' || i || '@example.org' FROM "
                  "generate_series(1, 500) i;"
                  "CREATE TABLE payments (id int PRIMARY KEY, user_id int REFERENCES users(id));"
                  "INSERT INTO payments SELECT i, i % 500 + 1 FROM generate_series(1, 1000) i;"
                  "CREATE TABLE post_office_email (id int PRIMARY KEY, body text);"
                  "CREATE INDEX post_office_email_body ON post_office_email (body);"
                  "INSERT INTO post_office_email SELECT i, repeat('b', 200) FROM "
                  "generate_series(1, 2000) i;"
                  "CREATE TABLE post_office_log (id int, email_id int REFERENCES "
                  "post_office_email(id));"
                  "INSERT INTO post_office_log SELECT i, i FROM generate_series(1, 100) i;"
                  "CREATE TABLE audit.trail (id int, what text);"
                  "INSERT INTO audit.trail VALUES (1, 'x');"
                  "CREATE TABLE \"Mixed\" (a int); INSERT INTO \"Mixed\" VALUES (7);");
    return db;
}

RunResult copy(const std::string& src, const std::string& dst, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "copy",       "--source", source().conninfo(src), "--target", target().conninfo(dst),
        "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args);
}

TEST(Selection, ExcludedDataKeepsTableAndIndexesWithoutRows) {
    std::string src = appDatabase("exdata");
    std::string dst = emptyTarget("exdata");
    RunResult r = copy(src, dst, {"--exclude-table-data", "public.post_office_*", "-T", "audit.*"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM post_office_email"), "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM post_office_log"), "0");
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM pg_indexes WHERE tablename = "
                              "'post_office_email'"),
              "2");
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM pg_constraint WHERE conname = "
                              "'post_office_log_email_id_fkey'"),
              "1");
    EXPECT_EQ(target().scalar(dst, "SELECT to_regclass('audit.trail') IS NULL"), "t");
    // Kept tables are identical.
    DigestMap expected = tableDigests(source(), src);
    DigestMap actual = tableDigests(target(), dst);
    for (const char* kept : {"public.users", "public.payments", "public.\"Mixed\""}) {
        ASSERT_TRUE(expected.count(kept) && actual.count(kept)) << kept;
        EXPECT_EQ(expected[kept], actual[kept]) << kept;
    }
}

TEST(Selection, DanglingForeignKeyStopsBeforeTheTargetIsTouched) {
    std::string src = appDatabase("dangling");
    std::string dst = emptyTarget("dangling");
    std::string before = schemaDump(target(), dst);
    RunResult r = copy(src, dst, {"--exclude-table-data", "users"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("payments_user_id_fkey"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--drop-dangling-foreign-keys"), std::string::npos) << r;
    EXPECT_EQ(schemaDump(target(), dst), before);

    r = copy(src, dst, {"--exclude-table-data", "users", "--drop-dangling-foreign-keys"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("warning: leaving out foreign key payments_user_id_fkey"),
              std::string::npos)
        << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM payments"), "1000");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM users"), "0");
}

TEST(Selection, FilterFileAndQuotedNames) {
    std::string src = appDatabase("filterfile");
    std::string dst = emptyTarget("filterfile");
    std::string file = (target().dir() / (dst + ".filter")).string();
    std::ofstream(file) << "# staging refresh\n"
                           "exclude table_data post_office_*\n"
                           "exclude schema audit\n"
                           "exclude table \"Mixed\"\n";
    RunResult r = copy(src, dst, {"--filter", file});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM post_office_email"), "0");
    EXPECT_EQ(target().scalar(dst, "SELECT to_regclass('public.\"Mixed\"') IS NULL"), "t");
    EXPECT_EQ(target().scalar(dst, "SELECT to_regnamespace('audit') IS NULL"), "t");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM users"), "500");

    std::ofstream(file) << "exclude table_data post_office_*\ninclude table_data users\n";
    r = copy(src, emptyTarget("filterbad"), {"--filter", file});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find(file + ":2:"), std::string::npos) << r;
}

TEST(Selection, OnlyNamedTablesWithStrictNames) {
    std::string src = appDatabase("strict");
    RunResult r =
        copy(src, emptyTarget("strict"), {"-t", "users", "-t", "nosuch", "--strict-names"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r;

    std::string dst = emptyTarget("onlyusers");
    r = copy(src, dst, {"-t", "users", "-t", "nosuch"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("nosuch"), std::string::npos) << "a warning names the pattern: " << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM users"), "500");
    EXPECT_EQ(target().scalar(dst, "SELECT to_regclass('public.payments') IS NULL"), "t");
}

TEST(Plan, SaysWhatACopyWouldDoTableByTable) {
    std::string src = appDatabase("plan");
    RunResult r = runPgsluice({"plan", "--source", source().conninfo(src), "--format", "json",
                               "--exclude-table-data", "post_office_*", "-N", "audit",
                               "--split-tables-larger-than", "64kB"});
    ASSERT_EQ(r.exit_code, 0) << r;
    nlohmann::json j = nlohmann::json::parse(r.out);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& t : j["tables"]) {
        by_name[t["table"].get<std::string>()] = t;
    }
    EXPECT_EQ(by_name["public.users"]["action"], "copy");
    EXPECT_EQ(by_name["public.post_office_email"]["action"], "schema only");
    EXPECT_EQ(by_name["audit.trail"]["action"], "left out") << r.out;
    EXPECT_GT(by_name["public.payments"]["bytes"].get<long long>(), 0);
    EXPECT_GE(by_name["public.users"]["parts"].get<int>(), 1);
    EXPECT_EQ(j["total"]["tables_schema_only"].get<int>(), 2);

    r = runPgsluice({"plan", "--source", source().conninfo(src)});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.out.find("public.post_office_email"), std::string::npos) << r;
}

}  // namespace
}  // namespace pgsluice::integration
