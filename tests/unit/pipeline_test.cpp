// Unit tests of the data path without a server: the pump loop, the digesting sink, a unit's COPY
// stream through archive data frames and back (UnitWriter / UnitReader), and the pipe restore's
// feed (PipeFeed), which fans an archive stream out to parallel workers.

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/archive/unit_stream.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/binary_writer.hpp"
#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/archive_feed.hpp"
#include "pgsluice/engine/load_source.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/engine/progress.hpp"
#include "pgsluice/engine/pump.hpp"
#include "pgsluice/engine/runner.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/identifier.hpp"
#include "test_support.hpp"

namespace pgsluice::engine {
namespace {

using namespace std::chrono_literals;
using pgsluice::testing::readWholeFile;
using pgsluice::testing::TempDir;

// --- test ends of a data path ----------------------------------------------------------------

// Hands out fixed chunks; can trip an abort when a given chunk is asked for.
class VectorSource : public copy::ChunkSource {
  public:
    explicit VectorSource(std::vector<std::string> chunks) : chunks_(std::move(chunks)) {}

    std::optional<std::string_view> next() override {
        if (abort_at_ && next_ == *abort_at_) {
            abort_->fail(std::make_exception_ptr(Error("another worker failed")));
        }
        if (next_ == chunks_.size()) {
            ++ends_;
            return std::nullopt;
        }
        return chunks_[next_++];
    }
    // Trips `abort` when chunk `index` is asked for.
    void abortAt(AbortSignal& abort, std::size_t index) {
        abort_ = &abort;
        abort_at_ = index;
    }
    std::size_t handedOut() const { return next_; }
    int ends() const { return ends_; }

  private:
    std::vector<std::string> chunks_;
    std::size_t next_ = 0;
    int ends_ = 0;
    AbortSignal* abort_ = nullptr;
    std::optional<std::size_t> abort_at_;
};

// Keeps what it is given.
class CollectingSink : public copy::ChunkSink {
  public:
    void write(std::string_view chunk) override {
        EXPECT_EQ(finishes, 0) << "write() after finish()";
        chunks.emplace_back(chunk);
        bytes.append(chunk);
    }
    void finish() override { ++finishes; }

    std::vector<std::string> chunks;
    std::string bytes;
    int finishes = 0;
};

// `text` cut into chunks of 1, 2, 3, 5, 8... bytes (up to `largest`, then from 1 again), so that
// the cuts fall everywhere: inside lengths, inside values, between rows.
std::vector<std::string> cut(std::string_view text, std::size_t largest = 70000) {
    std::vector<std::string> chunks;
    std::size_t size = 1;
    std::size_t next = 2;
    while (!text.empty()) {
        const std::size_t n = std::min(size, text.size());
        chunks.emplace_back(text.substr(0, n));
        text.remove_prefix(n);
        std::tie(size, next) = std::pair(next, size + next);
        if (size > largest) {
            size = 1;
            next = 2;
        }
    }
    return chunks;
}

// --- COPY streams ----------------------------------------------------------------------------

std::string int4(std::int32_t value) {
    const auto v = static_cast<std::uint32_t>(value);
    return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xFF),
            static_cast<char>((v >> 8) & 0xFF), static_cast<char>(v & 0xFF)};
}

// A binary COPY stream of rows (id int4, email text), and each row's tuple bytes.
struct BinaryStream {
    std::string bytes;
    std::vector<std::string> rows;

    copy::RowDigest digest() const {
        copy::RowDigest d;
        for (const auto& r : rows) {
            d.addRow(r);
        }
        return d;
    }
};

// One tuple (id, email); email NULL when it is nullopt.
std::string tuple(std::int32_t id, const std::optional<std::string>& email) {
    std::string out;
    copy::BinaryWriter<std::string> w(out);
    w.beginRow(2);
    w.appendField(std::string_view(int4(id)));
    if (email) {
        w.appendField(std::string_view(*email));
    } else {
        w.appendNull();
    }
    return out;
}

// `count` rows; every `big_every`-th row (if any) carries a `big_bytes` text value.
BinaryStream binaryStream(int count, int big_every = 0, std::size_t big_bytes = 0,
                          int first_id = 0) {
    BinaryStream s;
    copy::BinaryWriter<std::string> w(s.bytes);
    w.writeHeader();
    for (int i = 0; i < count; ++i) {
        std::optional<std::string> email;
        if (big_every > 0 && i % big_every == big_every - 1) {
            email = std::string(big_bytes, static_cast<char>('a' + i % 26));
        } else if (i % 7 != 3) {
            email = "user" + std::to_string(first_id + i) + "@example.com";
        }  // else NULL
        s.rows.push_back(tuple(first_id + i, email));
        w.appendRow(copy::asBytes(s.rows.back()));
    }
    w.writeTrailer();
    return s;
}

// A text COPY stream: its bytes and its lines (without the newlines).
struct TextStream {
    std::string bytes;
    std::vector<std::string> lines;

    copy::RowDigest digest() const {
        copy::RowDigest d;
        for (const auto& l : lines) {
            d.addRow(l);
        }
        return d;
    }
};

TextStream textStream(int count, int big_every = 0, std::size_t big_bytes = 0) {
    TextStream s;
    for (int i = 0; i < count; ++i) {
        std::string line = std::to_string(i) + "\t";
        if (big_every > 0 && i % big_every == big_every - 1) {
            line += std::string(big_bytes, static_cast<char>('a' + i % 26));
        } else if (i % 7 == 3) {
            line += "\\N";
        } else {
            line += "user" + std::to_string(i) + "@example.com\\twith an escaped tab";
        }
        s.lines.push_back(line);
        s.bytes += line + "\n";
    }
    return s;
}

// --- pump ------------------------------------------------------------------------------------

TEST(EnginePump, MovesEveryChunkInOrderThenFinishesOnce) {
    AbortSignal abort;
    VectorSource source({"ab", "", "cde", "f"});
    CollectingSink sink;
    std::vector<std::size_t> counted;
    pump(source, sink, abort, [&](std::size_t bytes) { counted.push_back(bytes); });
    EXPECT_EQ(sink.chunks, (std::vector<std::string>{"ab", "", "cde", "f"}));
    EXPECT_EQ(sink.bytes, "abcdef");
    EXPECT_EQ(sink.finishes, 1);
    EXPECT_EQ(counted, (std::vector<std::size_t>{2, 0, 3, 1}));
    EXPECT_EQ(source.ends(), 1) << "the source is not asked again after it ended";
}

TEST(EnginePump, WorksWithoutACounter) {
    AbortSignal abort;
    VectorSource source({"x", "yz"});
    CollectingSink sink;
    pump(source, sink, abort);
    EXPECT_EQ(sink.bytes, "xyz");
    EXPECT_EQ(sink.finishes, 1);
}

TEST(EnginePump, EmptyStreamIsJustFinished) {
    AbortSignal abort;
    VectorSource source({});
    CollectingSink sink;
    int counts = 0;
    pump(source, sink, abort, [&](std::size_t) { ++counts; });
    EXPECT_TRUE(sink.chunks.empty());
    EXPECT_EQ(sink.finishes, 1);
    EXPECT_EQ(counts, 0);
}

TEST(EnginePump, WithoutRulesThePlainLoopRuns) {
    AbortSignal abort;
    const BinaryStream s = binaryStream(50);
    VectorSource source(cut(s.bytes, 64));
    CollectingSink sink;
    pump(source, nullptr, sink, abort);
    EXPECT_EQ(sink.bytes, s.bytes);
    EXPECT_EQ(sink.finishes, 1);
}

TEST(EnginePump, AlreadyAbortedRunStopsWithCancelledWithoutFinishing) {
    AbortSignal abort;
    abort.fail(std::make_exception_ptr(Error("boom")));
    VectorSource source({"a", "b", "c"});
    CollectingSink sink;
    EXPECT_THROW(pump(source, sink, abort), Cancelled);
    EXPECT_EQ(sink.finishes, 0);
    EXPECT_LE(source.handedOut(), 1u) << "the loop stops at its first check";
}

TEST(EnginePump, AbortDuringTheStreamStopsItWithCancelledWithoutFinishing) {
    AbortSignal abort;
    std::vector<std::string> chunks;
    for (int i = 0; i < 100; ++i) {
        chunks.push_back("chunk " + std::to_string(i));
    }
    VectorSource source(chunks);
    source.abortAt(abort, 10);  // when chunk 10 is asked for, another worker fails
    CollectingSink sink;
    std::size_t counted = 0;
    try {
        pump(source, sink, abort, [&](std::size_t) { ++counted; });
        FAIL() << "pump() went on after the abort";
    } catch (const Cancelled&) {
    }
    EXPECT_EQ(sink.finishes, 0) << "a stream cut short must never be finished (committed)";
    EXPECT_EQ(source.handedOut(), 11u);
    EXPECT_EQ(sink.chunks.size(), 11u) << "the chunk in hand is written, then the loop stops";
    EXPECT_EQ(counted, 11u);
    EXPECT_EQ(source.ends(), 0);
}

TEST(EnginePump, ASinkThatFailsStopsTheLoopWithItsError) {
    struct FailingSink : copy::ChunkSink {
        int writes = 0;
        bool finished = false;
        void write(std::string_view) override {
            if (++writes == 2) {
                throw FormatError("bad row");
            }
        }
        void finish() override { finished = true; }
    } sink;
    AbortSignal abort;
    VectorSource source({"a", "b", "c"});
    EXPECT_THROW(pump(source, sink, abort), FormatError);
    EXPECT_FALSE(sink.finished);
    EXPECT_EQ(source.handedOut(), 2u);
}

// --- DigestSink ------------------------------------------------------------------------------

TEST(PipelineDigestSink, PassesABinaryStreamOnUnchangedAndDigestsItsRows) {
    const BinaryStream s = binaryStream(2000, 500, 100000);
    CollectingSink next;
    copy::DigestSink digest(true, &next);
    for (const auto& chunk : cut(s.bytes)) {
        digest.write(chunk);
    }
    digest.finish();
    EXPECT_EQ(next.bytes, s.bytes);
    EXPECT_EQ(next.finishes, 1);
    copy::StreamDigest whole(true);
    whole.feed(s.bytes);
    whole.finish();
    EXPECT_EQ(digest.digest(), whole.digest());
    EXPECT_EQ(digest.digest(), s.digest()) << "each tuple's bytes, header and trailer excluded";
    EXPECT_EQ(digest.digest().rows, 2000u);
}

TEST(PipelineDigestSink, PassesATextStreamOnUnchangedAndDigestsItsLines) {
    const TextStream s = textStream(3000, 1000, 200000);
    CollectingSink next;
    copy::DigestSink digest(false, &next);
    for (const auto& chunk : cut(s.bytes)) {
        digest.write(chunk);
    }
    digest.finish();
    EXPECT_EQ(next.bytes, s.bytes);
    EXPECT_EQ(next.finishes, 1);
    copy::StreamDigest whole(false);
    whole.feed(s.bytes);
    whole.finish();
    EXPECT_EQ(digest.digest(), whole.digest());
    EXPECT_EQ(digest.digest(), s.digest());
    EXPECT_EQ(digest.digest().rows, 3000u);
}

TEST(PipelineDigestSink, DigestIsIndependentOfTheChunking) {
    const BinaryStream s = binaryStream(300);
    copy::DigestSink one_piece(true);
    one_piece.write(s.bytes);
    one_piece.finish();
    copy::DigestSink bytewise(true);
    for (char c : s.bytes) {
        bytewise.write(std::string_view(&c, 1));
    }
    bytewise.finish();
    EXPECT_EQ(one_piece.digest(), bytewise.digest());
}

TEST(PipelineDigestSink, TruncatedBinaryStreamFailsAndIsNotPassedOnAsFinished) {
    const BinaryStream s = binaryStream(10);
    CollectingSink next;
    copy::DigestSink digest(true, &next);
    digest.write(std::string_view(s.bytes).substr(0, s.bytes.size() - 2));  // no trailer
    EXPECT_THROW(digest.finish(), FormatError);
    EXPECT_EQ(next.finishes, 0);
}

TEST(PipelineDigestSink, TextStreamEndingInsideALineFails) {
    CollectingSink next;
    copy::DigestSink digest(false, &next);
    digest.write("1\ta\n2\tb");
    try {
        digest.finish();
        FAIL() << "no error";
    } catch (const FormatError& e) {
        EXPECT_STREQ(e.what(), "COPY text stream ended inside a row");
    }
    EXPECT_EQ(next.finishes, 0);
}

// --- UnitWriter / UnitReader -----------------------------------------------------------------

// Writes `chunks` as unit `unit` of a new archive at `path`; returns the writer's digest and
// raw bytes.
std::pair<copy::RowDigest, std::uint64_t> writeUnit(const std::string& path, std::uint32_t unit,
                                                    bool binary,
                                                    const std::vector<std::string>& chunks) {
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(path);
    archive::FrameEncoder encoder(1);
    archive::UnitWriter unit_writer(writer, encoder, unit, binary, 2);
    for (const auto& chunk : chunks) {
        unit_writer.write(chunk);
    }
    unit_writer.finish();
    writer.finish();
    return {unit_writer.digest(), unit_writer.rawBytes()};
}

// Reads unit `unit` of the archive at `path` back as a COPY stream.
std::string readUnit(const archive::SeekableArchive& archive, std::uint32_t unit, bool binary) {
    const archive::UnitInfo* info = archive.findUnit(unit);
    if (!info) {
        ADD_FAILURE() << "unit " << unit << " is not in the archive";
        return "";
    }
    archive::FrameDecoder decoder;
    archive::UnitReader reader(archive, *info, decoder, binary);
    std::string out;
    while (std::optional<std::string_view> chunk = reader.next()) {
        out.append(*chunk);
    }
    EXPECT_EQ(reader.next(), std::nullopt) << "the end stays the end";
    return out;
}

TEST(PipelineUnitStream, BinaryStreamRoundTripsThroughSeveralDataFrames) {
    // 3000 rows, every 300th of 1.5 MiB: about 15 MiB, so several 4 MiB frames.
    const BinaryStream s = binaryStream(3000, 300, (std::size_t{3} << 20) / 2);
    TempDir dir;
    const std::string path = dir.file("unit.pgs");
    const auto [digest, raw_bytes] = writeUnit(path, 7, true, cut(s.bytes, 1 << 20));

    copy::StreamDigest expected(true);
    expected.feed(s.bytes);
    expected.finish();
    EXPECT_EQ(digest, expected.digest());
    EXPECT_EQ(digest.rows, 3000u);
    EXPECT_EQ(raw_bytes,
              s.bytes.size() - copy::copy_plain_header.size() - copy::copy_trailer.size());

    const archive::SeekableArchive archive = archive::SeekableArchive::open(path);
    ASSERT_EQ(archive.units().size(), 1u);
    const archive::UnitInfo& info = archive.units()[0];
    EXPECT_EQ(info.unit, 7u);
    EXPECT_GE(info.frames.size(), 3u);
    EXPECT_EQ(info.rows, 3000u);
    EXPECT_EQ(readUnit(archive, 7, true), s.bytes);

    // Each frame holds whole rows: digested alone, the frames add up to the unit's digest.
    archive::FrameDecoder decoder;
    copy::RowDigest by_frames;
    for (std::size_t position : info.frames) {
        const archive::Frame frame = archive.readFrame(archive.entries()[position], decoder);
        EXPECT_LE(frame.payload.size(),
                  archive::data_frame_bytes + (std::size_t{3} << 20) / 2 + 64);
        copy::StreamDigest part(true);
        part.feed(copy::copy_plain_header);
        part.feed(frame.payload);
        part.feed(copy::copy_trailer);
        part.finish();
        EXPECT_EQ(part.digest().rows, frame.header.rows);
        by_frames.add(part.digest());
    }
    EXPECT_EQ(by_frames, digest);
}

TEST(PipelineUnitStream, TextStreamRoundTripsThroughSeveralDataFrames) {
    const TextStream s = textStream(4000, 400, (std::size_t{3} << 20) / 2);
    TempDir dir;
    const std::string path = dir.file("unit.pgs");
    const auto [digest, raw_bytes] = writeUnit(path, 3, false, cut(s.bytes, 1 << 20));

    copy::StreamDigest expected(false);
    expected.feed(s.bytes);
    expected.finish();
    EXPECT_EQ(digest, expected.digest());
    EXPECT_EQ(digest.rows, 4000u);
    EXPECT_EQ(raw_bytes, s.bytes.size());

    const archive::SeekableArchive archive = archive::SeekableArchive::open(path);
    const archive::UnitInfo* info = archive.findUnit(3);
    ASSERT_NE(info, nullptr);
    EXPECT_GE(info->frames.size(), 3u);
    EXPECT_EQ(info->rows, 4000u);
    EXPECT_EQ(readUnit(archive, 3, false), s.bytes);

    archive::FrameDecoder decoder;
    std::uint64_t rows = 0;
    for (std::size_t position : info->frames) {
        const archive::Frame frame = archive.readFrame(archive.entries()[position], decoder);
        EXPECT_TRUE(frame.payload.ends_with('\n')) << "text frames end at a line end";
        copy::StreamDigest part(false);
        part.feed(frame.payload);
        part.finish();
        EXPECT_EQ(part.digest().rows, frame.header.rows);
        rows += frame.header.rows;
    }
    EXPECT_EQ(rows, 4000u);
}

TEST(PipelineUnitStream, EmptyBinaryStreamIsAUnitWithoutFrames) {
    const BinaryStream s = binaryStream(0);
    TempDir dir;
    const std::string path = dir.file("unit.pgs");
    const auto [digest, raw_bytes] = writeUnit(path, 0, true, {s.bytes});
    EXPECT_EQ(digest.rows, 0u);
    EXPECT_EQ(raw_bytes, 0u);
    const archive::SeekableArchive archive = archive::SeekableArchive::open(path);
    const archive::UnitInfo* info = archive.findUnit(0);
    ASSERT_NE(info, nullptr);
    EXPECT_TRUE(info->frames.empty());
    EXPECT_EQ(readUnit(archive, 0, true), s.bytes);
}

TEST(PipelineUnitStream, TruncatedBinaryStreamMakesFinishThrow) {
    const BinaryStream s = binaryStream(100);
    TempDir dir;
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(dir.file("unit.pgs"));
    archive::FrameEncoder encoder(1);
    archive::UnitWriter unit_writer(writer, encoder, 0, true, 2);
    unit_writer.write(std::string_view(s.bytes).substr(0, s.bytes.size() - 2));  // no trailer
    EXPECT_THROW(unit_writer.finish(), FormatError);
}

TEST(PipelineUnitStream, TextStreamEndingInsideALineMakesFinishThrow) {
    TempDir dir;
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(dir.file("unit.pgs"));
    archive::FrameEncoder encoder(1);
    archive::UnitWriter unit_writer(writer, encoder, 0, false, 2);
    unit_writer.write("1\ta\n2\tb");
    EXPECT_THROW(unit_writer.finish(), FormatError);
}

TEST(PipelineUnitStream, BinaryRowWithTheWrongFieldCountIsRefused) {
    std::string stream;
    copy::BinaryWriter<std::string> w(stream);
    w.writeHeader();
    w.beginRow(3);
    w.appendField(std::string_view("a"));
    w.appendField(std::string_view("b"));
    w.appendField(std::string_view("c"));
    w.writeTrailer();
    TempDir dir;
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(dir.file("unit.pgs"));
    archive::FrameEncoder encoder(1);
    archive::UnitWriter unit_writer(writer, encoder, 0, true, 2);
    EXPECT_THROW(
        {
            unit_writer.write(stream);
            unit_writer.finish();
        },
        FormatError);
}

// --- PipeFeed --------------------------------------------------------------------------------

// Runs `body` on a thread of its own; a body still running after `limit` is a hang, which
// fails the test and ends the process (the hung threads cannot be stopped) instead of hanging.
void withDeadline(std::chrono::seconds limit, std::function<void()> body) {
    std::packaged_task<void()> task(std::move(body));
    std::future<void> done = task.get_future();
    std::thread runner(std::move(task));
    if (done.wait_for(limit) != std::future_status::ready) {
        ADD_FAILURE() << "still running after " << limit.count() << " s: the feed hangs";
        std::fflush(stdout);
        std::fflush(stderr);
        std::abort();
    }
    runner.join();
    done.get();  // rethrows what the body threw
}

// An archive whose data units are written in a given interleaving, with a results manifest.
struct FeedArchive {
    // Per archive unit: the rows of its frames (each frame whole rows).
    std::map<std::uint32_t, std::vector<std::vector<std::string>>> frames;
    std::string bytes;  // the archive file

    // A unit's COPY stream as a worker must load it.
    std::string stream(std::uint32_t unit) const {
        std::string out(copy::copy_plain_header);
        for (const auto& rows : frames.at(unit)) {
            for (const auto& r : rows) {
                out += r;
            }
        }
        out += copy::copy_trailer;
        return out;
    }
    copy::RowDigest digest(std::uint32_t unit) const {
        copy::RowDigest d;
        for (const auto& rows : frames.at(unit)) {
            for (const auto& r : rows) {
                d.addRow(r);
            }
        }
        return d;
    }
};

// One step of the interleaving: the next data frame of `unit`, or (end) its unit-end frame, or
// (abandon) an abandoned unit-end frame that voids the unit's frames so far (a dump's retry).
struct Step {
    std::uint32_t unit;
    bool end = false;
    bool abandon = false;
};

// Writes an archive at `path` following `steps`; every data frame holds `rows_per_frame` rows.
FeedArchive writeFeedArchive(const std::string& path, const std::vector<Step>& steps,
                             int rows_per_frame = 40) {
    FeedArchive a;
    archive::ArchiveWriter writer = archive::ArchiveWriter::create(path);
    archive::FrameEncoder encoder(1);
    archive::Results results;
    std::map<std::uint32_t, int> attempt;  // per unit: abandoned attempts so far
    for (const Step& step : steps) {
        auto& frames = a.frames[step.unit];
        if (step.end) {
            writer.endUnit(step.unit);
            continue;
        }
        if (step.abandon) {
            writer.abandonUnit(step.unit);
            frames.clear();  // the stream the unit must load is the last attempt's
            ++attempt[step.unit];
            continue;
        }
        std::vector<std::string> rows;
        std::string payload;
        for (int r = 0; r < rows_per_frame; ++r) {
            // Each attempt's rows differ, so that a row of an abandoned attempt cannot pass.
            const int id = static_cast<int>(step.unit) * 100000 + attempt[step.unit] * 30000 +
                           static_cast<int>(frames.size()) * 1000 + r;
            rows.push_back(tuple(id, r % 5 == 4 ? std::nullopt
                                                : std::optional<std::string>(
                                                      "u" + std::to_string(id) + "@example.com")));
            payload += rows.back();
        }
        writer.appendFrame(encoder.encode(archive::FrameType::data, step.unit,
                                          static_cast<std::uint32_t>(frames.size()),
                                          static_cast<std::uint64_t>(rows.size()), payload));
        frames.push_back(std::move(rows));
    }
    for (const auto& [unit, frames] : a.frames) {
        archive::UnitResult r;
        r.id = unit;
        r.digest = a.digest(unit);
        for (const auto& rows : frames) {
            for (const auto& row : rows) {
                r.raw_bytes += row.size();
            }
        }
        results.units.push_back(r);
    }
    results.finished = "2026-01-01T00:00:00Z";
    results.seconds = 1.5;
    writer.appendBlob(archive::FrameType::manifest, archive::results_stream,
                      archive::toJson(results));
    writer.finish();
    a.bytes = readWholeFile(path);
    return a;
}

// Units 0 and 1 of one table, their data frames in turns, then both unit ends.
std::vector<Step> twoInterleavedUnits(int frames_each = 6) {
    std::vector<Step> steps;
    for (int f = 0; f < frames_each; ++f) {
        steps.push_back({0});
        steps.push_back({1});
    }
    steps.push_back({0, true});
    steps.push_back({1, true});
    return steps;
}

// The table the units belong to, and a plan of `ids` (plan unit i is archive unit ids[i]).
struct FeedPlan {
    pg::Table table;
    Plan plan;

    explicit FeedPlan(const std::vector<std::uint32_t>& ids) {
        table.oid = 1;
        table.schema = "public";
        table.name = "users";
        table.qualified = pg::qualifiedName("public", "users");
        table.columns = {{"id", 23, "integer"}, {"email", 25, "text"}};
        plan.tables.push_back({&table, true, static_cast<int>(ids.size())});
        for (std::size_t i = 0; i < ids.size(); ++i) {
            WorkUnit u;
            u.table = 0;
            u.id = ids[i];
            u.part = static_cast<int>(i);
            u.parts = static_cast<int>(ids.size());
            plan.units.push_back(u);
        }
    }
    FeedPlan(const FeedPlan&) = delete;
};

// What a run of the feed did.
struct FeedRun {
    std::map<std::size_t, std::vector<std::string>> loaded;  // plan unit -> each load's bytes
    std::vector<copy::RowDigest> digests;                    // ReadDigests, per plan unit
    std::map<std::size_t, int> abandoned;  // plan unit -> loads thrown away (UnitAbandoned)
    std::optional<archive::Results> results;
    std::exception_ptr error;  // the run's failure (the abort signal's), null when it worked
};

// Makes a byte stream of `bytes` readable at the returned descriptor, written by a thread that
// the returned object joins.
struct PipeWriter {
    int read_fd = -1;
    std::thread thread;

    explicit PipeWriter(std::string bytes) {
        int fds[2];
        if (::pipe(fds) != 0) {
            throw std::runtime_error("pipe() failed");
        }
        read_fd = fds[0];
        thread = std::thread([fd = fds[1], bytes = std::move(bytes)] {
            // A reader that stops early closes its end: get EPIPE, not a SIGPIPE.
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            pthread_sigmask(SIG_BLOCK, &set, nullptr);
            std::size_t done = 0;
            while (done < bytes.size()) {
                // Small writes, so the reader often waits for the next bytes.
                const std::size_t n = std::min<std::size_t>(4093, bytes.size() - done);
                const ssize_t rc = ::write(fd, bytes.data() + done, n);
                if (rc <= 0) {
                    break;
                }
                done += static_cast<std::size_t>(rc);
            }
            ::close(fd);
        });
    }
    ~PipeWriter() { thread.join(); }
};

// Drives `feed` as DataPhase does: workers(), begin(), one loop per worker, end().
FeedRun runFeed(archive::ArchiveReader& reader, const Plan& plan, int jobs, int dump_jobs) {
    FeedRun run;
    AbortSignal abort;
    ReadDigests digests(plan.units.size());
    LargeObjectSink large_objects(
        []() -> pg::Connection {
            ADD_FAILURE() << "the archive has no large objects: nothing may connect";
            throw Error("no server in unit tests");
        },
        [](std::uint32_t) { return true; }, abort);
    archive::Contents contents;
    contents.jobs = dump_jobs;
    Progress progress(ProgressMode::none, false, false);
    PipeFeed feed(reader, contents, plan, digests, large_objects, run.results, abort, progress);
    EXPECT_TRUE(feed.streamOrder());
    const int workers = feed.workers(jobs);
    EXPECT_EQ(workers, std::max(jobs, dump_jobs));
    feed.begin(workers);
    std::mutex mutex;
    try {
        runParallel(workers, abort, [&](int w) {
            std::unique_ptr<UnitFeed::Worker> end = feed.worker(w);
            while (std::optional<std::size_t> unit = feed.nextFor(w)) {
                for (bool loaded = false; !loaded;) {
                    CollectingSink sink;
                    try {
                        pump(end->open(*unit), sink, abort);
                    } catch (const UnitAbandoned&) {
                        // As DataPhase does: what was loaded is thrown away (the sink with it),
                        // the unit is opened again.
                        EXPECT_EQ(sink.finishes, 0);
                        std::lock_guard lock(mutex);
                        ++run.abandoned[*unit];
                        continue;
                    }
                    EXPECT_EQ(sink.finishes, 1);
                    std::lock_guard lock(mutex);
                    run.loaded[*unit].push_back(std::move(sink.bytes));
                    loaded = true;
                }
            }
        });
    } catch (...) {
        EXPECT_TRUE(abort.aborted()) << "what runParallel() rethrows is in the abort signal";
    }
    feed.end();
    // As Run::execute does, the run's failure is the abort signal's once everything stopped:
    // runParallel() joins the workers only, and the reader may record its error after theirs,
    // or after they all finished (a unit missing at the end of the stream).
    run.error = abort.error();
    for (std::size_t u = 0; u < plan.units.size(); ++u) {
        run.digests.push_back(digests.get(u));
    }
    return run;
}

// The message and whether it is a FormatError.
std::pair<bool, std::string> describe(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const FormatError& e) {
        return {true, e.what()};
    } catch (const std::exception& e) {
        return {false, std::string(typeid(e).name()) + ": " + e.what()};
    }
}

// Checks that every plan unit was loaded once with its archive unit's stream and digest.
void expectLoadedOnce(const FeedRun& run, const FeedArchive& a, const FeedPlan& p) {
    if (run.error) {
        ADD_FAILURE() << "the run failed: " << describe(run.error).second;
        return;
    }
    ASSERT_EQ(run.loaded.size(), p.plan.units.size());
    for (std::size_t u = 0; u < p.plan.units.size(); ++u) {
        const std::uint32_t id = p.plan.units[u].id;
        ASSERT_EQ(run.loaded.at(u).size(), 1u) << "plan unit " << u << " loaded more than once";
        EXPECT_EQ(run.loaded.at(u)[0], a.stream(id)) << "plan unit " << u;
        EXPECT_EQ(run.digests[u], a.digest(id)) << "plan unit " << u;
    }
    ASSERT_TRUE(run.results.has_value());
    EXPECT_EQ(run.results->units.size(), a.frames.size());
    EXPECT_EQ(run.results->finished, "2026-01-01T00:00:00Z");
}

TEST(EnginePipeFeed, LoadsTwoInterleavedUnitsOnceEach) {
    TempDir dir;
    const std::string path = dir.file("two.pgs");
    const FeedArchive a = writeFeedArchive(path, twoInterleavedUnits());
    const FeedPlan p({0, 1});
    withDeadline(30s, [&] {
        archive::ArchiveReader reader = archive::ArchiveReader::open(path);
        expectLoadedOnce(runFeed(reader, p.plan, 2, 2), a, p);
    });
}

TEST(EnginePipeFeed, HandOverBetweenReaderAndWorkersNeverHangs) {
    // A race in the hand-over between the reader thread and the workers once made a restore
    // hang 1 run in 10: repeat the run, through a file and through a pipe.
    TempDir dir;
    const std::string path = dir.file("two.pgs");
    const FeedArchive a = writeFeedArchive(path, twoInterleavedUnits());
    const FeedPlan p({0, 1});
    withDeadline(30s, [&] {
        for (int i = 0; i < 50; ++i) {
            SCOPED_TRACE(::testing::Message() << "run " << i);
            if (i % 2 == 0) {
                archive::ArchiveReader reader = archive::ArchiveReader::open(path);
                expectLoadedOnce(runFeed(reader, p.plan, 2, 2), a, p);
            } else {
                PipeWriter pipe(a.bytes);
                archive::ArchiveReader reader(io::FileReader(
                    io::FileDescriptor(pipe.read_fd), "standard input", io::IoMode::automatic));
                expectLoadedOnce(runFeed(reader, p.plan, 2, 2), a, p);
            }
            if (::testing::Test::HasFailure()) {
                break;
            }
        }
    });
}

TEST(EnginePipeFeed, LanesAreReusedAndUnitsLeftOutAreSkipped) {
    // Unit 2 starts once unit 0 ended, on the lane unit 0 freed; unit 7 is not in the plan.
    TempDir dir;
    const std::string path = dir.file("reuse.pgs");
    const FeedArchive a = writeFeedArchive(path, {{0},
                                                  {1},
                                                  {7},
                                                  {0},
                                                  {0, true},
                                                  {2},
                                                  {1},
                                                  {7},
                                                  {2},
                                                  {7, true},
                                                  {1},
                                                  {1, true},
                                                  {2},
                                                  {2, true}});
    const FeedPlan p({0, 1, 2});
    withDeadline(30s, [&] {
        for (int i = 0; i < 20 && !::testing::Test::HasFailure(); ++i) {
            archive::ArchiveReader reader = archive::ArchiveReader::open(path);
            expectLoadedOnce(runFeed(reader, p.plan, 2, 2), a, p);
        }
    });
}

TEST(EnginePipeFeed, UsesAsManyConnectionsAsTheDumpHadWorkers) {
    // Written by 3 dump workers (3 units open at once), restored with -j 1: one connection
    // per open unit is needed, or the unit whose frames come next could wait forever.
    TempDir dir;
    const std::string path = dir.file("three.pgs");
    const FeedArchive a =
        writeFeedArchive(path, {{0}, {1}, {2}, {0}, {1}, {2}, {2, true}, {1, true}, {0, true}});
    const FeedPlan p({0, 1, 2});
    withDeadline(30s, [&] {
        archive::ArchiveReader reader = archive::ArchiveReader::open(path);
        expectLoadedOnce(runFeed(reader, p.plan, 1, 3), a, p);
    });
}

TEST(EnginePipeFeed, AnAbandonedAttemptIsThrownAwayAndTheUnitLoadedAgain) {
    // Unit 0's first attempt (two frames, already streamed to its worker) is abandoned mid-way
    // while unit 1 goes on; unit 1 has an attempt without frames (nothing to undo), then one
    // with a frame that is abandoned after unit 0 ended. Every unit must load exactly its last
    // attempt, through a file and through a pipe.
    TempDir dir;
    const std::string path = dir.file("retried.pgs");
    const FeedArchive a = writeFeedArchive(path, {{0},
                                                  {1, false, true},
                                                  {1},
                                                  {0},
                                                  {0, false, true},
                                                  {1},
                                                  {0},
                                                  {0},
                                                  {0, true},
                                                  {1, false, true},
                                                  {1},
                                                  {1, true}});
    const FeedPlan p({0, 1});
    withDeadline(30s, [&] {
        for (int i = 0; i < 20 && !::testing::Test::HasFailure(); ++i) {
            SCOPED_TRACE(::testing::Message() << "run " << i);
            std::optional<PipeWriter> pipe;
            std::optional<archive::ArchiveReader> reader;
            if (i % 2 == 0) {
                reader.emplace(archive::ArchiveReader::open(path));
            } else {
                pipe.emplace(a.bytes);
                reader.emplace(io::FileReader(io::FileDescriptor(pipe->read_fd), "standard input",
                                              io::IoMode::automatic));
            }
            const FeedRun run = runFeed(*reader, p.plan, 2, 2);
            expectLoadedOnce(run, a, p);
            // Unit 0's abandoned frames had reached its worker; unit 1's empty attempt never
            // reached it, its second one did.
            EXPECT_EQ(run.abandoned.count(0) ? run.abandoned.at(0) : 0, 1);
            EXPECT_EQ(run.abandoned.count(1) ? run.abandoned.at(1) : 0, 1);
        }
    });
    // A file restore reads the last attempt through the index.
    const archive::SeekableArchive file = archive::SeekableArchive::open(path);
    ASSERT_NE(file.findUnit(0), nullptr);
    EXPECT_EQ(file.findUnit(0)->attempts, 2u);
    EXPECT_EQ(file.findUnit(1)->attempts, 3u);
    EXPECT_EQ(file.findUnit(0)->frames.size(), 2u);
    EXPECT_EQ(file.findUnit(1)->frames.size(), 1u);
}

TEST(EnginePipeFeed, StreamEndingInsideAUnitFailsWithTheTruncation) {
    TempDir dir;
    const std::string path = dir.file("two.pgs");
    const FeedArchive a = writeFeedArchive(path, twoInterleavedUnits());
    // Cut the stream inside the payload of unit 0's third data frame: both units are open.
    std::uint64_t cut_at = 0;
    {
        const archive::SeekableArchive full = archive::SeekableArchive::open(path);
        for (const archive::IndexEntry& e : full.entries()) {
            if (e.header.type == archive::FrameType::data && e.header.unit == 0 &&
                e.header.seq == 2) {
                cut_at = e.offset + archive::frame_header_size + e.header.stored_length / 2;
            }
        }
    }
    ASSERT_GT(cut_at, 0u);
    const std::string truncated_path = dir.file("truncated.pgs");
    std::ofstream(truncated_path, std::ios::binary) << a.bytes.substr(0, cut_at);
    const FeedPlan p({0, 1});
    withDeadline(30s, [&] {
        // The reader's error and the workers' "stopped" race to the abort signal: repeat.
        for (int i = 0; i < 30 && !::testing::Test::HasFailure(); ++i) {
            SCOPED_TRACE(::testing::Message() << "run " << i);
            archive::ArchiveReader reader = archive::ArchiveReader::open(truncated_path);
            const FeedRun run = runFeed(reader, p.plan, 2, 2);
            ASSERT_TRUE(run.error) << "a truncated stream was loaded without an error";
            const auto [is_format_error, message] = describe(run.error);
            EXPECT_TRUE(is_format_error) << message;
            EXPECT_CONTAINS(message, "truncated at byte");
            EXPECT_CONTAINS(message, "the stream was being read for table \"public\".\"users\"");
            EXPECT_FALSE(run.results.has_value());
            for (const auto& [unit, loads] : run.loaded) {
                ADD_FAILURE() << "plan unit " << unit << " was loaded from a cut stream";
            }
        }
    });
}

TEST(EnginePipeFeed, StreamMissingAUnitOfThePlanFails) {
    TempDir dir;
    const std::string path = dir.file("one.pgs");
    writeFeedArchive(path, {{0}, {0}, {0, true}});
    const FeedPlan p({0, 1});
    withDeadline(30s, [&] {
        archive::ArchiveReader reader = archive::ArchiveReader::open(path);
        const FeedRun run = runFeed(reader, p.plan, 2, 2);
        ASSERT_TRUE(run.error);
        const auto [is_format_error, message] = describe(run.error);
        EXPECT_TRUE(is_format_error) << message;
        EXPECT_CONTAINS(message, "1 of the 2 units the manifest lists are missing");
        EXPECT_FALSE(run.results.has_value());
    });
}

}  // namespace
}  // namespace pgsluice::engine
