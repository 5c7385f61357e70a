// pgsluice dump, restore and inspect against real servers: archives through files and pipes,
// damaged archives, sanitised archives, the target guards and --swap.

#include <gtest/gtest.h>
#include <signal.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "pg_cluster.hpp"
#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::map<std::string, std::string> kSalt = {{"PGSLUICE_SALT", "integration-test-salt-1"}};

// Runs `script` with /bin/sh, PATH starting with the clusters' bin dir as runPgsluice does.
RunResult runShell(const std::string& script) {
    ProcessOptions options;
    const char* path = std::getenv("PATH");
    options.extra_env["PATH"] = pgBinDir().string() + ":" + (path ? path : "/usr/bin:/bin");
    return runProcess({"/bin/sh", "-c", script}, options);
}

// `pgsluice dump` of source db into `file` with extra arguments.
RunResult dump(const std::string& src_db, const std::string& file,
               std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {
        "dump", "--source", source().conninfo(src_db), "-f", file, "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args, env);
}

// `pgsluice restore` of `file` into the database `target_conn` reaches.
RunResult restoreTo(const std::string& file, const std::string& target_conn,
                    std::vector<std::string> extra = {},
                    std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"restore", "--target",   target_conn, "-f",
                                     file,      "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args, env);
}

// `pgsluice restore` of `file` into target db.
RunResult restore(const std::string& file, const std::string& dst_db,
                  std::vector<std::string> extra = {},
                  std::map<std::string, std::string> env = {}) {
    return restoreTo(file, target().conninfo(dst_db), std::move(extra), std::move(env));
}

// True when pgsluice refused --io uring because the kernel or a seccomp profile forbids it.
bool uringUnavailable(const RunResult& r) {
    return r.err.find("io_uring is not available") != std::string::npos;
}

// A small app-shaped database: users with e-mails and phones, a mail log, a second schema, a
// mixed-case name and an empty table.
std::string appDatabase(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    source().createDatabase(db);
    source().exec(db,
                  "CREATE SCHEMA audit;"
                  "CREATE TABLE users (id int PRIMARY KEY, email varchar(254) UNIQUE NOT NULL, "
                  "phone text, first_name text NOT NULL, note text);"
                  "INSERT INTO users SELECT i, 'member' || i || '@corp.example.com', "
                  "'+44 20 7946 ' || lpad(i::text, 4, '0'), 'First' || i, 'note number ' || i "
                  "FROM generate_series(1, 2000) i;"
                  "UPDATE users SET phone = NULL WHERE id % 10 = 0;"
                  "CREATE TABLE mail_log (id int PRIMARY KEY, body text);"
                  "INSERT INTO mail_log SELECT i, 'mail body ' || i FROM generate_series(1, 500) "
                  "i;"
                  "CREATE TABLE audit.trail (id int, what text);"
                  "INSERT INTO audit.trail SELECT i, 'event ' || i FROM generate_series(1, 50) i;"
                  "CREATE TABLE \"Mixed Case\" (a int);"
                  "INSERT INTO \"Mixed Case\" SELECT generate_series(1, 7);"
                  "CREATE TABLE empty_one (a int);"
                  "CREATE SEQUENCE counter; SELECT setval('counter', 42);");
    return db;
}

// Writes `text` to `path`; returns the path.
std::string writeFile(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    return path;
}

const char* kRules =
    "version: 1\n"
    "salt_env: PGSLUICE_SALT\n"
    "tables:\n"
    "  public.users:\n"
    "    email: email\n"
    "    phone: digits\n";

// Every verified, decompressed payload of the archive at `path` whose frame type is `type`,
// concatenated.
std::string payloads(const std::string& path, archive::FrameType type) {
    archive::ArchiveReader reader = archive::ArchiveReader::open(path, io::IoMode::sync);
    archive::Frame frame;
    std::string out;
    while (reader.next(frame)) {
        if (frame.header.type == type) {
            out.append(frame.payload);
            out.push_back('\0');
        }
    }
    return out;
}

// The most data units of the archive at `path` that had a frame written but not their
// unit-end frame at the same point of the file: above 1 when units interleave.
int mostUnitsOpenAtOnce(const std::string& path) {
    archive::ArchiveReader reader = archive::ArchiveReader::open(path, io::IoMode::sync);
    archive::Frame frame;
    std::set<std::uint32_t> open;
    std::size_t most = 0;
    while (reader.next(frame)) {
        if (frame.header.type == archive::FrameType::data) {
            open.insert(frame.header.unit);
            most = std::max(most, open.size());
        } else if (frame.header.type == archive::FrameType::unit_end) {
            open.erase(frame.header.unit);
        }
    }
    return static_cast<int>(most);
}

// Where a data frame sits in an archive file.
struct FrameSpot {
    std::uint64_t offset = 0;  // its header's first byte
    std::uint32_t stored_length = 0;
    std::uint32_t unit = 0;
};

// The first data frame of the archive at `path` whose rows contain `needle`.
std::optional<FrameSpot> dataFrameHolding(const std::string& path, std::string_view needle) {
    archive::ArchiveReader reader = archive::ArchiveReader::open(path, io::IoMode::sync);
    archive::Frame frame;
    while (reader.next(frame)) {
        if (frame.header.type == archive::FrameType::data &&
            frame.payload.find(needle) != std::string_view::npos) {
            return FrameSpot{frame.offset, frame.header.stored_length, frame.header.unit};
        }
    }
    return std::nullopt;
}

// Inverts every bit of the byte at `offset` of `path`.
void flipByte(const std::string& path, std::uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(~c));
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The line of pgsluice's stderr that holds the error itself (progress lines come before it, the
// lines on what was loaded after it); all of stderr if there is no such line.
std::string errorLine(const std::string& err) {
    std::size_t start = err.find("error:");
    if (start == std::string::npos) {
        return err;
    }
    return err.substr(start, err.find('\n', start) - start);
}

// `err` without its lists of the tables that were or were not loaded completely, which name every
// table: what is left names the table the error is about, if any.
std::string withoutTableLists(const std::string& err) {
    std::string out;
    std::size_t pos = 0;
    while (pos < err.size()) {
        std::size_t end = std::min(err.find('\n', pos), err.size());
        std::string line = err.substr(pos, end - pos);
        if (!line.starts_with("tables loaded completely") &&
            !line.starts_with("tables not loaded completely")) {
            out += line + "\n";
        }
        pos = end + 1;
    }
    return out;
}

// The tables stderr says were loaded completely ("tables loaded completely before that: a, b").
std::vector<std::string> tablesSaidComplete(const std::string& err) {
    const std::string label = "loaded completely before that: ";
    std::size_t start = err.find(label);
    if (start == std::string::npos) {
        return {};
    }
    start += label.size();
    std::string list = err.substr(start, err.find('\n', start) - start);
    std::vector<std::string> out;
    for (std::size_t pos = 0; pos < list.size();) {
        std::size_t comma = list.find(", ", pos);
        std::string name = list.substr(pos, comma - pos);
        if (name != "none") {
            out.push_back(name);
        }
        pos = comma == std::string::npos ? list.size() : comma + 2;
    }
    return out;
}

// Every table that `err` says was loaded completely holds on the target as many rows as on the
// source.
void expectCompleteTablesAreComplete(const RunResult& r, const std::string& src,
                                     const std::string& dst) {
    for (const auto& table : tablesSaidComplete(r.err)) {
        std::string sql = "SELECT count(*) FROM " + table;
        EXPECT_EQ(target().scalar(dst, sql), source().scalar(src, sql))
            << table << " is said to be loaded completely\n"
            << r;
    }
}

// The first column of every row `sql` returns.
std::set<std::string> column(const TestCluster& c, const std::string& db, const std::string& sql) {
    std::set<std::string> out;
    for (const auto& row : c.query(db, sql)) {
        out.insert(row[0]);
    }
    return out;
}

// `pgsluice inspect FILE --format json`, parsed; a failure to run or parse fails the test.
nlohmann::json inspectJson(const std::string& file) {
    RunResult r = runPgsluice({"inspect", file, "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r;
    try {
        return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "inspect --format json printed no JSON: " << e.what() << "\n" << r;
        return {};
    }
}

// The first string value under a key that contains "rules" anywhere in `j`, or nothing.
std::optional<std::string> rulesHash(const nlohmann::json& j) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            if (key.find("rules") != std::string::npos && value.is_string()) {
                return value.get<std::string>();
            }
            if (auto inner = rulesHash(value)) {
                return inner;
            }
        }
    } else if (j.is_array()) {
        for (const auto& value : j) {
            if (auto inner = rulesHash(value)) {
                return inner;
            }
        }
    }
    return std::nullopt;
}

// --- 1. file round trips, both I/O backends ---------------------------------------------------

// Dumps the fixture with --io dump_io, restores it with --io restore_io, compares with the source.
void roundTrip(std::string_view fixture, const std::string& dump_io,
               const std::string& restore_io) {
    std::string src = fixtureDatabase(source(), fixture, "rt");
    std::string dst = emptyTarget("rt");
    ScratchDir dir("archives");
    std::string file = dir.file("db.pgsluice");
    RunResult d = dump(src, file, {"-j", "2", "--io", dump_io});
    if (dump_io == "uring" && uringUnavailable(d)) {
        GTEST_SKIP() << "io_uring is unavailable here: " << d.err;
    }
    ASSERT_EQ(d.exit_code, 0) << d;
    EXPECT_EQ(dir.listing(), "db.pgsluice") << "only the finished archive is left";
    RunResult r = restore(file, dst, {"-j", "2", "--io", restore_io});
    if (restore_io == "uring" && uringUnavailable(r)) {
        GTEST_SKIP() << "io_uring is unavailable here: " << r.err;
    }
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameSchema(schemaDump(source(), src), schemaDump(target(), dst)));
    EXPECT_TRUE(sameDigests(tableDigests(source(), src), tableDigests(target(), dst)));
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

TEST(DumpRestore, AllTypesThroughSyncDumpAndUringRestore) {
    roundTrip("all_types.sql", "sync", "uring");
}

TEST(DumpRestore, AllTypesThroughUringDumpAndSyncRestore) {
    roundTrip("all_types.sql", "uring", "sync");
}

TEST(DumpRestore, BinaryCopyTrapsThroughSyncDumpAndUringRestore) {
    roundTrip("binary_copy_traps.sql", "sync", "uring");
}

TEST(DumpRestore, BinaryCopyTrapsThroughUringDumpAndSyncRestore) {
    roundTrip("binary_copy_traps.sql", "uring", "sync");
}

// --- 2. through a pipe ------------------------------------------------------------------------

// `pgsluice dump SRC -f - [dump_args] | tee COPY | pgsluice restore DST -f - -j 2`; the dump's
// exit status is checked too (sh has no pipefail, so it goes through a file in `dir`).
RunResult dumpPipeRestore(const ScratchDir& dir, const std::string& src, const std::string& dst,
                          const std::string& dump_args) {
    std::string dump_rc = dir.file("dump.rc");
    std::string bin = shellQuote(pgsluiceBinary());
    std::string script = "{ " + bin + " dump --source " + shellQuote(source().conninfo(src)) +
                         " -f - " + dump_args + " --progress none; echo $? > " +
                         shellQuote(dump_rc) + "; } | tee " + shellQuote(dir.file("copy")) + " | " +
                         bin + " restore --target " + shellQuote(target().conninfo(dst)) +
                         " -f - -j 2 --progress none";
    RunResult r = runShell(script);
    std::string rc;
    std::ifstream(dump_rc) >> rc;
    EXPECT_EQ(rc, "0") << "dump's exit status\n" << r;
    return r;
}

TEST(DumpRestore, PipeWithInterleavedUnitsEqualsTheSource) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "pipe");
    // About 30 MB on disk, cut into parts of 8 MB that each fill two 4 MiB frames: two workers
    // write frames of two units in turns.
    source().exec(src,
                  "CREATE TABLE wide AS SELECT i, repeat(md5(i::text), 2) || ' ' || i AS m "
                  "FROM generate_series(1, 250000) i; ANALYZE wide");
    std::string dst = emptyTarget("pipe");
    ScratchDir dir("archives");
    RunResult r = dumpPipeRestore(dir, src, dst, "-j 2 --split-tables-larger-than 8MB");
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    // The premise: the stream restore read had frames of two units in turns.
    EXPECT_GE(mostUnitsOpenAtOnce(dir.file("copy")), 2)
        << "the units did not interleave in the stream; the test proves less than it says";
}

TEST(DumpRestore, PipeOfASplitTableIsCompleteEveryTime) {
    std::string src = uniqueDatabaseName("pipewide");
    source().createDatabase(src);
    source().exec(src,
                  "CREATE TABLE wide AS SELECT i, repeat(md5(i::text), 2) || ' ' || i AS m "
                  "FROM generate_series(1, 250000) i; ANALYZE wide");
    ScratchDir dir("archives");
    // A write that fails only when the pipe is full at the wrong moment: a few runs make such a
    // failure show up reliably.
    for (int run = 0; run < 3; ++run) {
        std::string dst = emptyTarget("pipewide");
        RunResult r = dumpPipeRestore(dir, src, dst, "-j 2 --split-tables-larger-than 8MB");
        ASSERT_EQ(r.exit_code, 0) << "run " << run << "\n" << r;
        EXPECT_TRUE(sameDigests(tableDigests(source(), src), tableDigests(target(), dst)));
    }
}

// --- 3. selecting from a full archive ---------------------------------------------------------

TEST(DumpRestore, FiltersSelectFromAFullArchive) {
    std::string src = appDatabase("filters");
    ScratchDir dir("archives");
    std::string file = dir.file("app.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    DigestMap expected = tableDigests(source(), src);

    // -T: the table is left out, everything else arrives.
    std::string without = emptyTarget("minus_t");
    RunResult r = restore(file, without, {"-T", "public.mail_log"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(without, "SELECT to_regclass('public.mail_log') IS NULL"), "t");
    DigestMap actual = tableDigests(target(), without);
    EXPECT_EQ(actual.count("public.mail_log"), 0u);
    for (const char* kept :
         {"public.users", "audit.trail", "public.\"Mixed Case\"", "public.empty_one"}) {
        ASSERT_TRUE(expected.count(kept) && actual.count(kept)) << kept;
        EXPECT_EQ(expected[kept], actual[kept]) << kept;
    }

    // --exclude-table-data: the table and its index exist, without rows.
    std::string no_data = emptyTarget("exdata");
    r = restore(file, no_data, {"--exclude-table-data", "public.mail_log"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(no_data, "SELECT count(*) FROM public.mail_log"), "0");
    EXPECT_EQ(
        target().scalar(no_data, "SELECT count(*) FROM pg_indexes WHERE tablename = 'mail_log'"),
        "1");
    actual = tableDigests(target(), no_data);
    for (const char* kept : {"public.users", "audit.trail", "public.\"Mixed Case\""}) {
        ASSERT_TRUE(actual.count(kept)) << kept;
        EXPECT_EQ(expected[kept], actual[kept]) << kept;
    }

    // -n: one schema only.
    std::string audit = emptyTarget("schema");
    r = restore(file, audit, {"-n", "audit"});
    ASSERT_EQ(r.exit_code, 0) << r;
    actual = tableDigests(target(), audit);
    ASSERT_TRUE(actual.count("audit.trail")) << r;
    EXPECT_EQ(actual["audit.trail"], expected["audit.trail"]);
    EXPECT_EQ(target().scalar(audit, "SELECT to_regclass('public.users') IS NULL"), "t");
    EXPECT_EQ(target().scalar(audit, "SELECT to_regclass('public.mail_log') IS NULL"), "t");
}

// --- 4. damaged archives ----------------------------------------------------------------------

// Two tables; the rows of `victim` carry a marker so its data frame can be found.
std::string damageDatabase() {
    std::string db = uniqueDatabaseName("damage");
    source().createDatabase(db);
    source().exec(db,
                  "CREATE TABLE intact_small (id int PRIMARY KEY, v text);"
                  "INSERT INTO intact_small SELECT i, 'small ' || i FROM generate_series(1, 100) i;"
                  "CREATE TABLE victim (id int PRIMARY KEY, v text);"
                  "INSERT INTO victim SELECT i, 'victim-row-' || i || ' ' || md5(i::text) "
                  "FROM generate_series(1, 20000) i;");
    return db;
}

TEST(DumpRestore, FlippedByteIsReportedWithTableAndOffset) {
    std::string src = damageDatabase();
    ScratchDir dir("archives");
    std::string file = dir.file("damaged.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    std::optional<FrameSpot> spot = dataFrameHolding(file, "victim-row-1 ");
    ASSERT_TRUE(spot) << "no data frame holds the victim's rows";
    ASSERT_GT(spot->stored_length, 16u);
    flipByte(file, spot->offset + 40 + spot->stored_length / 2);

    std::string dst = emptyTarget("flip");
    RunResult r = restore(file, dst, {"-j", "2"});
    EXPECT_EQ(r.exit_code, 1) << r;
    std::string error = errorLine(r.err);
    EXPECT_NE(error.find("victim"), std::string::npos) << "the error names the table\n" << r;
    EXPECT_NE(error.find("byte " + std::to_string(spot->offset)), std::string::npos)
        << "the error names the damaged frame's offset " << spot->offset << "\n"
        << r;
    EXPECT_NE(lower(r.err).find("complete"), std::string::npos)
        << "says which tables were loaded completely\n"
        << r;
    expectCompleteTablesAreComplete(r, src, dst);
    if (target().scalar(dst, "SELECT to_regclass('public.victim') IS NOT NULL") == "t") {
        EXPECT_NE(target().scalar(dst, "SELECT count(*) FROM victim"), "20000")
            << "a damaged unit cannot have loaded every row";
    }

    RunResult inspect = runPgsluice({"inspect", file, "--verify"});
    EXPECT_EQ(inspect.exit_code, 1) << inspect;
    EXPECT_NE(inspect.err.find(std::to_string(spot->offset)), std::string::npos) << inspect;
}

TEST(DumpRestore, TruncatedFileIsReported) {
    std::string src = damageDatabase();
    ScratchDir dir("archives");
    std::string file = dir.file("cut.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    auto size = fs::file_size(file);
    fs::resize_file(file, size / 2);

    std::string dst = emptyTarget("cutfile");
    RunResult r = restore(file, dst, {"-j", "2"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r;

    RunResult inspect = runPgsluice({"inspect", file});
    EXPECT_EQ(inspect.exit_code, 1) << inspect;
    EXPECT_NE(inspect.err.find("truncated"), std::string::npos) << inspect;
}

TEST(DumpRestore, TruncatedStreamIsReportedWithTheTable) {
    std::string src = damageDatabase();
    ScratchDir dir("archives");
    std::string file = dir.file("stream.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    std::optional<FrameSpot> spot = dataFrameHolding(file, "victim-row-1 ");
    ASSERT_TRUE(spot);
    std::uint64_t cut = spot->offset + 40 + spot->stored_length / 2;

    std::string dst = emptyTarget("cutstream");
    RunResult r = runShell("head -c " + std::to_string(cut) + " " + shellQuote(file) + " | " +
                           shellQuote(pgsluiceBinary()) + " restore --target " +
                           shellQuote(target().conninfo(dst)) + " -f - --progress none");
    EXPECT_EQ(r.exit_code, 1) << r;
    std::string error = errorLine(r.err);
    EXPECT_NE(error.find("truncated"), std::string::npos) << r;
    EXPECT_NE(withoutTableLists(r.err).find("victim"), std::string::npos)
        << "stderr names the table whose frame was cut\n"
        << r;
    EXPECT_NE(error.find("byte " + std::to_string(cut)), std::string::npos)
        << "the error names the byte offset " << cut << "\n"
        << r;
    EXPECT_NE(lower(r.err).find("complete"), std::string::npos)
        << "says which tables were loaded completely\n"
        << r;
    expectCompleteTablesAreComplete(r, src, dst);
    if (target().scalar(dst, "SELECT to_regclass('public.victim') IS NOT NULL") == "t") {
        EXPECT_NE(target().scalar(dst, "SELECT count(*) FROM victim"), "20000");
    }
}

// --- 5. the archive file appears only when complete -------------------------------------------

TEST(DumpRestore, FailedDumpLeavesNoFile) {
    std::string src = appDatabase("nofile");
    ScratchDir dir("archives");
    std::string file = dir.file("out.pgsluice");

    RunResult r = dump(src + "_no_such_db", file);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_EQ(dir.listing(), "") << r;

    std::string rules = writeFile(dir.file("bad.yaml"),
                                  "version: 1\ntables:\n  public.users:\n    no_such_column: "
                                  "{set: x}\n");
    r = dump(src, file, {"--rules", rules});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find(rules + ":4:"), std::string::npos) << r;
    EXPECT_EQ(dir.listing(), "bad.yaml") << r;
}

TEST(DumpRestore, InterruptedDumpLeavesNoFile) {
    std::string src = uniqueDatabaseName("sigint");
    source().createDatabase(src);
    source().exec(
        src, "CREATE TABLE a AS SELECT i, md5(i::text) AS m FROM generate_series(1, 400000) i;");
    ScratchDir dir("archives");
    std::string file = dir.file("out.pgsluice");
    // zstd at its slowest keeps the dump busy long enough to be interrupted.
    BackgroundProcess p =
        startPgsluice({"dump", "--source", source().conninfo(src), "-f", file, "-j", "1",
                       "--compress", "zstd:19", "--progress", "plain"});
    bool partial_seen = false;
    for (int i = 0; i < 600 && p.running() && !partial_seen; ++i) {
        partial_seen = dir.listing().find("out.pgsluice.partial-") != std::string::npos;
        if (!partial_seen) {
            std::this_thread::sleep_for(50ms);
        }
    }
    ASSERT_TRUE(partial_seen) << "the dump never wrote out.pgsluice.partial-*: " << p.errSoFar();
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(p.running()) << "the dump ended before it could be interrupted; make the table "
                                "bigger\n"
                             << p.errSoFar();
    p.sendSignal(SIGINT);
    RunResult r = p.wait();
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r;
    EXPECT_EQ(dir.listing(), "") << "neither the archive nor a partial file is left\n" << r;
}

// --- 6. sanitised archives --------------------------------------------------------------------

TEST(DumpRestore, SanitisedArchiveHoldsNoRuledValue) {
    std::string src = appDatabase("sanarch");
    ScratchDir dir("archives");
    std::string rules = writeFile(dir.file("rules.yaml"), kRules);
    std::string file = dir.file("clean.pgsluice");
    RunResult d = dump(src, file, {"--rules", rules, "-j", "2"}, kSalt);
    ASSERT_EQ(d.exit_code, 0) << d;
    EXPECT_EQ(d.err.find("integration-test-salt-1"), std::string::npos) << "salt never printed";

    std::string data = payloads(file, archive::FrameType::data);
    for (const auto& email : column(source(), src, "SELECT email FROM users")) {
        ASSERT_EQ(data.find(email), std::string::npos) << "source e-mail in the archive: " << email;
    }
    for (const auto& phone : column(source(), src,
                                    "SELECT phone FROM users WHERE phone IS NOT "
                                    "NULL")) {
        ASSERT_EQ(data.find(phone), std::string::npos) << "source phone in the archive: " << phone;
    }
    // Unruled values are there, so the search above looks at the right bytes.
    for (const auto& name : column(source(), src, "SELECT first_name FROM users")) {
        ASSERT_NE(data.find(name), std::string::npos) << "unruled value missing: " << name;
    }
    ASSERT_NE(data.find("mail body 17"), std::string::npos);
    std::string everything =
        payloads(file, archive::FrameType::schema) + payloads(file, archive::FrameType::manifest);
    EXPECT_EQ(everything.find("integration-test-salt-1"), std::string::npos)
        << "the salt is never stored";
    EXPECT_EQ(everything.find("member1@corp.example.com"), std::string::npos);

    nlohmann::json j = inspectJson(file);
    std::optional<std::string> hash = rulesHash(j);
    ASSERT_TRUE(hash) << "inspect shows no rules hash: " << j.dump(2);
    EXPECT_FALSE(hash->empty()) << j.dump(2);

    std::string dst = emptyTarget("sanarch");
    RunResult r = restore(file, dst, {"-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    std::set<std::string> before = column(source(), src, "SELECT email FROM users");
    std::set<std::string> after = column(target(), dst, "SELECT email FROM users");
    EXPECT_EQ(before.size(), after.size());
    for (const auto& v : after) {
        EXPECT_EQ(before.count(v), 0u) << "source value " << v << " reached the target";
    }
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM users WHERE email NOT LIKE "
                              "'user\\_%@example.invalid'"),
              "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM users WHERE phone IS NULL"), "200")
        << "NULL stays NULL";
    EXPECT_EQ(source().query(src, "SELECT id, first_name, note FROM users ORDER BY id"),
              target().query(dst, "SELECT id, first_name, note FROM users ORDER BY id"));
}

TEST(DumpRestore, RestoreRulesSanitiseAPlainArchive) {
    std::string src = appDatabase("restrules");
    ScratchDir dir("archives");
    std::string rules = writeFile(dir.file("rules.yaml"), kRules);
    std::string file = dir.file("plain.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    std::optional<std::string> hash = rulesHash(inspectJson(file));
    EXPECT_TRUE(!hash || hash->empty())
        << "no rules at dump time, yet a rules hash: " << hash.value_or("");

    std::string dst = emptyTarget("restrules");
    RunResult r = restore(file, dst, {"--rules", rules, "-j", "2"}, kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;
    std::set<std::string> before = column(source(), src, "SELECT email FROM users");
    std::set<std::string> after = column(target(), dst, "SELECT email FROM users");
    EXPECT_EQ(before.size(), after.size());
    for (const auto& v : after) {
        EXPECT_EQ(before.count(v), 0u) << "source value " << v << " reached the target";
    }
    std::set<std::string> phones_before =
        column(source(), src, "SELECT phone FROM users WHERE phone IS NOT NULL");
    for (const auto& v : column(target(), dst, "SELECT phone FROM users WHERE phone IS NOT NULL")) {
        EXPECT_EQ(phones_before.count(v), 0u) << "source phone " << v << " reached the target";
    }
    EXPECT_EQ(source().query(src, "SELECT id, first_name, note FROM users ORDER BY id"),
              target().query(dst, "SELECT id, first_name, note FROM users ORDER BY id"));
    DigestMap expected = tableDigests(source(), src);
    DigestMap actual = tableDigests(target(), dst);
    for (const char* same : {"public.mail_log", "audit.trail", "public.\"Mixed Case\"",
                             "public.empty_one", "public.counter"}) {
        ASSERT_TRUE(expected.count(same) && actual.count(same)) << same;
        EXPECT_EQ(expected[same], actual[same]) << same;
    }

    // The same rules and salt at dump time give the same fake values.
    std::string sanitised = dir.file("sanitised.pgsluice");
    ASSERT_EQ(dump(src, sanitised, {"--rules", rules}, kSalt).exit_code, 0);
    std::string again = emptyTarget("restrules_again");
    ASSERT_EQ(restore(sanitised, again).exit_code, 0);
    std::string probe = "SELECT email || ' ' || coalesce(phone, '') FROM users WHERE id = 1";
    EXPECT_EQ(target().scalar(again, probe), target().scalar(dst, probe));
}

// --- 7. guards --------------------------------------------------------------------------------

TEST(DumpRestore, RestoreIntoTheDumpedDatabaseIsRefused) {
    std::string src = appDatabase("self");
    ScratchDir dir("archives");
    std::string file = dir.file("self.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    source().exec(src, "INSERT INTO mail_log VALUES (100000, 'written after the dump')");
    for (const std::string& spelling : {source().conninfo(src), source().uri(src)}) {
        RunResult r = restoreTo(file, spelling, {"--clean", "--yes"});
        EXPECT_EQ(r.exit_code, 2) << spelling << "\n" << r;
        EXPECT_NE(r.err.find("the target is the source"), std::string::npos) << r;
    }
    EXPECT_EQ(source().scalar(src, "SELECT count(*) FROM mail_log"), "501");

    // The same database name on another server is not the source.
    target().createDatabase(src);
    RunResult r = restore(file, src);
    EXPECT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(target().scalar(src, "SELECT count(*) FROM mail_log"), "500");
}

TEST(DumpRestore, ProtectedTargetIsRefused) {
    std::string src = appDatabase("protect");
    ScratchDir dir("archives");
    std::string file = dir.file("p.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);

    std::string dst = "app_prod_" + uniqueDatabaseName("x");
    target().createDatabase(dst);
    RunResult r = restore(file, dst);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("matches the protected pattern \"*prod*\""), std::string::npos) << r;

    std::string staging = "staging_" + uniqueDatabaseName("y");
    target().createDatabase(staging);
    r = restore(file, staging, {"--protect", "staging_*"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("\"staging_*\""), std::string::npos) << r;
    for (const auto& db : {dst, staging}) {
        EXPECT_EQ(target().scalar(db,
                                  "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                                  "n.oid = c.relnamespace WHERE n.nspname = 'public'"),
                  "0")
            << db << " untouched";
    }
}

TEST(DumpRestore, NonEmptyTargetNeedsClean) {
    std::string src = appDatabase("nonempty");
    ScratchDir dir("archives");
    std::string file = dir.file("n.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    std::string dst = emptyTarget("nonempty");
    ASSERT_EQ(restore(file, dst).exit_code, 0);
    target().exec(dst, "DELETE FROM users WHERE id % 3 = 0; UPDATE mail_log SET body = 'changed'");
    std::string schema_before = schemaDump(target(), dst);
    DigestMap data_before = tableDigests(target(), dst);

    RunResult r = restore(file, dst);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("is not empty"), std::string::npos) << r;
    EXPECT_NE(r.err.find("--clean"), std::string::npos) << r;
    EXPECT_EQ(schemaDump(target(), dst), schema_before);
    EXPECT_TRUE(sameDigests(data_before, tableDigests(target(), dst))) << "untouched";

    r = restore(file, dst, {"--clean", "--yes", "-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

// --- 8. --swap --------------------------------------------------------------------------------

TEST(DumpRestore, SwapReplacesTheLiveDatabase) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "swapok");
    ScratchDir dir("archives");
    std::string file = dir.file("swap.pgsluice");
    ASSERT_EQ(dump(src, file, {"-j", "2"}).exit_code, 0);
    std::string dst = liveTarget("swapok");
    std::string beside = databasesBeside(dst);  // not empty when the test is repeated
    RunResult r = restore(file, dst, {"--swap", "--yes", "-j", "2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    EXPECT_EQ(target().scalar(dst, "SELECT to_regclass('public.old_data') IS NULL"), "t");
    EXPECT_EQ(databasesBeside(dst), beside)
        << "neither the new nor the old database is left behind";
}

TEST(DumpRestore, FailedSwapLeavesTheLiveDatabaseAsItWas) {
    std::string src = appDatabase("swapfail");
    ScratchDir dir("archives");
    std::string file = dir.file("swap.pgsluice");
    ASSERT_EQ(dump(src, file).exit_code, 0);
    std::string rules = writeFile(dir.file("after.yaml"),
                                  "version: 1\nafter:\n  - UPDATE mail_log SET body = 'x'\n"
                                  "  - UPDATE no_such_table SET a = 1\n");
    std::string dst = liveTarget("swapfail");
    std::string before = schemaDump(target(), dst);
    std::string beside = databasesBeside(dst);
    RunResult r = restore(file, dst, {"--swap", "--yes", "--rules", rules});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("no_such_table"), std::string::npos) << r;
    EXPECT_NE(r.err.find("the new database was dropped; " + dst + " is exactly as it was"),
              std::string::npos)
        << r;
    EXPECT_EQ(schemaDump(target(), dst), before);
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM old_data"), "2");
    EXPECT_EQ(databasesBeside(dst), beside) << "no new database is left behind";
}

// --- 9. inspect -------------------------------------------------------------------------------

TEST(DumpRestore, InspectListsEveryTableWithItsRows) {
    std::string src = appDatabase("inspect");
    ScratchDir dir("archives");
    std::string file = dir.file("i.pgsluice");
    ASSERT_EQ(dump(src, file, {"--split-tables-larger-than", "64kB", "-j", "2"}).exit_code, 0);
    nlohmann::json j = inspectJson(file);
    ASSERT_TRUE(j.is_object()) << j.dump(2);
    ASSERT_TRUE(j.contains("source")) << j.dump(2);
    EXPECT_NE(j["source"].dump().find(src), std::string::npos) << j["source"].dump(2);
    ASSERT_TRUE(j.contains("status")) << j.dump(2);
    std::string status =
        lower(j["status"].is_string() ? j["status"].get<std::string>() : j["status"].dump());
    EXPECT_NE(status.find("complete"), std::string::npos) << j["status"];
    EXPECT_EQ(status.find("incomplete"), std::string::npos) << j["status"];

    // Unquoted "schema.table" -> rows, from the source.
    std::map<std::string, long long> expected;
    for (const auto& row : source().query(src,
                                          "SELECT n.nspname || '.' || c.relname, format('%I.%I', "
                                          "n.nspname, c.relname) FROM pg_class c JOIN "
                                          "pg_namespace n ON n.oid = c.relnamespace WHERE "
                                          "c.relkind = 'r' AND n.nspname IN ('public', 'audit')")) {
        expected[row[0]] = std::stoll(source().scalar(src, "SELECT count(*) FROM " + row[1]));
    }
    ASSERT_EQ(expected.size(), 5u);
    ASSERT_TRUE(j.contains("tables") && j["tables"].is_array()) << j.dump(2);
    std::map<std::string, long long> actual;
    for (const auto& t : j["tables"]) {
        std::string name = t.contains("table") ? t.value("table", "") : t.value("name", "");
        if (name.find('.') == std::string::npos && t.contains("schema")) {
            name = t["schema"].get<std::string>() + "." + name;
        }
        name.erase(std::remove(name.begin(), name.end(), '"'), name.end());
        ASSERT_TRUE(t.contains("rows")) << t.dump();
        actual[name] = t["rows"].is_number() ? t["rows"].get<long long>() : -1;
        EXPECT_TRUE(t.contains("checksum")) << t.dump();
    }
    EXPECT_EQ(actual, expected) << j["tables"].dump(2);

    RunResult verify = runPgsluice({"inspect", file, "--verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify;
}

}  // namespace
}  // namespace pgsluice::integration
