// Unit tests of `pgsluice inspect`: a small dump-shaped archive (schema, contents manifest, three
// data units, a large-object unit, results manifest) read as a file, through --verify and from a
// pipe on standard input; truncated, damaged, foreign and half-written archives; the report
// builder on its own.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/commands/inspect.hpp"
#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/engine/inspection.hpp"
#include "pgsluice/error.hpp"
#include "test_support.hpp"

namespace pgsluice::engine {

using namespace pgsluice::archive;
using commands::InspectOptions;
using commands::runInspect;
namespace {

using pgsluice::testing::readWholeFile;
using pgsluice::testing::TempDir;

namespace fs = std::filesystem;

void writeWholeFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

// Oids and unit ids of the sample.
constexpr std::uint32_t customers_oid = 16390;
constexpr std::uint32_t orders_oid = 16400;
constexpr std::uint32_t audit_oid = 16410;
constexpr std::uint32_t customers_unit = 4;
constexpr std::uint32_t orders_unit_a = 1;
constexpr std::uint32_t orders_unit_b = 2;
constexpr std::uint32_t large_object_unit = 3;

pg::Table table(std::uint32_t oid, const std::string& name) {
    pg::Table t;
    t.oid = oid;
    t.schema = "public";
    t.name = name;
    t.qualified = "\"public\".\"" + name + "\"";
    t.columns.push_back(pg::Column{"id", 23, "integer", true, true, false});
    return t;
}

// The contents manifest of the sample: customers (one unit), orders (two units), audit (schema
// only), a sequence, large objects in their own unit.
Contents sampleContents() {
    Contents c;
    c.writer = "pgsluice 0.1.0";
    c.source = SourceInfo{"7300000000000000001", "db.example.com", "shop", 150004,
                          "2024-05-01T11:59:58.123456Z"};
    c.selection = {"--exclude-table-data", "public.audit"};
    c.compression_level = 3;
    c.jobs = 2;
    c.catalog.server_version = 150004;
    c.catalog.database = "shop";
    c.catalog.schemas = {"public"};
    c.catalog.tables = {table(customers_oid, "customers"), table(orders_oid, "orders"),
                        table(audit_oid, "audit")};
    c.catalog.sequences.push_back(pg::Sequence{16401, "public", "orders_id_seq", ""});
    c.catalog.large_objects = {90001, 90002};
    ArchivedTable customers;
    customers.oid = customers_oid;
    customers.units = {ArchivedUnit{customers_unit, 0, 1, 8192}};
    ArchivedTable orders;
    orders.oid = orders_oid;
    orders.units = {ArchivedUnit{orders_unit_a, 0, 2, 65536},
                    ArchivedUnit{orders_unit_b, 1, 2, 65536}};
    ArchivedTable audit;
    audit.oid = audit_oid;
    audit.with_data = false;
    c.tables = {customers, orders, audit};
    c.large_object_unit = large_object_unit;
    return c;
}

// `count` fake rows of a unit and, through `digest`, their digest.
std::vector<std::string> fakeRows(const std::string& prefix, int count, copy::RowDigest& digest) {
    std::vector<std::string> rows;
    for (int i = 0; i < count; ++i) {
        rows.push_back(prefix + " row " + std::to_string(i) + " alice@example.com 2024-05-01");
        digest.addRow(rows.back());
    }
    return rows;
}

std::string concat(const std::vector<std::string>& rows) {
    std::string out;
    for (const auto& r : rows) {
        out += r;
    }
    return out;
}

// The sample archive and what a correct report says about it.
struct Sample {
    std::string path;
    copy::RowDigest customers;
    copy::RowDigest orders;
    std::uint64_t orders_raw = 0;
    std::uint64_t orders_stored = 0;
    std::uint64_t large_object_bytes = 0;
};

// Writes the sample to `path`; without `results`, the results manifest is left out.
Sample writeSample(const std::string& path, bool results = true) {
    Sample s;
    s.path = path;
    Contents contents = sampleContents();
    archive::ArchiveWriterOptions options;
    options.io = io::IoMode::sync;
    options.level = 3;
    options.writer_name = "pgsluice 0.1.0";
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(path, options);
    archive::FrameEncoder encoder(3);
    writer.appendBlob(archive::FrameType::schema, schema_stream,
                      "PGDMP fake pg_dump custom-format bytes: CREATE TABLE public.orders (...)");
    writer.appendBlob(archive::FrameType::manifest, contents_stream, toJson(contents));

    Results r;
    // Appends one data frame, returning its stored payload length.
    const auto data = [&](std::uint32_t unit, std::uint32_t seq,
                          const std::vector<std::string>& rows) {
        const std::string raw = concat(rows);
        const std::string_view frame =
            encoder.encode(archive::FrameType::data, unit, seq, rows.size(), raw);
        writer.appendFrame(frame);
        return std::pair<std::uint64_t, std::uint64_t>{raw.size(),
                                                       frame.size() - archive::frame_header_size};
    };

    const auto customer_rows = fakeRows("customer", 2, s.customers);
    const auto customer_bytes = data(customers_unit, 0, customer_rows);
    writer.endUnit(customers_unit);
    r.units.push_back(UnitResult{customers_unit, s.customers, customer_bytes.first});

    copy::RowDigest a;
    copy::RowDigest b;
    // Unit a in two frames, interleaved with unit b as parallel workers would write them.
    const auto a0 = data(orders_unit_a, 0, fakeRows("order a0", 3, a));
    const auto b0 = data(orders_unit_b, 0, fakeRows("order b0", 4, b));
    const auto a1 = data(orders_unit_a, 1, fakeRows("order a1", 2, a));
    writer.endUnit(orders_unit_a);
    writer.endUnit(orders_unit_b);
    r.units.push_back(UnitResult{orders_unit_a, a, a0.first + a1.first});
    r.units.push_back(UnitResult{orders_unit_b, b, b0.first});
    s.orders = a;
    s.orders.add(b);
    s.orders_raw = a0.first + a1.first + b0.first;
    s.orders_stored = a0.second + a1.second + b0.second;

    std::string chunks;
    appendLargeObjectChunk(chunks, LargeObjectChunk{90001, 0, "large object one"});
    appendLargeObjectChunk(chunks, LargeObjectChunk{90002, 0, "second large object"});
    s.large_object_bytes = 16 + 19;
    writer.appendFrame(encoder.encode(archive::FrameType::data, large_object_unit, 0, 2, chunks));
    writer.endUnit(large_object_unit);

    r.sequences.push_back(SequenceValue{16401, "\"public\".\"orders_id_seq\"", "9", true});
    r.large_objects = 2;
    r.large_object_bytes = s.large_object_bytes;
    r.finished = "2024-05-01T12:00:03Z";
    r.seconds = 4.5;
    if (results) {
        writer.appendBlob(archive::FrameType::manifest, results_stream, toJson(r));
    }
    writer.finish();
    return s;
}

InspectOptions optionsFor(const std::string& file, bool json, bool verify = false) {
    InspectOptions options;
    options.file = file;
    options.io = io::IoMode::sync;
    options.json = json;
    options.verify = verify;
    return options;
}

// The JSON report of `options`.
nlohmann::json jsonReport(InspectOptions options) {
    options.json = true;
    std::ostringstream out;
    runInspect(options, out);
    return nlohmann::json::parse(out.str());
}

// Runs inspect expecting an Error; returns its message after checking its exit code is 1.
std::string inspectError(const InspectOptions& options, std::string* output = nullptr) {
    std::ostringstream out;
    try {
        runInspect(options, out);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ExitCode::failure) << e.what();
        if (output) {
            *output = out.str();
        }
        return e.what();
    }
    ADD_FAILURE() << "inspect accepted " << options.file << ":\n" << out.str();
    return "";
}

// Where the first data frame of `unit` starts in the archive at `path`.
std::uint64_t firstFrameOffset(const std::string& path, std::uint32_t unit) {
    const archive::SeekableArchive archive = archive::SeekableArchive::open(path);
    const archive::UnitInfo* info = archive.findUnit(unit);
    if (info == nullptr || info->frames.empty()) {
        throw std::runtime_error("no data frame for the unit");
    }
    return archive.entries()[info->frames.front()].offset;
}

// Checks the numbers every complete report of the sample shows.
void expectSampleNumbers(const nlohmann::json& report, const Sample& s) {
    EXPECT_EQ(report["status"], "complete");
    EXPECT_EQ(report["problems"].size(), 0u);
    EXPECT_EQ(report["file"]["size_bytes"], fs::file_size(s.path));
    EXPECT_EQ(report["file"]["format_version"], 2);
    EXPECT_EQ(report["file"]["writer"], "pgsluice 0.1.0");
    EXPECT_EQ(report["file"]["io"], "sync");
    EXPECT_EQ(report["source"]["host"], "db.example.com");
    EXPECT_EQ(report["source"]["database"], "shop");
    EXPECT_EQ(report["source"]["server_version"], "15.4");
    EXPECT_EQ(report["source"]["snapshot_time"], "2024-05-01T11:59:58.123456Z");
    EXPECT_EQ(report["dump"]["filters"],
              nlohmann::json::array({"--exclude-table-data", "public.audit"}));
    EXPECT_TRUE(report["dump"]["rules_hash"].is_null());
    EXPECT_EQ(report["dump"]["compression_level"], 3);
    EXPECT_EQ(report["dump"]["jobs"], 2);

    const nlohmann::json& tables = report["tables"];
    ASSERT_EQ(tables.size(), 3u);
    EXPECT_EQ(tables[0]["table"], "public.customers");
    EXPECT_EQ(tables[0]["rows"], 2);
    EXPECT_EQ(tables[0]["checksum"], s.customers.hex());
    const nlohmann::json& orders = tables[1];
    EXPECT_EQ(orders["table"], "public.orders");
    EXPECT_EQ(orders["action"], "data");
    EXPECT_EQ(orders["format"], "binary");
    EXPECT_EQ(orders["units"], 2);
    EXPECT_EQ(orders["rows"], 9);
    EXPECT_EQ(orders["raw_bytes"], s.orders_raw);
    EXPECT_EQ(orders["stored_bytes"], s.orders_stored);
    EXPECT_EQ(orders["checksum"], s.orders.hex());
    EXPECT_EQ(tables[2]["table"], "public.audit");
    EXPECT_EQ(tables[2]["action"], "schema only");
    EXPECT_TRUE(tables[2]["rows"].is_null());
    EXPECT_TRUE(tables[2]["checksum"].is_null());

    EXPECT_EQ(report["totals"]["tables"], 3);
    EXPECT_EQ(report["totals"]["tables_with_data"], 2);
    EXPECT_EQ(report["totals"]["units"], 3);
    EXPECT_EQ(report["totals"]["rows"], 11);
    EXPECT_EQ(report["sequences"], 1);
    EXPECT_EQ(report["large_objects"]["count"], 2);
    EXPECT_EQ(report["large_objects"]["bytes"], s.large_object_bytes);
    EXPECT_EQ(report["large_objects"]["unit"], large_object_unit);
    EXPECT_EQ(report["schema"]["frames"], 1);
    EXPECT_GT(report["schema"]["raw_bytes"], 0);
    // 1 schema + 2 manifest + 5 data + 4 unit-end.
    EXPECT_EQ(report["frames"]["total"], 12);
    EXPECT_EQ(report["frames"]["data"], 5);
    EXPECT_EQ(report["frames"]["unit_end"], 4);
}

TEST(InspectTest, ReportsAFileThroughItsIndex) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"));

    const nlohmann::json report = jsonReport(optionsFor(s.path, true));
    expectSampleNumbers(report, s);
    EXPECT_EQ(report["file"]["read"], "footer index");
    EXPECT_FALSE(report["payloads_verified"]);
    const std::vector<std::string> keys = {"file",
                                           "source",
                                           "dump",
                                           "tables",
                                           "totals",
                                           "schema",
                                           "sequences",
                                           "large_objects",
                                           "frames",
                                           "status",
                                           "payloads_verified",
                                           "problems"};
    std::vector<std::string> got;
    for (const auto& [key, value] : report.items()) {
        got.push_back(key);
    }
    std::sort(got.begin(), got.end());
    std::vector<std::string> want = keys;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);

    std::ostringstream text;
    runInspect(optionsFor(s.path, false), text);
    const std::string t = text.str();
    EXPECT_CONTAINS(t, "public.orders");
    EXPECT_CONTAINS(t, s.orders.hex());
    EXPECT_CONTAINS(t, s.customers.hex());
    EXPECT_CONTAINS(t, "schema only");
    EXPECT_CONTAINS(t, "PostgreSQL 15.4");
    EXPECT_CONTAINS(t, "rules hash    none");
    EXPECT_CONTAINS(t, "status        complete");
    EXPECT_CONTAINS(t, "frames not re-read (--verify reads them)");
    EXPECT_CONTAINS(t, "total: 3 tables, 2 with data");
    // The orders line: 2 units, 9 rows.
    const std::size_t line = t.find("public.orders");
    const std::string orders_line = t.substr(line, t.find('\n', line) - line);
    EXPECT_CONTAINS(orders_line, "  2  ");
    EXPECT_CONTAINS(orders_line, "  9  ");
}

TEST(InspectTest, VerifyReadsEveryFrame) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"));
    const nlohmann::json report = jsonReport(optionsFor(s.path, true, true));
    expectSampleNumbers(report, s);
    EXPECT_TRUE(report["payloads_verified"]);

    std::ostringstream text;
    runInspect(optionsFor(s.path, false, true), text);
    EXPECT_CONTAINS(text.str(), "checked       trailer, footer index and every frame's checksum");
}

TEST(InspectTest, ReadsStandardInputInOrder) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"));
    const std::string bytes = readWholeFile(s.path);
    ::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int saved_stdin = ::dup(0);
    ASSERT_GE(saved_stdin, 0);
    ASSERT_EQ(::dup2(fds[0], 0), 0);
    ::close(fds[0]);
    std::thread feeder([&] {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t rc = ::write(fds[1], bytes.data() + done, bytes.size() - done);
            if (rc <= 0) {
                break;  // the reader stopped early; the test reports why
            }
            done += static_cast<std::size_t>(rc);
        }
        ::close(fds[1]);
    });
    nlohmann::json report;
    std::string error;
    try {
        report = jsonReport(optionsFor("-", true));
    } catch (const std::exception& e) {
        error = e.what();
    }
    ::dup2(saved_stdin, 0);  // closes the pipe's read end, so a blocked feeder returns
    ::close(saved_stdin);
    feeder.join();
    ASSERT_EQ(error, "");
    expectSampleNumbers(report, s);
    EXPECT_EQ(report["file"]["name"], "standard input");
    EXPECT_EQ(report["file"]["read"], "sequential");
    EXPECT_TRUE(report["payloads_verified"]);
}

TEST(InspectTest, TruncatedFileNamesTheCompleteTables) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"));
    const std::string bytes = readWholeFile(s.path);
    // Cut inside the second orders unit's frame: customers is complete, orders is not.
    const std::uint64_t cut = firstFrameOffset(s.path, orders_unit_b) + 20;
    const std::string truncated = dir.file("truncated.pgsl");
    writeWholeFile(truncated, bytes.substr(0, cut));

    const std::string message = inspectError(optionsFor(truncated, false));
    EXPECT_CONTAINS(message, "truncated at byte " + std::to_string(cut));
    EXPECT_CONTAINS(message, "1 of 2 tables with data were complete (public.customers)");

    // Cut only the trailer: the frames are all there, but the archive is not complete.
    writeWholeFile(truncated, bytes.substr(0, bytes.size() - 1));
    const std::string no_trailer = inspectError(optionsFor(truncated, true, true));
    EXPECT_CONTAINS(no_trailer, "2 of 2 tables with data were complete");
}

TEST(InspectTest, VerifyFindsAFlippedPayloadByte) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"));
    std::string bytes = readWholeFile(s.path);
    const std::uint64_t offset = firstFrameOffset(s.path, orders_unit_b);
    bytes[offset + archive::frame_header_size + 3] ^= 0x10;
    const std::string damaged = dir.file("damaged.pgsl");
    writeWholeFile(damaged, bytes);

    // Without --verify the index and manifests are intact, and the report says what was not
    // re-read.
    EXPECT_EQ(jsonReport(optionsFor(damaged, true))["status"], "complete");

    const std::string message = inspectError(optionsFor(damaged, false, true));
    EXPECT_CONTAINS(message, "at byte " + std::to_string(offset));
    EXPECT_CONTAINS(message, "checksum mismatch");
    EXPECT_CONTAINS(message, "unit 2");
    EXPECT_CONTAINS(message, "1 of 2 tables with data were complete (public.customers)");
}

TEST(InspectTest, RefusesWhatIsNotAnArchive) {
    TempDir dir{"pgsluice-inspect-test"};
    const std::string path = dir.file("notes.txt");
    writeWholeFile(path, "these are not the bytes of an archive, just some text\n");
    const std::string message = inspectError(optionsFor(path, false));
    EXPECT_CONTAINS(message, path);
    EXPECT_CONTAINS(message, "not a pgsluice archive");
}

TEST(InspectTest, RefusesAnArchiveWithoutContents) {
    TempDir dir{"pgsluice-inspect-test"};
    const std::string path = dir.file("other.pgsl");
    archive::ArchiveWriterOptions options;
    options.io = io::IoMode::sync;
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(path, options);
    writer.appendBlob(archive::FrameType::schema, 0, "schema only");
    writer.finish();
    const std::string message = inspectError(optionsFor(path, false));
    EXPECT_CONTAINS(message, "is not a pgsluice dump: it has no contents manifest");
}

TEST(InspectTest, MissingResultsManifestIsIncomplete) {
    TempDir dir{"pgsluice-inspect-test"};
    const Sample s = writeSample(dir.file("sample.pgsl"), false);
    std::string output;
    const std::string message = inspectError(optionsFor(s.path, true), &output);
    EXPECT_CONTAINS(message, "is incomplete: the results manifest");
    // The report is printed before the error: tables and sizes are known, rows are not.
    const nlohmann::json report = nlohmann::json::parse(output);
    EXPECT_EQ(report["status"], "incomplete");
    EXPECT_TRUE(report["tables"][1]["rows"].is_null());
    EXPECT_EQ(report["tables"][1]["raw_bytes"], s.orders_raw);
}

TEST(InspectTest, ReportFlagsUnitsThatDisagree) {
    const Contents contents = sampleContents();
    ArchiveFacts facts;
    facts.name = "made-up";
    const auto frame = [&](archive::FrameType type, std::uint32_t unit, std::uint64_t rows) {
        archive::IndexEntry entry;
        entry.header.type = type;
        entry.header.unit = unit;
        entry.header.rows = rows;
        entry.header.raw_length = type == archive::FrameType::data ? 100 : 0;
        entry.header.stored_length = entry.header.raw_length;
        facts.frames.push_back(entry);
    };
    frame(archive::FrameType::data, customers_unit, 2);
    frame(archive::FrameType::unit_end, customers_unit, 2);
    frame(archive::FrameType::data, orders_unit_a, 5);
    frame(archive::FrameType::unit_end, orders_unit_a, 5);
    // orders_unit_b is missing; unit 9 belongs to nothing.
    frame(archive::FrameType::unit_end, 9, 0);
    frame(archive::FrameType::unit_end, large_object_unit, 0);
    Results results;
    copy::RowDigest two;
    two.rows = 2;
    copy::RowDigest four;
    four.rows = 4;
    results.units = {UnitResult{customers_unit, two, 100}, UnitResult{orders_unit_a, four, 100},
                     UnitResult{orders_unit_b, four, 100}};

    const nlohmann::ordered_json report = buildInspectReport(facts, contents, &results);
    EXPECT_EQ(report["status"], "damaged");
    std::string problems;
    for (const auto& p : report["problems"]) {
        problems += p.get<std::string>() + "\n";
    }
    EXPECT_CONTAINS(problems, "table public.orders: unit 2 is not in the archive");
    EXPECT_CONTAINS(problems,
                    "table public.orders: unit 1 holds 5 rows in its frames, the results "
                    "manifest says 4");
    EXPECT_CONTAINS(problems, "data unit 9 (0 rows) belongs to no table");
    EXPECT_EQ(report["problems"].size(), 3u);
    EXPECT_CONTAINS(formatInspectText(report), "problem       table public.orders: unit 2");
}

TEST(InspectTest, FormatsVersionsAndTimes) {
    EXPECT_EQ(formatServerVersion(150004), "15.4");
    EXPECT_EQ(formatServerVersion(170000), "17.0");
    EXPECT_EQ(formatServerVersion(90624), "9.6.24");
    EXPECT_EQ(formatServerVersion(0), "unknown");
    EXPECT_EQ(formatUnixMicros(0), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(formatUnixMicros(1714564800123456), "2024-05-01T12:00:00.123456Z");
    EXPECT_EQ(formatUnixMicros(-1), "1969-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace pgsluice::engine
