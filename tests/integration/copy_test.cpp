// pgsluice copy against real servers: exact copies, refusals, failures, concurrent writes.

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

using namespace std::chrono_literals;

// `pgsluice copy` from source db to target db with extra arguments.
RunResult copy(const std::string& src_db, const std::string& dst_db,
               std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "copy",       "--source", source().conninfo(src_db), "--target", target().conninfo(dst_db),
        "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args);
}

// Sessions pgsluice still has on `cluster`, after giving the backends of a run that just ended
// up to 10 s to exit (they leave asynchronously after the client hangs up).
std::string leftoverSessions(const TestCluster& cluster) {
    std::string count;
    for (int i = 0; i < 100; ++i) {
        count = cluster.scalar("postgres",
                               "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                               "'pgsluice'");
        if (count == "0") {
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    return count;
}

TEST(Copy, EveryTypeAndObjectIsCopiedExactly) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "alltypes");
    std::string dst = emptyTarget("alltypes");
    // A small split threshold cuts big_table into ctid ranges, so ranges are tested too.
    RunResult r = copy(src, dst, {"-j", "2", "--split-tables-larger-than", "256kB"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    EXPECT_NE(r.out.find(" parts"), std::string::npos) << "expected a split table: " << r.out;
    EXPECT_NE(r.out.find("big_table"), std::string::npos) << r.out;
}

TEST(Copy, ValuesBinaryCopyCannotCarryMoveAsText) {
    std::string src = fixtureDatabase(source(), "binary_copy_traps.sql", "traps");
    std::string dst = emptyTarget("traps");
    RunResult r = copy(src, dst, {"-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    EXPECT_NE(r.out.find("text format"), std::string::npos) << r.out;
}

TEST(Copy, NonEmptyTargetIsRefusedAndLeftUntouched) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "nonempty");
    std::string dst = emptyTarget("nonempty");
    target().exec(dst, "CREATE TABLE keep_me (a int); INSERT INTO keep_me VALUES (42)");
    std::string before = schemaDump(target(), dst);
    RunResult r = copy(src, dst);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r;
    EXPECT_NE(r.err.find("public.keep_me"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--clean"), std::string::npos) << r;
    EXPECT_NE(r.err.find("The target was not changed"), std::string::npos) << r;
    EXPECT_EQ(schemaDump(target(), dst), before);
    EXPECT_EQ(target().scalar(dst, "SELECT a FROM keep_me"), "42");
}

// pg_dump of the schema starts while the catalogue is read, before the checks that may stop the
// run: a run stopped by them (exit 2) leaves neither pg_dump on the source nor its files.
TEST(Copy, ARunStoppedBeforeTheSchemaLeavesNoPgDumpBehind) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "earlydump");
    std::string dst = emptyTarget("earlydump");
    target().exec(dst, "CREATE TABLE keep_me (a int)");
    ScratchDir scratch("earlydump");
    const std::filesystem::path& tmp = scratch.path();
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                               target().conninfo(dst), "--progress", "plain"},
                              {{"TMPDIR", tmp.string()}});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r;
    EXPECT_EQ(leftoverSessions(source()), "0") << "pg_dump is still on the source";
    EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "files left in " << tmp;
    // And the same copy into an empty database takes the early dump's archive.
    std::string empty = emptyTarget("earlydump2");
    r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                     target().conninfo(empty), "--progress", "plain"},
                    {{"TMPDIR", tmp.string()}});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), empty));
    EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "files left in " << tmp;
}

TEST(Copy, CleanReplacesWhatAnEarlierCopyLeft) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "clean");
    std::string dst = emptyTarget("clean");
    ASSERT_EQ(copy(src, dst).exit_code, 0);
    // Change both sides: the second copy must bring the target back to the source.
    source().exec(src, "UPDATE big_table SET payload = 'changed' WHERE id % 10 = 0");
    target().exec(dst, "DELETE FROM big_table WHERE id % 3 = 0");
    RunResult r = copy(src, dst, {"--clean", "-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

TEST(Copy, ServerErrorMidCopyExitsOneAndNamesTheTable) {
    std::string src = uniqueDatabaseName("fail");
    source().createDatabase(src);
    source().exec(src,
                  "CREATE FUNCTION ok(int) RETURNS bool LANGUAGE sql IMMUTABLE AS $$ SELECT $1 < "
                  "coalesce(nullif(current_setting('test.maxval', true), '')::int, 1000000) $$;"
                  "CREATE TABLE filler (a int PRIMARY KEY, t text);"
                  "INSERT INTO filler SELECT i, repeat('x', 100) FROM generate_series(1, 20000) i;"
                  "CREATE TABLE limited (a int CHECK (public.ok(a)));"
                  "INSERT INTO limited SELECT generate_series(1, 100);");
    std::string dst = emptyTarget("fail");
    // Only the target's database makes the CHECK fail for values >= 50.
    target().exec("postgres", "ALTER DATABASE " + dst + " SET test.maxval = '50'");
    RunResult r = copy(src, dst, {"-j", "2"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("copying table \"public\".\"limited\""), std::string::npos) << r;
    EXPECT_NE(r.err.find("violates check constraint"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--clean"), std::string::npos) << r;
    // Every worker stopped: no pgsluice session is left on either server.
    EXPECT_EQ(leftoverSessions(target()), "0");
}

TEST(Copy, ConsistentWhilePgbenchWritesToTheSource) {
    std::string src = uniqueDatabaseName("pgbench");
    source().createDatabase(src);
    std::string pgbench = (pgBinDir() / "pgbench").string();
    RunResult init = runProcess({pgbench, "-i", "-s", "4", "-q", source().conninfo(src)});
    ASSERT_EQ(init.exit_code, 0) << init;
    BackgroundProcess load =
        startProcess({pgbench, "-c", "2", "-T", "40", "-n", source().conninfo(src)});
    std::this_thread::sleep_for(1500ms);  // let transactions flow before the snapshot is taken
    std::string dst = emptyTarget("pgbench");
    RunResult r = copy(src, dst, {"-j", "2", "--split-tables-larger-than", "1MB"});
    load.sendSignal(SIGINT);
    load.wait();
    ASSERT_EQ(r.exit_code, 0) << r;
    std::string accounts = target().scalar(dst, "SELECT sum(abalance) FROM pgbench_accounts");
    std::string tellers = target().scalar(dst, "SELECT sum(tbalance) FROM pgbench_tellers");
    std::string branches = target().scalar(dst, "SELECT sum(bbalance) FROM pgbench_branches");
    std::string history =
        target().scalar(dst, "SELECT coalesce(sum(delta), 0) FROM pgbench_history");
    EXPECT_EQ(accounts, tellers);
    EXPECT_EQ(tellers, branches);
    EXPECT_EQ(branches, history);
    EXPECT_NE(target().scalar(dst, "SELECT count(*) FROM pgbench_history"), "0")
        << "pgbench wrote nothing before the snapshot: the test proves nothing";
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM pgbench_accounts"), "400000");
}

TEST(Copy, CtrlCStopsEveryWorkerAndSaysWhatIsLeft) {
    std::string src = uniqueDatabaseName("sigint");
    source().createDatabase(src);
    source().exec(
        src,
        "CREATE TABLE a AS SELECT i, md5(i::text) AS m FROM generate_series(1, 1500000) i;"
        "CREATE TABLE b AS SELECT * FROM a;");
    std::string dst = emptyTarget("sigint");
    BackgroundProcess p = startPgsluice({"copy", "--source", source().conninfo(src), "--target",
                                         target().conninfo(dst), "-j", "2", "--progress", "plain"});
    ASSERT_TRUE(p.waitForOutput("data...", 60s)) << p.errSoFar();
    std::this_thread::sleep_for(300ms);
    p.sendSignal(SIGINT);
    RunResult r = p.wait();
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r;
    EXPECT_NE(r.err.find("INCOMPLETE"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--clean"), std::string::npos) << r;
    for (TestCluster* c : {&source(), &target()}) {
        EXPECT_EQ(leftoverSessions(*c), "0") << c->name();
    }
}

TEST(Copy, ReportFileHoldsTheSummary) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "report");
    std::string dst = emptyTarget("report");
    std::string report = (target().dir() / (dst + ".json")).string();
    RunResult r = copy(src, dst, {"--report", report, "-q"});
    ASSERT_EQ(r.exit_code, 0) << r;
    std::ifstream in(report);
    nlohmann::json j = nlohmann::json::parse(in);
    EXPECT_EQ(j["status"], "ok");
    long long rows = 0;
    bool found = false;
    for (const auto& t : j["tables"]) {
        rows += t["rows"].get<long long>();
        if (t["table"] == "public.big_table") {
            found = true;
            EXPECT_EQ(std::to_string(t["rows"].get<long long>()),
                      source().scalar(src, "SELECT count(*) FROM public.big_table"));
        }
    }
    EXPECT_TRUE(found) << j.dump(2);
    EXPECT_EQ(j["total"]["rows"].get<long long>(), rows);
    for (const char* phase : {"schema", "data", "indexes", "constraints", "analyze"}) {
        EXPECT_TRUE(j["phases"].contains(phase)) << phase << " in " << j["phases"].dump();
    }
}

TEST(Copy, BadUsageIsExitTwo) {
    RunResult r = runPgsluice({"copy", "--source", source().conninfo("postgres")});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("--target"), std::string::npos) << r;
    r = runPgsluice(
        {"copy", "--source", "x", "--target", "y", "--split-tables-larger-than", "12 parsecs"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("unknown unit"), std::string::npos) << r;
}

// Runs pgsluice on a pseudo-terminal of 100 columns (its stdout and stderr); returns what the
// terminal received and the exit status, or exit_code -1 after `timeout`.
RunResult runOnTerminal(const std::vector<std::string>& args, std::chrono::seconds timeout) {
    winsize size{};
    size.ws_col = 100;
    size.ws_row = 40;
    int master = -1;
    std::string path = pgBinDir().string() + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "");
    pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
    if (pid == 0) {
        ::setenv("PATH", path.c_str(), 1);
        std::string binary = pgsluiceBinary();
        std::vector<char*> argv = {binary.data()};
        std::vector<std::string> copy = args;
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    RunResult r;
    if (pid < 0) {
        return r;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd fd{master, POLLIN, 0};
        if (::poll(&fd, 1, 200) <= 0) {
            continue;
        }
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) {
            break;  // EIO: the child closed the terminal
        }
        r.err.append(buf, static_cast<size_t>(n));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        r.timed_out = true;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(master);
    r.exit_code = r.timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return r;
}

size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        ++n;
    }
    return n;
}

TEST(Copy, LiveProgressOnATerminalDrawsBarsInPlace) {
    std::string src = uniqueDatabaseName("bars");
    source().createDatabase(src);
    source().exec(
        src,
        "CREATE TABLE wide (id int PRIMARY KEY, pad text);"
        "INSERT INTO wide SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 300000) g;"
        "CREATE TABLE other AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) g;"
        "ANALYZE");
    std::string dst = emptyTarget("bars");
    auto start = std::chrono::steady_clock::now();
    RunResult r = runOnTerminal(
        {"copy", "--source", source().conninfo(src), "--target", target().conninfo(dst), "-j", "2"},
        std::chrono::seconds(180));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(r.exit_code, 0) << r;
    if (std::getenv("PGSLUICE_TEST_SHOW_TERMINAL")) {
        std::cerr << r.err;
    }
    // Bars and the totals line were drawn, in place (each frame starts by erasing the last).
    EXPECT_NE(r.err.find("total "), std::string::npos) << r;
    EXPECT_NE(r.err.find("ETA "), std::string::npos) << r;
    EXPECT_NE(r.err.find("  public.wide"), std::string::npos) << r;
    size_t row = r.err.find("  public.wide");
    std::string line =
        row == std::string::npos ? "" : r.err.substr(row, r.err.find('\n', row) - row);
    EXPECT_NE(line.find(" ["), std::string::npos) << "no bar on the table's line: " << line;
    size_t frames = count(r.err, "\033[J");
    EXPECT_GE(frames, 1u) << r;
    // At most ~10 redraws a second.
    EXPECT_LE(static_cast<double>(frames), seconds * 10 + 5) << frames << " frames in " << seconds;
    // It ends cleanly: the last frame was erased before the lines that follow it.
    size_t last_eta = r.err.rfind("ETA ");
    size_t last_erase = r.err.rfind("\033[J");
    EXPECT_LT(last_eta, last_erase) << r;
    EXPECT_NE(r.err.find("pgsluice: sequences...", last_erase), std::string::npos) << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM wide"), "300000");
}

}  // namespace
}  // namespace pgsluice::integration
