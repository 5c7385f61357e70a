// Smoke tests of the integration harness itself: clusters, process runner, fixture and the
// comparison helpers (which must be able to fail).

#include <gtest/gtest-spi.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

using namespace std::chrono_literals;

TEST(Harness, ClustersRunAndAreDistinct) {
    auto& source = ClustersEnv::source();
    auto& target = ClustersEnv::target();
    EXPECT_NE(source.port(), target.port());
    EXPECT_EQ(source.conninfo("x"),
              "host=127.0.0.1 port=" + std::to_string(source.port()) + " user=postgres dbname=x");
    EXPECT_EQ(source.conninfo("my db"), "host=127.0.0.1 port=" + std::to_string(source.port()) +
                                            " user=postgres dbname='my db'");
    EXPECT_EQ(source.uri("my db"),
              "postgresql://postgres@127.0.0.1:" + std::to_string(source.port()) + "/my%20db");
    EXPECT_EQ(source.scalar("postgres", "SHOW fsync"), "off");
    EXPECT_EQ(source.scalar("postgres", "SHOW server_encoding"), "UTF8");
    EXPECT_EQ(source.scalar("postgres", "SELECT current_user"), "postgres");
    EXPECT_NE(target.scalar("postgres", "SELECT version()").find("PostgreSQL"), std::string::npos);
    // Two servers to pgsluice's "the target is the source" guard, even as copies of one template.
    const char* system_id = "SELECT system_identifier FROM pg_control_system()";
    EXPECT_NE(source.scalar("postgres", system_id), target.scalar("postgres", system_id));
    // The target's OID counter starts far from the source's, so user objects get other OIDs.
    std::string db = uniqueDatabaseName();
    source.createDatabase(db);
    target.createDatabase(db);
    source.exec(db, "CREATE TYPE oid_probe AS ENUM ('a')");
    target.exec(db, "CREATE TYPE oid_probe AS ENUM ('a')");
    const char* probe = "SELECT 'oid_probe'::regtype::oid";
    EXPECT_NE(source.scalar(db, probe), target.scalar(db, probe));
}

TEST(Harness, ExecQueryAndErrors) {
    auto& source = ClustersEnv::source();
    std::string db = uniqueDatabaseName();
    source.createDatabase(db);
    source.exec(db, "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL)");
    Rows rows = source.query(db, "SELECT a, b FROM t ORDER BY a");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "x"}));
    EXPECT_EQ(rows[1], (std::vector<std::string>{"2", kNull}));
    try {
        source.exec(db, "SELECT * FROM no_such_table");
        FAIL() << "exec did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("relation \"no_such_table\" does not exist"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("42P01"), std::string::npos) << e.what();
    }
    EXPECT_THROW(source.createDatabase(db), std::runtime_error);
    source.dropDatabase(db);
    EXPECT_EQ(
        source.scalar("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'"),
        "0");
    EXPECT_THROW(source.query(db, "SELECT 1"), std::runtime_error);
    EXPECT_NE(source.logTail().find("no_such_table"), std::string::npos) << source.logTail();
}

TEST(Harness, RunSqlFileStopsAtFirstError) {
    auto& source = ClustersEnv::source();
    std::string db = uniqueDatabaseName();
    source.createDatabase(db);
    std::string path = source.dir().string() + "/bad.sql";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fputs(
            "CREATE TABLE before_error (a int);\nSELECT broken syntax here;\n"
            "CREATE TABLE after_error (a int);\n",
            f);
        std::fclose(f);
    }
    try {
        source.runSqlFile(db, path);
        FAIL() << "runSqlFile did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
    }
    EXPECT_EQ(source.scalar(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%_error'"), "1");
}

TEST(Harness, FixtureDigestsCoverEveryKindOfRelation) {
    auto& source = ClustersEnv::source();
    std::string db = fixtureDatabase(source, "all_types.sql");
    DigestMap digests = tableDigests(source, db);
    ASSERT_FALSE(digests.empty());
    auto expect_entry = [&](const std::string& key, const std::string& kind, std::int64_t rows) {
        auto it = digests.find(key);
        ASSERT_NE(it, digests.end()) << key << " missing from the digests";
        EXPECT_EQ(it->second.kind, kind) << key;
        if (rows >= 0) {
            EXPECT_EQ(it->second.rows, rows) << key;
        }
    };
    expect_entry("public.all_types", "table", 304);
    expect_entry("public.user_types", "table", 104);
    expect_entry("\"MixedSchema\".\"Weird Table\"", "table", 25);
    expect_entry("public.\"CaseTable\"", "table", 5);
    expect_entry("public.casetable", "table", 7);
    expect_entry("public.big_table", "table", 50000 - 50000 / 97);
    expect_entry("public.empty_table", "table", 0);
    expect_entry("public.unlogged_cache", "unlogged table", 50);
    expect_entry("public.inherit_parent", "table", 2);  // ONLY: the child's row is not counted
    expect_entry("public.inherit_child", "table", 1);
    expect_entry("public.measurements_2023", "partition", -1);
    expect_entry("public.measurements_2024_eu", "partition", -1);
    expect_entry("public.measurements_default", "partition", -1);
    expect_entry("public.seq_advanced", "sequence", 1);
    EXPECT_EQ(digests["public.seq_advanced"].digest, "last_value=12345 is_called=true");
    EXPECT_EQ(digests["public.seq_fresh"].digest, "last_value=100 is_called=false");
    EXPECT_EQ(digests["public.seq_not_called"].digest, "last_value=42 is_called=false");
    expect_entry("lo:424242", "large object", -1);
    expect_entry("lo:424243", "large object", 0);
    int large = 0;
    std::int64_t partition_rows = 0;
    for (const auto& [key, digest] : digests) {
        large += digest.kind == "large object" && digest.rows == 102400;
        if (key.starts_with("public.measurements_")) {
            EXPECT_GT(digest.rows, 0) << key << ": every leaf partition should hold rows";
            partition_rows += digest.rows;
        }
    }
    EXPECT_EQ(large, 1) << "the ~100 KB large object";
    EXPECT_EQ(partition_rows, 600);
    // Partitioned parents, views and materialized views hold no rows of their own.
    EXPECT_FALSE(digests.count("public.measurements"));
    EXPECT_FALSE(digests.count("public.measurements_2024"));
    EXPECT_FALSE(digests.count("public.order_stats"));
    EXPECT_FALSE(digests.count("public.customer_totals"));
}

TEST(Harness, DigestsDetectEveryKindOfChange) {
    auto& source = ClustersEnv::source();
    auto& target = ClustersEnv::target();
    // The same fixture loaded in two clusters (so with different OIDs) is equal.
    std::string a = fixtureDatabase(source, "all_types.sql", "a");
    std::string b = fixtureDatabase(target, "all_types.sql", "b");
    DigestMap before = tableDigests(source, a);
    EXPECT_TRUE(sameDigests(before, tableDigests(target, b)));
    EXPECT_TRUE(sameDatabase(source, a, target, b));

    struct Change {
        const char* sql;
        const char* key;
    };
    const Change changes[] = {
        {"UPDATE all_types SET c_float8 = 0 WHERE id = 3", "public.all_types"},  // -0 -> 0
        {"UPDATE all_types SET c_text = c_text || ' ' WHERE id = 2", "public.all_types"},
        {"UPDATE all_types SET c_tstz_arr[1] = c_tstz_arr[1] + interval '1 microsecond' "
         "WHERE id = 10",
         "public.all_types"},
        {"UPDATE big_table SET payload = 'x' WHERE id = 25000", "public.big_table"},
        {"INSERT INTO big_table SELECT 1000000 + id, payload FROM big_table WHERE id = 1; "
         "DELETE FROM big_table WHERE id = 2",
         "public.big_table"},
        {"UPDATE \"MixedSchema\".\"Weird Table\" SET \"select\" = NOT \"select\" WHERE id = 1",
         "\"MixedSchema\".\"Weird Table\""},
        {"DELETE FROM measurements WHERE id = 1", nullptr},
        {"SELECT nextval('seq_fresh')", "public.seq_fresh"},
        {"SELECT setval('seq_advanced', 12345, false)", "public.seq_advanced"},
        {"SELECT lo_put(424242, 0, '\\x53')", "lo:424242"},
        {"SELECT lo_unlink(424243)", "lo:424243"},
        {"INSERT INTO empty_table VALUES (1, NULL)", "public.empty_table"},
        {"UPDATE audited SET note = note WHERE id = 1", nullptr},  // the trigger fires
    };
    // Each change is compared with the state just before it, in one cloned database.
    std::string db = fixtureDatabase(source, "all_types.sql", "changed");
    for (const auto& change : changes) {
        SCOPED_TRACE(change.sql);
        source.exec(db, change.sql);
        DigestMap after = tableDigests(source, db);
        auto result = sameDigests(before, after);
        EXPECT_FALSE(result);
        if (change.key != nullptr) {
            EXPECT_NE(std::string(result.message()).find(change.key), std::string::npos)
                << result.message();
            for (const auto& [key, digest] : before) {
                if (key != change.key) {
                    EXPECT_EQ(digest, after[key]) << key << " changed too";
                }
            }
        }
        before = std::move(after);
    }

    // Materialized views are compared by sameDatabase, populated or not.
    DigestMap views = matviewDigests(source, a);
    EXPECT_EQ(views.at("public.order_stats").rows, 3);
    std::string d = fixtureDatabase(source, "all_types.sql", "d");
    source.exec(d, "REFRESH MATERIALIZED VIEW order_stats WITH NO DATA");
    auto result = sameDatabase(source, a, source, d);
    EXPECT_FALSE(result);
    EXPECT_NE(std::string(result.message()).find("not populated"), std::string::npos)
        << result.message();
    source.exec(d, "REFRESH MATERIALIZED VIEW order_stats");
    EXPECT_TRUE(sameDigests(views, matviewDigests(source, d)));
    source.exec(d, "DELETE FROM orders WHERE id = 1; REFRESH MATERIALIZED VIEW order_stats");
    result = sameDigests(views, matviewDigests(source, d));
    EXPECT_FALSE(result);
    EXPECT_NE(std::string(result.message()).find("public.order_stats"), std::string::npos);
}

// pg_dump | pg_restore is the reference for "an exact copy": on every fixture it must satisfy
// sameDatabase, or the fixture or the helpers are wrong.
TEST(Harness, FixturesSurvivePgDumpRestore) {
    auto& source = ClustersEnv::source();
    auto& target = ClustersEnv::target();
    for (const char* fixture : {"all_types.sql", "binary_copy_traps.sql"}) {
        SCOPED_TRACE(fixture);
        std::string from = fixtureDatabase(source, fixture, "from");
        std::string to = uniqueDatabaseName("to");
        target.createDatabase(to);
        pgDumpRestore(source, from, target, to);
        EXPECT_TRUE(sameDatabase(source, from, target, to));
    }
    // The traps are still traps after the copy: reg* values name objects, not OIDs.
    std::string db = fixtureDatabase(source, "binary_copy_traps.sql");
    EXPECT_EQ(source.scalar(db, "SELECT rel::text FROM trap_reg_oids WHERE id = 1"),
              "trap_schema.trap_target");
}

TEST(Harness, SchemaDumpIsStableAndSeesAlters) {
    auto& source = ClustersEnv::source();
    auto& target = ClustersEnv::target();
    std::string a = fixtureDatabase(source, "all_types.sql", "a");
    std::string b = fixtureDatabase(target, "all_types.sql", "b");
    std::string dump_a = schemaDump(source, a);
    EXPECT_NE(dump_a.find("CREATE TABLE public.all_types"), std::string::npos);
    EXPECT_NE(dump_a.find("CREATE TABLE \"MixedSchema\".\"Weird Table\""), std::string::npos);
    EXPECT_EQ(dump_a.find("Dumped from database version"), std::string::npos);
    EXPECT_EQ(dump_a.find("\\restrict"), std::string::npos);
    EXPECT_EQ(dump_a.find("\n\n\n"), std::string::npos);
    EXPECT_TRUE(sameSchema(dump_a, schemaDump(target, b)));

    const char* alters[] = {
        "ALTER TABLE checked ADD COLUMN extra int",
        "ALTER TABLE checked ALTER COLUMN lo TYPE bigint",
        "DROP INDEX indexed_lower_email",
        "COMMENT ON COLUMN orders.amount IS 'Amount in USD'",
        "ALTER TABLE \"MixedSchema\".\"Weird Table\" RENAME COLUMN \"UPPER\" TO upper",
        "ALTER TYPE mood ADD VALUE 'angry'",
        "ALTER SEQUENCE seq_advanced INCREMENT BY 2",
    };
    for (const char* alter : alters) {
        SCOPED_TRACE(alter);
        target.exec(b, alter);
        std::string dump_b = schemaDump(target, b);
        auto result = sameSchema(dump_a, dump_b);
        EXPECT_FALSE(result);
        EXPECT_NE(std::string(result.message()).find("- "), std::string::npos) << result.message();
        dump_a = std::move(dump_b);  // compare the next change against this state
    }
    EXPECT_FALSE(sameDatabase(source, a, target, b));
}

TEST(Harness, RunProcessCapturesBothStreamsWithoutDeadlock) {
    auto r = runProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
    EXPECT_FALSE(r.timed_out);

    // 2 MB on stdout, then 2 MB on stderr: a reader that drained one stream at a time would hang.
    r = runProcess({"/bin/sh", "-c",
                    "head -c 2000000 /dev/zero; head -c 2000000 /dev/zero >&2; "
                    "head -c 100000 /dev/zero"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.size(), 2100000u);
    EXPECT_EQ(r.err.size(), 2000000u);

    ProcessOptions options;
    options.stdin_data = "line one\nline two\n";
    options.extra_env = {{"HARNESS_VAR", "v a l"}};
    r = runProcess({"/bin/sh", "-c", "wc -l; echo \"$HARNESS_VAR\"; env | grep -c '^PG' || true"},
                   options);
    EXPECT_EQ(r.out, "2\nv a l\n0\n") << r;
}

TEST(Harness, RunProcessKillsAtTimeout) {
    ProcessOptions options;
    options.timeout = 300ms;
    auto started = std::chrono::steady_clock::now();
    auto r = runProcess({"/bin/sh", "-c", "echo started; sleep 30 & sleep 30"}, options);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.term_signal, SIGKILL);
    EXPECT_EQ(r.out, "started\n");
}

// Points runPgsluice at another binary for one scope, then restores the previous setting.
class ScopedPgsluiceBinary {
  public:
    explicit ScopedPgsluiceBinary(const char* path) {
        if (const char* old = std::getenv("PGSLUICE_TEST_BINARY")) {
            old_ = old;
        }
        setenv("PGSLUICE_TEST_BINARY", path, 1);
    }
    ~ScopedPgsluiceBinary() {
        if (old_) {
            setenv("PGSLUICE_TEST_BINARY", old_->c_str(), 1);
        } else {
            unsetenv("PGSLUICE_TEST_BINARY");
        }
    }

  private:
    std::optional<std::string> old_;
};

// Outside the test body: EXPECT_NONFATAL_FAILURE cannot see local variables.
void runPgsluiceThatHangs() {
    ScopedPgsluiceBinary binary("/bin/sleep");
    runPgsluice({"30"}, {}, 300ms);
}

TEST(Harness, RunPgsluiceReportsFailures) {
    RunResult r;
    {
        ScopedPgsluiceBinary binary("/nonexistent/pgsluice");
        r = runPgsluice({"copy", "--help"});
    }
    EXPECT_EQ(r.exit_code, 127);
    EXPECT_NE(r.err.find("/nonexistent/pgsluice"), std::string::npos) << r;
    EXPECT_NE(r.err.find("No such file"), std::string::npos) << r;

    EXPECT_NONFATAL_FAILURE(runPgsluiceThatHangs(), "timed out");

    // PATH for pgsluice starts with the clusters' bin dir, so it runs the matching pg_dump.
    {
        ScopedPgsluiceBinary binary("/bin/sh");
        r = runPgsluice({"-c", "command -v pg_dump; echo \"$PGSLUICE_SALT\""},
                        {{"PGSLUICE_SALT", "pepper"}});
    }
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(r.out, (pgBinDir() / "pg_dump").string() + "\npepper\n");
}

TEST(Harness, BackgroundProcessCanBeInterrupted) {
    auto process =
        startProcess({"/bin/sh", "-c",
                      "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done"});
    ASSERT_TRUE(process.waitForOutput("ready", 10s)) << process.errSoFar();
    EXPECT_TRUE(process.running());
    process.sendSignal(SIGINT);
    auto r = process.wait();
    EXPECT_EQ(r.exit_code, 7) << r;
    EXPECT_EQ(r.out, "ready\ngot INT\n");
    EXPECT_FALSE(process.running());

    // A handle dropped while the child runs kills it.
    pid_t pid;
    {
        auto sleeper = startProcess({"sleep", "30"});
        pid = sleeper.pid();
        EXPECT_EQ(::kill(pid, 0), 0);
    }
    EXPECT_NE(::kill(pid, 0), 0);
}

TEST(Harness, ClusterStopsAndRemovesItsDirectory) {
    auto started = std::chrono::steady_clock::now();
    std::filesystem::path dir;
    {
        TestCluster cluster("scratch");
        dir = cluster.dir();
        EXPECT_TRUE(std::filesystem::exists(dir / "data" / "postmaster.pid"));
        EXPECT_EQ(cluster.scalar("postgres", "SELECT 1"), "1");
        cluster.stop();
        EXPECT_THROW(cluster.scalar("postgres", "SELECT 1"), std::runtime_error);
        cluster.start();
        EXPECT_EQ(cluster.scalar("postgres", "SELECT 2"), "2");
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
    std::fprintf(stderr, "[harness] scratch cluster start+stop+restart took %lld ms\n",
                 static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::steady_clock::now() - started)
                                            .count()));
}

// Under ctest every suite's clusters are copies of the fixture's template (CMakeLists.txt): a
// template that silently stopped being used would cost an initdb per cluster unnoticed.
TEST(Harness, EnvironmentClustersComeFromTheCtestTemplate) {
    if (std::getenv(kClusterTemplateEnv) == nullptr) {
        GTEST_SKIP() << kClusterTemplateEnv << " is not set (the binary was not run by ctest)";
    }
    EXPECT_TRUE(ClustersEnv::source().fromTemplate());
    EXPECT_TRUE(ClustersEnv::target().fromTemplate());
}

// A cluster copied from a template gets its own settings and OID counter and leaves the template
// as it was; a template that is not there means initdb.
TEST(Harness, ClusterStartsFromATemplateOrFallsBackToInitdb) {
    namespace fs = std::filesystem;
    const fs::path tpl = ClustersEnv::source().dir() / "template";  // removed with the cluster
    makeClusterTemplate(tpl);
    ASSERT_TRUE(fs::exists(tpl / "data" / "PG_VERSION"));
    auto controldata = [&] {
        auto r =
            runProcess({(pgBinDir() / "pg_controldata").string(), "-D", (tpl / "data").string()});
        EXPECT_EQ(r.exit_code, 0) << r;
        return r.out;
    };
    const std::string template_control = controldata();
    {
        ClusterOptions options;
        options.template_dir = tpl;
        options.next_oid = 2'000'000;
        options.settings = {"work_mem = '7MB'"};
        TestCluster cluster("from_template", options);
        EXPECT_TRUE(cluster.fromTemplate());
        EXPECT_EQ(cluster.scalar("postgres", "SHOW work_mem"), "7MB");
        EXPECT_EQ(cluster.scalar("postgres", "SHOW fsync"), "off");
        cluster.exec("postgres", "CREATE TYPE oid_probe AS ENUM ('a')");
        EXPECT_GE(std::stoll(cluster.scalar("postgres", "SELECT 'oid_probe'::regtype::oid")),
                  2'000'000);
        std::string id =
            cluster.scalar("postgres", "SELECT system_identifier FROM pg_control_system()");
        EXPECT_NE(template_control.find("Database system identifier:"), std::string::npos)
            << template_control;
        EXPECT_EQ(template_control.find(id), std::string::npos)
            << "the copy kept the template's system identifier " << id;
    }
    // The template is as it was: never started, never reset, without the copies' settings.
    EXPECT_EQ(controldata(), template_control);
    EXPECT_FALSE(fs::exists(tpl / "data" / "postmaster.pid"));
    std::ifstream conf(tpl / "data" / "postgresql.conf");
    std::string text((std::istreambuf_iterator<char>(conf)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("pgsluice integration-test settings"), std::string::npos);
    {
        ClusterOptions options;
        options.template_dir = tpl / "missing";
        TestCluster cluster("no_template", options);
        EXPECT_FALSE(cluster.fromTemplate());
        EXPECT_EQ(cluster.scalar("postgres", "SELECT current_setting('server_encoding')"), "UTF8");
    }
}

}  // namespace
}  // namespace pgsluice::integration
