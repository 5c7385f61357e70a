// Which pg_dump and pg_restore a run uses (--pg-bin, PGSLUICE_PG_BIN), and --create for a target
// database that does not exist yet.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

namespace fs = std::filesystem;

// A scratch directory of this test's own, removed at the end.
class Scratch {
  public:
    Scratch() : path_(fs::temp_directory_path() / ("pgsluice-it-" + uniqueDatabaseName("pgbin"))) {
        fs::create_directories(path_);
    }
    ~Scratch() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    fs::path operator/(const std::string& name) const { return path_ / name; }

  private:
    fs::path path_;
};

// A directory of a pg_dump and a pg_restore that say they are `version` and do nothing else.
std::string fakeTools(const Scratch& scratch, const std::string& version) {
    fs::path dir = scratch / ("fake-" + version);
    fs::create_directories(dir);
    for (const char* name : {"pg_dump", "pg_restore"}) {
        std::ofstream(dir / name) << "#!/bin/sh\necho '" << name << " (PostgreSQL) " << version
                                  << "'\n";
        fs::permissions(dir / name, fs::perms::owner_all);
    }
    return dir.string();
}

std::string sourceWithRows(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    source().createDatabase(db);
    source().exec(db,
                  "CREATE TABLE t (a int PRIMARY KEY, b text);"
                  "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 500) g");
    return db;
}

RunResult copy(const std::string& src_db, const std::string& target_conninfo,
               std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"copy",     "--source",      source().conninfo(src_db),
                                     "--target", target_conninfo, "--progress",
                                     "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args, env);
}

bool targetHas(const std::string& db) {
    return target().scalar("postgres",
                           "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "1";
}

TEST(PgBin, APgDumpOlderThanTheSourceIsRefusedBeforeAnythingMoves) {
    Scratch scratch;
    std::string old = fakeTools(scratch, "9.6.24");
    std::string src = sourceWithRows("pgbinold");
    std::string major =
        source().scalar("postgres", "SELECT current_setting('server_version_num')::int / 10000");
    std::string live = liveTarget("pgbinold");
    RunResult r = copy(src, target().conninfo(live), {"--pg-bin", old, "--clean", "--yes"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("pg_dump and pg_restore " + major + " or newer are needed"),
              std::string::npos)
        << r;
    EXPECT_NE(r.err.find("postgresql-client-" + major), std::string::npos) << r;
    EXPECT_NE(r.err.find("pg_dump 9.6.24"), std::string::npos) << r;
    EXPECT_NE(r.err.find("The target was not changed"), std::string::npos) << r;
    EXPECT_EQ(target().scalar(live, "SELECT count(*) FROM old_data"), "2");
    EXPECT_EQ(target().scalar(live, "SELECT count(*) FROM pg_class WHERE relname = 't'"), "0");

    // The environment variable does the same; dump writes no archive.
    fs::path archive = scratch / "a.sluice";
    r = runPgsluice(
        {"dump", "--source", source().conninfo(src), "-f", archive.string(), "--progress", "none"},
        {{"PGSLUICE_PG_BIN", old}});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("postgresql-client-" + major), std::string::npos) << r;
    EXPECT_FALSE(fs::exists(archive)) << r;

    // restore checks pg_restore against the server the archive came from.
    r = runPgsluice(
        {"dump", "--source", source().conninfo(src), "-f", archive.string(), "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r;
    r = runPgsluice({"restore", "-f", archive.string(), "--target", target().conninfo(live),
                     "--clean", "--yes", "--progress", "none", "--pg-bin", old});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("the archive was dumped from PostgreSQL"), std::string::npos) << r;
    EXPECT_EQ(target().scalar(live, "SELECT count(*) FROM old_data"), "2");
}

TEST(PgBin, TheToolsUsedAreSaidWithVerboseAndInTheReport) {
    Scratch scratch;
    std::string src = sourceWithRows("pgbinrep");
    std::string dst = emptyTarget("pgbinrep");
    fs::path report = scratch / "report.json";
    std::string bin = pgBinDir().string();
    RunResult r = copy(src, target().conninfo(dst), {"-v", "--report", report.string()},
                       {{"PGSLUICE_PG_BIN", bin}});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("using pg_dump and pg_restore"), std::string::npos) << r;
    EXPECT_NE(r.err.find(bin + "/pg_dump, from PGSLUICE_PG_BIN"), std::string::npos) << r;
    std::ifstream in(report);
    nlohmann::json j = nlohmann::json::parse(in);
    EXPECT_EQ(j["pg_dump"]["path"], bin + "/pg_dump") << j.dump(2);
    EXPECT_EQ(j["pg_restore"]["path"], bin + "/pg_restore") << j.dump(2);
    std::string major =
        source().scalar("postgres", "SELECT current_setting('server_version_num')::int / 10000");
    EXPECT_EQ(j["pg_dump"]["version"].get<std::string>().rfind(major + ".", 0), 0u) << j.dump(2);
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM t"), "500");
}

// A source database in LATIN1 with the C locale, unlike the clusters' default.
std::string latin1Source(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    source().exec("postgres",
                  "CREATE DATABASE " + db +
                      " TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
    source().exec(db,
                  "CREATE TABLE t (a int PRIMARY KEY, b text);"
                  "INSERT INTO t SELECT g, 'caf' || chr(233) || g FROM generate_series(1, 300) g");
    return db;
}

std::string encodingOf(const std::string& db) {
    return target().scalar("postgres",
                           "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || "
                           "datctype || ' ' || pg_get_userbyid(datdba) FROM pg_database "
                           "WHERE datname = '" +
                               db + "'");
}

TEST(Create, CopyCreatesAMissingDatabaseWithTheSourcesEncoding) {
    std::string src = latin1Source("createsrc");
    std::string dst = uniqueDatabaseName("created");
    ASSERT_FALSE(targetHas(dst));
    RunResult r = copy(src, target().conninfo(dst), {"--create"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(encodingOf(dst), "LATIN1 C C postgres");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM t WHERE b LIKE 'caf' || chr(233) || '%'"),
              "300");
}

TEST(Create, WithoutCreateTheMessageNamesCreateAndSwap) {
    std::string src = sourceWithRows("nocreate");
    std::string dst = uniqueDatabaseName("missing");
    RunResult r = copy(src, target().conninfo(dst));
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("\"" + dst + "\" does not exist"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--create"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--swap"), std::string::npos) << r;
    EXPECT_FALSE(targetHas(dst));
}

TEST(Create, AProtectedNameIsRefusedBeforeItIsCreated) {
    std::string src = sourceWithRows("createprot");
    std::string dst = "app_prod_" + uniqueDatabaseName("c");
    RunResult r = copy(src, target().conninfo(dst), {"--create"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("protected pattern"), std::string::npos) << r;
    EXPECT_FALSE(targetHas(dst));
}

TEST(Create, RestoreCreatesTheDatabaseWithTheArchivedEncoding) {
    Scratch scratch;
    std::string src = latin1Source("restcreate");
    fs::path archive = scratch / "a.sluice";
    RunResult r = runPgsluice(
        {"dump", "--source", source().conninfo(src), "-f", archive.string(), "--progress", "none"});
    ASSERT_EQ(r.exit_code, 0) << r;
    std::string dst = uniqueDatabaseName("restored");
    r = runPgsluice({"restore", "-f", archive.string(), "--target", target().conninfo(dst),
                     "--progress", "none"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("--create"), std::string::npos) << r;
    r = runPgsluice({"restore", "-f", archive.string(), "--target", target().conninfo(dst),
                     "--progress", "plain", "--create"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("--create: created database " + dst + " with encoding LATIN1"),
              std::string::npos)
        << r;
    EXPECT_EQ(encodingOf(dst), "LATIN1 C C postgres");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM t"), "300");
}

TEST(Create, AnExistingEmptyDatabaseJustLoads) {
    std::string src = sourceWithRows("createexisting");
    std::string dst = emptyTarget("createexisting");
    RunResult r = copy(src, target().conninfo(dst), {"--create"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM t"), "500");
    // and a non-empty one is refused as without --create
    r = copy(src, target().conninfo(dst), {"--create"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r;
}

}  // namespace
}  // namespace pgsluice::integration
