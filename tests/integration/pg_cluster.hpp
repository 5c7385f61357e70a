#pragma once

// Integration-test harness: throwaway PostgreSQL clusters, a runner for the pgsluice binary and
// helpers that prove two databases hold the same schema and the same data.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pgsluice::integration {

// What query() puts in a cell where the server returned SQL NULL.
inline const std::string kNull = "<NULL>";

// Rows of a query result in text format, NULL cells as kNull.
using Rows = std::vector<std::vector<std::string>>;

inline constexpr std::chrono::seconds kDefaultTimeout{300};

// How a child process is started by startProcess() / runProcess().
struct ProcessOptions {
    // Set (or override) these variables; the child otherwise inherits the test's environment
    // minus every PG* variable, so a developer's PGHOST or PGSLUICE_TARGET never leaks in.
    std::map<std::string, std::string> extra_env;
    // Bytes fed to the child's stdin; without it stdin is /dev/null.
    std::optional<std::string> stdin_data;
    // File fed to the child's stdin (used when stdin_data is not set and this is not empty).
    std::filesystem::path stdin_path;
    // The child's working directory; empty keeps ours.
    std::filesystem::path working_dir;
    // After this long the whole process group is killed with SIGKILL.
    std::chrono::milliseconds timeout = kDefaultTimeout;
};

// How a child process ended and everything it wrote.
struct RunResult {
    int exit_code = -1;  // exit status; 128 + signal when killed by a signal; 127 if exec failed
    std::string out;     // everything written to stdout
    std::string err;     // everything written to stderr
    bool timed_out = false;
    int term_signal = 0;  // the signal that ended it, 0 if it exited

    // One paragraph with the exit status and both streams, for assertion messages.
    std::string describe() const;
};

// gtest prints a RunResult with its exit status and output.
std::ostream& operator<<(std::ostream& os, const RunResult& result);

// A child process running in its own process group; its output is collected by a thread.
// Destroying a handle that was not waited for kills the group and reaps it.
class BackgroundProcess {
  public:
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;
    BackgroundProcess(BackgroundProcess&&) noexcept;
    BackgroundProcess& operator=(BackgroundProcess&&) noexcept;
    ~BackgroundProcess();

    // The child's pid (also its process group id).
    pid_t pid() const { return pid_; }
    // Sends sig to the child only, or to its whole process group.
    void sendSignal(int sig, bool whole_group = false) const;
    // True once stdout or stderr contains needle; false when the deadline passes or the child ends
    // without it.
    bool waitForOutput(std::string_view needle, std::chrono::milliseconds timeout);
    // True while the child has not been reaped and has not exited.
    bool running();
    // Stdout collected so far.
    std::string outSoFar() const;
    // Stderr collected so far.
    std::string errSoFar() const;
    // Waits for the child (killing its group at the deadline given at start) and returns the
    // result.
    RunResult wait();

  private:
    friend BackgroundProcess startProcess(std::vector<std::string> argv, ProcessOptions options);
    friend BackgroundProcess startPgsluice(std::vector<std::string> args,
                                           std::map<std::string, std::string> extra_env,
                                           std::chrono::milliseconds timeout);
    struct Shared;
    BackgroundProcess() = default;
    void release() noexcept;
    static void readPipes(const std::shared_ptr<Shared>& shared);

    pid_t pid_ = -1;
    bool reaped_ = false;
    int status_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    std::shared_ptr<Shared> shared_;
    std::thread reader_;
    std::string spawn_error_;
    bool fail_on_timeout_ = false;
    std::optional<RunResult> result_;
};

// Starts argv (argv[0] is a path or a name looked up in PATH) in the background.
BackgroundProcess startProcess(std::vector<std::string> argv, ProcessOptions options = {});
// Runs argv to completion and returns its result; never throws for a failing child.
RunResult runProcess(std::vector<std::string> argv, ProcessOptions options = {});

// The pgsluice executable under test: $PGSLUICE_TEST_BINARY if set, else PGSLUICE_BINARY.
std::string pgsluiceBinary();
// Runs pgsluice with args; PATH starts with the test clusters' bin dir so pgsluice finds the same
// pg_dump. A timeout adds a gtest failure and returns with timed_out set.
RunResult runPgsluice(std::vector<std::string> args,
                      std::map<std::string, std::string> extra_env = {},
                      std::chrono::milliseconds timeout = kDefaultTimeout);
// Starts pgsluice in the background (e.g. to send SIGINT while it runs); wait() returns the result.
BackgroundProcess startPgsluice(std::vector<std::string> args,
                                std::map<std::string, std::string> extra_env = {},
                                std::chrono::milliseconds timeout = kDefaultTimeout);

// The directory of the newest PostgreSQL installed under /usr/lib/postgresql/<major>/bin.
std::filesystem::path pgBinDir();
// tests/integration/sql, where the fixtures live.
std::filesystem::path sqlDir();
// A database name unique in this run, made from the current test's name and hint (max 63 bytes).
std::string uniqueDatabaseName(std::string_view hint = "");

// A file of `text` in the temporary directory, named after `hint`, removed when the object dies
// (rules files, filter files).
class TempFile {
  public:
    TempFile(std::string_view hint, const std::string& text);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

// A directory of its own in the temporary directory, named after `hint`, removed with
// everything in it when the object dies (archives, service files, a test binary's scratch).
class ScratchDir {
  public:
    explicit ScratchDir(std::string_view hint = "");
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    // The path of `name` inside the directory.
    std::string file(std::string_view name) const { return (path_ / name).string(); }
    // The names of every entry in the directory, sorted, space-separated.
    std::string listing() const;

  private:
    std::filesystem::path path_;
};

// `s` quoted for sh, whatever it holds.
std::string shellQuote(std::string_view s);

// How a TestCluster is set up beyond the fixed test settings.
struct ClusterOptions {
    // When non-zero, the cluster's OID counter starts here (pg_resetwal -o), so objects created in
    // it get OIDs that differ from the same objects created in another cluster.
    std::uint32_t next_oid = 0;
    // Extra postgresql.conf lines, e.g. "max_locks_per_transaction = 256".
    std::vector<std::string> settings;
    // A directory made by makeClusterTemplate() whose data directory is copied instead of running
    // initdb. Unset: $PGSLUICE_TEST_CLUSTER_TEMPLATE when that is set. Empty, missing or made with
    // another PostgreSQL: initdb (with a note on stderr unless empty).
    std::optional<std::filesystem::path> template_dir;
};

// The variable ctest sets to the cluster template its fixture made (see CMakeLists.txt).
inline constexpr const char* kClusterTemplateEnv = "PGSLUICE_TEST_CLUSTER_TEMPLATE";

// Runs initdb once, as TestCluster would, into dir/data (dir is replaced), so TestClusters can
// start from a copy instead; throws std::runtime_error with initdb's output on failure.
void makeClusterTemplate(const std::filesystem::path& dir);

// A throwaway PostgreSQL cluster in a fresh temp dir, listening on 127.0.0.1 on a free port with
// trust auth for user postgres. The destructor stops it (immediate) and deletes the directory; a
// watchdog process does the same if the test binary dies without running destructors.
class TestCluster {
  public:
    // Copies the template's data directory (or runs initdb) and starts the server; throws
    // std::runtime_error with the log on failure.
    explicit TestCluster(std::string name, ClusterOptions options = {});
    ~TestCluster();
    TestCluster(const TestCluster&) = delete;
    TestCluster& operator=(const TestCluster&) = delete;

    // A short label ("source", "target") used in messages.
    const std::string& name() const { return name_; }
    // The TCP port the server listens on.
    int port() const { return port_; }
    // "host=127.0.0.1 port=N user=postgres dbname=DB" (DB quoted if it needs it).
    std::string conninfo(std::string_view db) const;
    // "postgresql://postgres@127.0.0.1:N/DB" with DB percent-encoded.
    std::string uri(std::string_view db) const;
    // The temp dir holding data/, the socket and server.log.
    const std::filesystem::path& dir() const { return dir_; }
    // True if data/ is a copy of a cluster template, false if initdb made it.
    bool fromTemplate() const { return from_template_; }

    // CREATE DATABASE name, a copy of template_db (default template1); throws if name exists.
    void createDatabase(std::string_view name, std::string_view template_db = "") const;
    // DROP DATABASE IF EXISTS name WITH (FORCE).
    void dropDatabase(std::string_view name) const;
    // Runs one or more SQL statements in db; throws with the server's message on error.
    void exec(std::string_view db, std::string_view sql) const;
    // Runs sql in db and returns the rows of its (last) result; throws on error.
    Rows query(std::string_view db, std::string_view sql) const;
    // Runs sql in db and returns the single value it yields; throws unless it is one row, one
    // column.
    std::string scalar(std::string_view db, std::string_view sql) const;
    // Runs a file through psql -X -q -v ON_ERROR_STOP=1; throws with psql's stderr on error.
    void runSqlFile(std::string_view db, const std::filesystem::path& path) const;
    // Runs sqlDir()/file_name through runSqlFile.
    void loadFixture(std::string_view db, std::string_view file_name) const;
    // The last max_lines lines of the server log, for diagnostics.
    std::string logTail(std::size_t max_lines = 40) const;

    // Stops the server immediately (idempotent); the directory stays until destruction.
    void stop();
    // Starts the server again on the same port after stop().
    void start();
    // True while the server runs.
    bool running() const { return running_; }

  private:
    RunResult runAsServerUser(std::vector<std::string> argv) const;
    void initCluster();
    void startServer(bool choose_port);
    void startWatchdog();
    void stopWatchdog() noexcept;
    void cleanup() noexcept;

    std::string name_;
    ClusterOptions options_;
    std::filesystem::path dir_;
    std::filesystem::path data_dir_;
    std::filesystem::path log_file_;
    int port_ = 0;
    bool running_ = false;
    bool from_template_ = false;
    pid_t watchdog_pid_ = -1;
    int watchdog_fd_ = -1;
};

// The global environment of the integration binary: a source and a target cluster, started once.
// The target's OIDs start far from the source's, so a copy that leans on equal OIDs fails.
// pg_cluster.cpp registers it; tests only call source() and target().
class ClustersEnv : public ::testing::Environment {
  public:
    // Starts both clusters (in parallel); a failure here skips every test with the reason.
    void SetUp() override;
    // Stops both clusters and removes their directories.
    void TearDown() override;

    // The source cluster; throws if the environment did not start.
    static TestCluster& source();
    // The target cluster; throws if the environment did not start.
    static TestCluster& target();
};

// The environment's source cluster (shorthand for ClustersEnv::source()).
inline TestCluster& source() {
    return ClustersEnv::source();
}
// The environment's target cluster (shorthand for ClustersEnv::target()).
inline TestCluster& target() {
    return ClustersEnv::target();
}

// A new empty database on the target cluster; returns its name (uniqueDatabaseName(hint)).
std::string emptyTarget(std::string_view hint);

// A live target database with content of its own (table old_data, two rows), to see whether a
// run that should leave it alone does.
std::string liveTarget(std::string_view hint);

// The databases a --swap of `live` created next to it on the target (new or old copies), space
// separated. Their names start with the live name, cut to leave room for a suffix within
// PostgreSQL's 63 bytes.
std::string databasesBeside(const std::string& live);

// A fresh database on cluster holding sqlDir()/fixture: the fixture is loaded once per cluster
// into a template database ("tpl_" + its name), then each call clones it (much faster than
// loading). Returns the new database's name (uniqueDatabaseName(hint)).
std::string fixtureDatabase(const TestCluster& cluster, std::string_view fixture,
                            std::string_view hint = "");

// The reference copy to compare pgsluice with: pg_dump -Fc [extra_dump_args] of from_db, then
// pg_restore --exit-on-error into to_db (which must exist and be empty); throws on failure.
void pgDumpRestore(const TestCluster& from, std::string_view from_db, const TestCluster& to,
                   std::string_view to_db, std::vector<std::string> extra_dump_args = {});

// One table's (or sequence's, or large object's) content, in a form equal iff the content is.
struct TableDigest {
    std::string kind;       // "table", "partition", "unlogged table", "sequence", "large object"
    std::int64_t rows = 0;  // row count; bytes for a large object; 1 for a sequence
    std::string digest;     // order-independent sum of row hashes; sequence state; md5 of LO bytes

    bool operator==(const TableDigest&) const = default;
};

// gtest prints a TableDigest as "kind rows=N digest=...".
std::ostream& operator<<(std::ostream& os, const TableDigest& digest);

// Key format('%I.%I', schema, table) (so "public.t", "\"MixedSchema\".\"Weird Table\""),
// "lo:<oid>" for large objects.
using DigestMap = std::map<std::string, TableDigest>;

// pg_dump --schema-only of db with the lines that differ between equal schemas removed
// (version comments, \restrict keys, runs of blank lines).
std::string schemaDump(const TestCluster& cluster, std::string_view db);
// Digests of every table, partition leaf and unlogged table (not partitioned parents, not views or
// matviews) in non-system schemas, of every sequence's state and of every large object.
DigestMap tableDigests(const TestCluster& cluster, std::string_view db);

// Digests of every materialized view's rows (kind "materialized view", or "not populated"), so a
// copy that forgets REFRESH MATERIALIZED VIEW is caught; same keys as tableDigests.
DigestMap matviewDigests(const TestCluster& cluster, std::string_view db);

// Success iff both maps are equal; otherwise names every missing, extra and differing entry.
::testing::AssertionResult sameDigests(const DigestMap& expected, const DigestMap& actual);
// Success iff both normalised dumps are equal; otherwise shows the first differing lines.
::testing::AssertionResult sameSchema(const std::string& expected, const std::string& actual);
// Schema, table data and matview contents of expected_db on expected equal those of actual_db.
::testing::AssertionResult sameDatabase(const TestCluster& expected, std::string_view expected_db,
                                        const TestCluster& actual, std::string_view actual_db);

}  // namespace pgsluice::integration
