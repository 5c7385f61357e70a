// The recipes of docs/scheduling.md that can run here, against real servers: the ssh pipe and
// object storage through a pipe (cat standing in for ssh and aws), connection details from a
// service file and a password file (password auth on the target), the systemd units
// (systemd-analyze verify) and the example files' syntax (YAML, the Airflow DAG, the cron line).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// docs/examples in the source tree (PGSLUICE_TEST_SQL_DIR is tests/integration/sql).
fs::path examplesDir() {
    return sqlDir().parent_path().parent_path().parent_path() / "docs" / "examples";
}

// Runs `script` with bash -o pipefail (as the recipes say to), `pgsluice` being the binary
// under test and PATH starting with the clusters' bin dir as runPgsluice does.
RunResult runRecipe(const std::string& script, std::map<std::string, std::string> env = {}) {
    ProcessOptions options;
    const char* path = std::getenv("PATH");
    options.extra_env = std::move(env);
    options.extra_env["PATH"] = pgBinDir().string() + ":" + (path ? path : "/usr/bin:/bin");
    options.extra_env["PGSLUICE"] = pgsluiceBinary();
    return runProcess(
        {"/bin/bash", "-c", "set -euo pipefail; pgsluice() { \"$PGSLUICE\" \"$@\"; }\n" + script},
        options);
}

// A small database on the source: two related tables, a sequence, an index.
std::string smallSource(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    source().createDatabase(db);
    source().exec(db,
                  "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE);"
                  "CREATE TABLE orders (id bigserial PRIMARY KEY,"
                  " customer_id int NOT NULL REFERENCES customers, total numeric(10,2));"
                  "CREATE INDEX ON orders (customer_id);"
                  "INSERT INTO customers (email) SELECT 'user' || g || '@example.com'"
                  " FROM generate_series(1, 500) g;"
                  "INSERT INTO orders (customer_id, total) SELECT 1 + g % 500, g * 1.25"
                  " FROM generate_series(1, 3000) g;");
    return db;
}

void writeFile(const fs::path& path, const std::string& text, fs::perms perms) {
    std::ofstream(path) << text;
    fs::permissions(path, perms);
}

// `pgsluice dump -f - | ssh staging pgsluice restore -f -`, cat standing in for ssh.
TEST(Recipes, DumpThroughAPipeToRestore) {
    std::string src = smallSource("pipe");
    std::string dst = emptyTarget("pipe");
    RunResult r = runRecipe("pgsluice dump --source " + shellQuote(source().conninfo(src)) +
                            " -f - -j 2 --progress none | cat | pgsluice restore --target " +
                            shellQuote(target().conninfo(dst)) + " -f - --progress none");
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

// Object storage through a pipe: upload under a temporary name, rename when the dump succeeded
// (cat > file and mv standing in for `aws s3 cp -` and `aws s3 mv`), then stream it back.
TEST(Recipes, ArchiveInObjectStorageThroughAPipe) {
    ScratchDir bucket;
    std::string src = smallSource("bucket");
    std::string dst = emptyTarget("bucket");
    std::string object = bucket.file("nightly.sluice");
    RunResult up = runRecipe("pgsluice dump --source " + shellQuote(source().conninfo(src)) +
                             " -f - --progress none | cat > " + shellQuote(object + ".partial") +
                             "\nmv " + shellQuote(object + ".partial") + " " + shellQuote(object));
    ASSERT_EQ(up.exit_code, 0) << up;
    RunResult down = runRecipe("cat " + shellQuote(object) + " | pgsluice restore --target " +
                               shellQuote(target().conninfo(dst)) + " -f - --progress none");
    ASSERT_EQ(down.exit_code, 0) << down;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

// Why the recipe says pipefail and a temporary name: a dump that fails leaves no object under
// the real name, and the job fails.
TEST(Recipes, AFailedDumpLeavesNoObjectBehind) {
    ScratchDir bucket;
    std::string object = bucket.file("nightly.sluice");
    RunResult up =
        runRecipe("pgsluice dump --source " + shellQuote(source().conninfo("no_such_database")) +
                  " -f - --progress none | cat > " + shellQuote(object + ".partial") + "\nmv " +
                  shellQuote(object + ".partial") + " " + shellQuote(object));
    EXPECT_NE(up.exit_code, 0) << up;
    EXPECT_NE(up.err.find("no_such_database"), std::string::npos) << up;
    EXPECT_FALSE(fs::exists(object)) << "the failed upload was renamed into place";
}

// Makes `role` (a superuser with `password`) authenticate by password over TCP on the target,
// everyone else staying on trust, and waits until the server enforces it.
void requirePasswordFor(const std::string& role, const std::string& password) {
    target().exec("postgres", "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '" +
                                  role + "') THEN CREATE ROLE " + role +
                                  " LOGIN SUPERUSER; END IF; END $$;"
                                  "ALTER ROLE " +
                                  role + " PASSWORD '" + password + "'");
    fs::path hba = target().scalar("postgres", "SHOW hba_file");
    std::stringstream old;
    old << std::ifstream(hba).rdbuf();
    if (old.str().find(role) == std::string::npos) {
        std::ofstream(hba) << "host all " << role << " 127.0.0.1/32 scram-sha-256\n" << old.str();
    }
    target().exec("postgres", "SELECT pg_catalog.pg_reload_conf()");
    // The postmaster reloads asynchronously: poll until a session without a password is refused.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        ProcessOptions options;
        options.extra_env["PGPASSFILE"] = "/nonexistent";
        RunResult r = runProcess(
            {(pgBinDir() / "psql"), "-X", "-w", "-h", "127.0.0.1", "-p",
             std::to_string(target().port()), "-U", role, "-d", "postgres", "-c", "SELECT 1"},
            options);
        if (r.exit_code != 0 && r.err.find("password") != std::string::npos) {
            return;
        }
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "the target still lets " << role << " in without a password: " << r;
        std::this_thread::sleep_for(100ms);
    }
}

// Connection details from pg_service.conf and the password from a password file: nothing but
// service names on the command line, and the target only lets the role in with its password.
TEST(Recipes, ServiceFileAndPasswordFile) {
    ScratchDir dir;
    const std::string password = "recipe-Secret-4711";
    ASSERT_NO_FATAL_FAILURE(requirePasswordFor("sluice_loader", password));
    std::string src = smallSource("service");
    std::string dst = emptyTarget("service");
    writeFile(dir.file("pg_service.conf"),
              "[prod]\nhost=127.0.0.1\nport=" + std::to_string(source().port()) +
                  "\ndbname=" + src + "\nuser=postgres\n\n[staging]\nhost=127.0.0.1\nport=" +
                  std::to_string(target().port()) + "\ndbname=" + dst + "\nuser=sluice_loader\n",
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
    writeFile(
        dir.file("pgpass"),
        "127.0.0.1:" + std::to_string(target().port()) + ":*:sluice_loader:" + password + "\n",
        fs::perms::owner_read | fs::perms::owner_write);
    std::map<std::string, std::string> env = {{"PGSERVICEFILE", dir.file("pg_service.conf")},
                                              {"PGPASSFILE", dir.file("pgpass")}};
    std::vector<std::string> args = {
        "copy", "--source", "service=prod", "--target", "service=staging", "--progress", "plain"};

    // Without the password file the target refuses: the password file is what lets it in.
    auto without = env;
    without["PGPASSFILE"] = dir.file("missing");
    RunResult refused = runPgsluice(args, without);
    EXPECT_NE(refused.exit_code, 0) << refused;
    EXPECT_NE(refused.err.find("password"), std::string::npos) << refused;

    RunResult r = runPgsluice(args, env);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    EXPECT_EQ(r.out.find(password), std::string::npos) << "the password was printed";
    EXPECT_EQ(r.err.find(password), std::string::npos) << "the password was printed";
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM public.orders"), "3000");
}

// The nightly recipe: --swap onto the database the target's service names (not PGDATABASE's, not
// one named after the user), with the password from the password file.
TEST(Recipes, ServiceFileWithSwap) {
    ScratchDir dir;
    const std::string password = "recipe-Secret-4712";
    ASSERT_NO_FATAL_FAILURE(requirePasswordFor("sluice_swapper", password));
    std::string src = smallSource("swapsvc");
    std::string live = liveTarget("swapsvc");
    writeFile(dir.file("pg_service.conf"),
              "[prod]\nhost=127.0.0.1\nport=" + std::to_string(source().port()) +
                  "\ndbname=" + src + "\nuser=postgres\n\n[staging]\nhost=127.0.0.1\nport=" +
                  std::to_string(target().port()) + "\ndbname=" + live + "\nuser=sluice_swapper\n",
              fs::perms::owner_read | fs::perms::owner_write);
    writeFile(
        dir.file("pgpass"),
        "127.0.0.1:" + std::to_string(target().port()) + ":*:sluice_swapper:" + password + "\n",
        fs::perms::owner_read | fs::perms::owner_write);
    RunResult r = runPgsluice(
        {"copy", "--source", "service=prod", "--target", "service=staging", "--swap", "--progress",
         "plain"},
        {{"PGSERVICEFILE", dir.file("pg_service.conf")}, {"PGPASSFILE", dir.file("pgpass")}});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), live));
    EXPECT_EQ(target().scalar("postgres",
                              "SELECT count(*) FROM pg_database WHERE datname = 'sluice_swapper'"),
              "0")
        << "--swap made a database named after the user";
    EXPECT_EQ(databasesBeside(live), "") << "the old copy was not dropped";
}

// The systemd service and timer of docs/examples pass systemd-analyze verify (with ExecStart
// pointing at the binary under test, since verify checks that it is executable).
TEST(Recipes, SystemdUnitsVerify) {
    RunResult which = runProcess({"/bin/sh", "-c", "command -v systemd-analyze"});
    if (which.exit_code != 0) {
        GTEST_SKIP() << "systemd-analyze is not installed: the units were not verified";
    }
    ScratchDir dir;
    std::stringstream service;
    service << std::ifstream(examplesDir() / "pgsluice-refresh.service").rdbuf();
    std::string text = service.str();
    ASSERT_NE(text.find("ExecStart=/usr/bin/pgsluice copy"), std::string::npos) << text;
    text = std::regex_replace(text, std::regex("ExecStart=/usr/bin/pgsluice"),
                              "ExecStart=" + pgsluiceBinary());
    writeFile(dir.file("pgsluice-refresh.service"), text,
              fs::perms::owner_read | fs::perms::owner_write);
    fs::copy_file(examplesDir() / "pgsluice-refresh.timer", dir.file("pgsluice-refresh.timer"));
    RunResult r =
        runProcess({which.out.substr(0, which.out.find('\n')), "verify", "--man=no",
                    dir.file("pgsluice-refresh.service"), dir.file("pgsluice-refresh.timer")});
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.err, "") << r;
}

// The example YAML files parse, the Airflow DAG compiles, and the cron line has its six fields.
TEST(Recipes, ExampleFilesParse) {
    std::vector<std::string> yaml;
    for (const auto& entry : fs::directory_iterator(examplesDir())) {
        std::string ext = entry.path().extension().string();
        if (ext == ".yml" || ext == ".yaml") {
            yaml.push_back(entry.path().string());
        }
    }
    ASSERT_GE(yaml.size(), 3u) << "the CronJob, GitHub Actions and Concourse examples";

    std::stringstream cron;
    cron << std::ifstream(examplesDir() / "pgsluice.cron").rdbuf();
    std::regex entry(R"(^([^#\s]\S*\s+){5}pgsluice\s+.*pgsluice copy --source service=prod .*$)");
    int entries = 0;
    std::string line;
    while (std::getline(cron, line)) {
        entries += std::regex_match(line, entry) ? 1 : 0;
    }
    EXPECT_EQ(entries, 1) << "one cron.d entry (5 time fields, the user, the command)";

    RunResult python = runProcess({"/bin/sh", "-c", "command -v python3"});
    if (python.exit_code != 0) {
        GTEST_SKIP() << "python3 is not installed: YAML and the Airflow DAG were not checked";
    }
    RunResult compiled = runProcess(
        {"python3", "-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])",
         (examplesDir() / "airflow_refresh_staging.py")});
    EXPECT_EQ(compiled.exit_code, 0) << compiled;
    std::vector<std::string> check = {
        "python3", "-c",
        "import sys\ntry:\n    import yaml\nexcept ImportError:\n    sys.exit(77)\n"
        "for f in sys.argv[1:]:\n    yaml.safe_load(open(f))\n"};
    check.insert(check.end(), yaml.begin(), yaml.end());
    RunResult parsed = runProcess(check);
    if (parsed.exit_code == 77) {
        GTEST_SKIP() << "python3 has no yaml module: the YAML examples were not parsed";
    }
    EXPECT_EQ(parsed.exit_code, 0) << parsed;
}

}  // namespace
}  // namespace pgsluice::integration
