// Unit tests of the archive format: round trips (sequential and seekable readers, regular file
// and pipe, sync and io_uring), concurrent writers and readers, version 2 (abandoned attempts,
// continued frames) and version 1 archives, damage: every single-bit flip and every truncation
// of a small archive must be refused, with messages that say where; and the UnitWriter, which
// stores rows of any size in frames of a bounded size.
//
// Hand-assembled archives (assemble() below) test the reader rules the writer never breaks.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "big_endian.hpp"
#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/archive/unit_stream.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/engine/inspect_report.hpp"
#include "pgsluice/engine/inspection.hpp"
#include "pgsluice/error.hpp"
#include "test_support.hpp"

namespace pgsluice::archive {
namespace {

using pgsluice::testing::be32;

using pgsluice::testing::readWholeFile;
using pgsluice::testing::TempDir;

namespace fs = std::filesystem;

// An in-memory regular file holding `bytes`, so the corruption loops do not touch the disk.
io::FileDescriptor memoryFile(std::string_view bytes) {
    const int fd = ::memfd_create("archive-test", MFD_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error("memfd_create failed");
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t rc = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (rc <= 0) {
            throw std::runtime_error("write to memfd failed");
        }
        done += static_cast<std::size_t>(rc);
    }
    ::lseek(fd, 0, SEEK_SET);
    return io::FileDescriptor(fd);
}

// Rows shaped like COPY BINARY output: field count, then length-prefixed int4, text, timestamp.
std::string copyLikeRows(int rows, std::uint64_t seed) {
    static const char* const names[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
    std::mt19937_64 random(seed);
    std::string out;
    for (int i = 0; i < rows; ++i) {
        const std::string email =
            std::string{names[random() % 6]} + std::to_string(random() % 1000) + "@example.com";
        out += std::string("\0\3\0\0\0\4", 6);
        out += static_cast<char>(i >> 8);
        out += static_cast<char>(i);
        out += "\0\0";
        out += std::string("\0\0\0", 3) + static_cast<char>(email.size()) + email;
        out += std::string("\0\0\0\x08\0\2\xb1\x7a", 8) + static_cast<char>(random() % 256) +
               std::string("\0\0\0", 3);
    }
    return out;
}

std::string randomBytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::string out(size, '\0');
    for (char& c : out) {
        c = static_cast<char>(random());
    }
    return out;
}

// What an archive holds, as the tests compare it: a unit's payloads are those of its closing
// attempt (earlier attempts, closed by abandoned unit-end frames, are void).
struct Content {
    std::string schema;
    std::string manifest;
    std::map<std::uint32_t, std::vector<std::string>> units;  // data payloads in seq order
    std::map<std::uint32_t, std::uint64_t> unit_rows;         // from the unit-end frames
    std::map<std::uint32_t, std::uint32_t> attempts;          // units with abandoned attempts
    std::map<std::uint32_t, std::vector<bool>> continued;     // continued flags, in seq order
    bool operator==(const Content&) const = default;
};

// The sample: a schema, four units (one empty, one incompressible, interleaved), a manifest;
// in version 2 also unit 5 (one abandoned attempt, then a row spanning two continued frames and
// a third) and unit 6 (two abandoned attempts, the first cut inside a row, the second empty).
struct Sample {
    Content content;
    std::size_t blob_chunk_size = 64;
    std::uint16_t version = format_version;

    // `size` scales the payloads: 1 gives a ~3 KiB archive for the exhaustive damage loops.
    explicit Sample(int size = 1, std::uint16_t format = format_version) : version(format) {
        content.schema = "PGDMP fake schema " + std::string(100, 's');
        content.manifest = R"({"tables":[{"unit":1},{"unit":2},{"unit":3},{"unit":4}]})";
        content.units[1] = {copyLikeRows(3 * size, 1), copyLikeRows(5 * size, 2),
                            copyLikeRows(2 * size, 3)};
        content.units[2] = {};
        content.units[3] = {copyLikeRows(4 * size, 4), std::string{}};
        content.units[4] = {randomBytes(static_cast<std::size_t>(60 * size), 5)};
        content.unit_rows = {{1, 10 * size}, {2, 0}, {3, 4 * size}, {4, 1}};
        if (version >= 2) {
            const std::string row = copyLikeRows(2 * size, 6);
            const std::size_t third = row.size() / 3;
            content.units[5] = {row.substr(0, third), row.substr(third, third),
                                row.substr(2 * third)};
            content.continued[5] = {true, true, false};
            content.units[6] = {copyLikeRows(1, 7)};
            content.unit_rows[5] = 2 * size;
            content.unit_rows[6] = 1;
            content.attempts = {{5, 2}, {6, 3}};
        }
        for (const auto& [unit, payloads] : content.units) {
            content.continued[unit].resize(payloads.size(), false);
        }
    }

    std::uint64_t rowsOf(std::uint32_t unit, std::size_t seq) const {
        if (unit == 1) {
            return std::vector<std::uint64_t>{3, 5, 2}[seq] * (content.unit_rows.at(1) / 10);
        }
        if (unit == 3) {
            return seq == 0 ? content.unit_rows.at(3) : 0;
        }
        if (unit == 5) {
            return seq == 2 ? content.unit_rows.at(5) : 0;  // the rows end in the last frame
        }
        return 1;
    }

    // Writes the sample in an interleaved order, as parallel workers would.
    void write(ArchiveWriter& writer) const {
        FrameEncoder encoder(3);
        const auto data = [&](std::uint32_t unit, std::uint32_t seq) {
            writer.appendFrame(encoder.encode(FrameType::data, unit, seq, rowsOf(unit, seq),
                                              content.units.at(unit)[seq], false,
                                              content.continued.at(unit)[seq]));
        };
        const auto voided = [&](std::uint32_t unit, std::uint32_t seq, std::uint64_t rows,
                                std::string_view payload, bool continued) {
            writer.appendFrame(
                encoder.encode(FrameType::data, unit, seq, rows, payload, false, continued));
        };
        writer.appendBlob(FrameType::schema, 0, content.schema);
        data(1, 0);
        if (version >= 2) {
            voided(5, 0, 1, "void row of unit 5", false);
            voided(6, 0, 1, "void row", false);
            voided(6, 1, 0, "void cut", true);
            writer.abandonUnit(6);  // cut inside a row: the attempt may end continued
        }
        data(3, 0);
        data(1, 1);
        writer.endUnit(2);
        if (version >= 2) {
            writer.abandonUnit(5);
            writer.abandonUnit(6);  // an attempt without frames
            data(5, 0);
        }
        data(4, 0);
        data(3, 1);
        writer.endUnit(3);
        if (version >= 2) {
            data(5, 1);
            data(6, 0);
            data(5, 2);
            writer.endUnit(5);
            writer.endUnit(6);
        }
        data(1, 2);
        writer.endUnit(1);
        writer.endUnit(4);
        writer.appendBlob(FrameType::manifest, 0, content.manifest);
        writer.finish();
    }

    ArchiveWriterOptions options(io::IoMode mode) const {
        ArchiveWriterOptions options;
        options.format_version = version;
        options.io = mode;
        options.writer_name = "pgsluice test";
        options.blob_chunk_size = blob_chunk_size;  // the schema spans two frames
        options.buffers = io::WriterOptions{512, 3};
        return options;
    }

    // The archive bytes, written through a real file.
    std::string bytes() const {
        TempDir dir{"pgsluice-archive-test"};
        const std::string path = dir.file("sample.pgs");
        ArchiveWriter writer = ArchiveWriter::create(path, options(io::IoMode::sync));
        write(writer);
        return readWholeFile(path);
    }
};

// Reads every frame in order and checks the rules a consumer relies on; the frames of an
// abandoned attempt are dropped when its abandoned unit-end frame arrives, as a restore would.
Content readSequential(ArchiveReader& reader) {
    Content content;
    Frame frame;
    std::map<std::uint32_t, bool> closed;
    while (reader.next(frame)) {
        const FrameHeader& h = frame.header;
        switch (h.type) {
            case FrameType::schema:
                content.schema.append(frame.payload);
                break;
            case FrameType::manifest:
                content.manifest.append(frame.payload);
                break;
            case FrameType::data:
                EXPECT_FALSE(closed[h.unit]);
                EXPECT_EQ(h.seq, content.units[h.unit].size());
                content.units[h.unit].emplace_back(frame.payload);
                content.continued[h.unit].push_back(h.continued());
                break;
            case FrameType::unit_end:
                EXPECT_TRUE(frame.payload.empty());
                EXPECT_FALSE(closed[h.unit]);
                EXPECT_EQ(h.seq, content.units[h.unit].size());
                if (h.abandoned()) {
                    content.units[h.unit].clear();
                    content.continued[h.unit].clear();
                    content.attempts.try_emplace(h.unit, 1).first->second += 1;
                    break;
                }
                content.units[h.unit];  // a unit without data frames still appears
                content.continued[h.unit];
                content.unit_rows[h.unit] = h.rows;
                closed[h.unit] = true;
                break;
            case FrameType::footer:
                ADD_FAILURE() << "the footer is never handed out";
                break;
        }
    }
    EXPECT_FALSE(reader.next(frame)) << "next() after the end must keep returning false";
    return content;
}

Content readSeekable(const SeekableArchive& archive, FrameDecoder& decoder) {
    Content content;
    content.schema = archive.readBlob(FrameType::schema, 0, decoder);
    content.manifest = archive.readBlob(FrameType::manifest, 0, decoder);
    for (const UnitInfo& unit : archive.units()) {
        auto& payloads = content.units[unit.unit];
        auto& continued = content.continued[unit.unit];
        std::uint64_t rows = 0;
        std::uint64_t raw = 0;
        for (std::size_t position : unit.frames) {
            const Frame frame = archive.readFrame(archive.entries()[position], decoder);
            EXPECT_EQ(frame.header.seq, payloads.size());
            payloads.emplace_back(frame.payload);
            continued.push_back(frame.header.continued());
            rows += frame.header.rows;
            raw += frame.payload.size();
        }
        EXPECT_EQ(unit.raw_bytes, raw);
        if (unit.attempts > 1) {
            content.attempts[unit.unit] = unit.attempts;
        }
        const IndexEntry& end = archive.entries()[unit.end_frame];
        EXPECT_EQ(end.header.type, FrameType::unit_end);
        EXPECT_EQ(end.header.rows, rows);
        EXPECT_EQ(unit.rows, rows);
        content.unit_rows[unit.unit] = end.header.rows;
    }
    return content;
}

// Reads `bytes` to the end with both readers; returns the sequential and the seekable error
// messages ("" where a reader accepted the archive).
std::pair<std::string, std::string> readBoth(std::string_view bytes,
                                             io::IoMode mode = io::IoMode::sync) {
    std::pair<std::string, std::string> errors;
    try {
        ArchiveReader reader(
            io::FileReader(memoryFile(bytes), "test.pgs", mode, io::ReaderOptions{256, 2}));
        Frame frame;
        while (reader.next(frame)) {
        }
    } catch (const FormatError& error) {
        errors.first = error.what();
    }
    try {
        const SeekableArchive archive(
            io::FileReader(memoryFile(bytes), "test.pgs", mode, io::ReaderOptions{256, 2}));
        FrameDecoder decoder;
        for (const IndexEntry& entry : archive.entries()) {
            archive.readFrame(entry, decoder);
        }
    } catch (const FormatError& error) {
        errors.second = error.what();
    }
    return errors;
}

// Byte offsets of the parts of an archive, from its own (trusted) index.
struct Layout {
    std::vector<IndexEntry> entries;
    std::uint64_t footer_offset = 0;
    std::uint64_t trailer_offset = 0;
    std::uint64_t header_length = 0;

    explicit Layout(std::string_view bytes) {
        const SeekableArchive archive(
            io::FileReader(memoryFile(bytes), "layout", io::IoMode::sync));
        entries = archive.entries();
        header_length = archive.header().header_length;
        trailer_offset = bytes.size() - trailer_size;
        footer_offset = loadLE(bytes.data() + trailer_offset, 8);
    }

    const IndexEntry& firstOf(FrameType type) const {
        for (const IndexEntry& entry : entries) {
            if (entry.header.type == type) {
                return entry;
            }
        }
        throw std::runtime_error("no frame of that type");
    }
};

class ArchiveBackend : public ::testing::TestWithParam<io::IoMode> {
  protected:
    void SetUp() override {
        if (GetParam() == io::IoMode::uring) {
            if (const auto& reason = io::uringUnavailableReason()) {
                GTEST_SKIP() << "io_uring is unavailable here: " << *reason;
            }
        }
        ::signal(SIGPIPE, SIG_IGN);
    }
    io::IoMode mode() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(ArchiveBackends, ArchiveBackend,
                         ::testing::Values(io::IoMode::sync, io::IoMode::uring),
                         [](const auto& info) { return std::string{io::ioModeName(info.param)}; });

// --- round trips -----------------------------------------------------------------------------

TEST_P(ArchiveBackend, RoundTripThroughAFileInBothReadingModes) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("dump.pgs");
    const Sample sample(50);
    {
        ArchiveWriter writer = ArchiveWriter::create(path, sample.options(mode()));
        EXPECT_EQ(writer.backendName(), mode() == io::IoMode::uring ? "io_uring" : "sync");
        sample.write(writer);
    }
    EXPECT_EQ(dir.list(), std::vector<std::string>{"dump.pgs"});

    ArchiveReader reader = ArchiveReader::open(path, mode());
    EXPECT_EQ(reader.header().version, format_version);
    EXPECT_EQ(reader.header().writer, "pgsluice test");
    EXPECT_GT(reader.header().created_unix_micros, 1600000000000000);
    EXPECT_EQ(readSequential(reader), sample.content);
    EXPECT_EQ(reader.position(), fs::file_size(path));

    const SeekableArchive archive = SeekableArchive::open(path, mode());
    FrameDecoder decoder;
    EXPECT_EQ(readSeekable(archive, decoder), sample.content);
    // The footer index is exactly what the sequential reader saw.
    EXPECT_EQ(archive.entries(), reader.framesRead());
    ASSERT_EQ(archive.units().size(), 6u);
    EXPECT_EQ(archive.units()[0].unit, 1u);
    EXPECT_EQ(archive.findUnit(2)->frames.size(), 0u);
    EXPECT_EQ(archive.findUnit(1)->attempts, 1u);
    EXPECT_EQ(archive.findUnit(6)->attempts, 3u);
    EXPECT_EQ(archive.findUnit(6)->rows, 1u);
    EXPECT_EQ(archive.findUnit(9), nullptr);
}

TEST_P(ArchiveBackend, RoundTripThroughAPipe) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const Sample sample(200);
    std::string writer_error;
    std::thread producer([&] {
        try {
            ArchiveWriter writer(io::FileDescriptor(fds[1]), "standard output",
                                 sample.options(mode()));
            sample.write(writer);
        } catch (const std::exception& error) {
            writer_error = error.what();
        }
    });
    ArchiveReader reader{io::FileReader(io::FileDescriptor(fds[0]), "standard input", mode())};
    const Content content = readSequential(reader);
    producer.join();
    EXPECT_EQ(writer_error, "");
    EXPECT_EQ(content, sample.content);
}

TEST_P(ArchiveBackend, ConcurrentWritersAndSeekableReaders) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("parallel.pgs");
    constexpr int threads = 4;
    constexpr int units_per_thread = 5;
    constexpr int frames_per_unit = 4;
    const auto payload = [](std::uint32_t unit, std::uint32_t seq) {
        return copyLikeRows(200 + static_cast<int>(seq) * 7, unit * 100 + seq);
    };
    {
        ArchiveWriterOptions options;
        options.io = mode();
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                FrameEncoder encoder(1);
                for (int u = 0; u < units_per_thread; ++u) {
                    const auto unit = static_cast<std::uint32_t>(t * units_per_thread + u);
                    for (std::uint32_t seq = 0; seq < frames_per_unit; ++seq) {
                        writer.appendFrame(
                            encoder.encode(FrameType::data, unit, seq, 1, payload(unit, seq)));
                    }
                    writer.endUnit(unit);
                }
            });
        }
        for (auto& worker : workers) {
            worker.join();
        }
        writer.finish();
    }
    const SeekableArchive archive = SeekableArchive::open(path, mode());
    ASSERT_EQ(archive.units().size(), static_cast<std::size_t>(threads * units_per_thread));
    std::atomic<int> mismatches{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < threads; ++t) {
        readers.emplace_back([&] {
            FrameDecoder decoder;
            for (const UnitInfo& unit : archive.units()) {
                for (std::size_t position : unit.frames) {
                    const Frame frame = archive.readFrame(archive.entries()[position], decoder);
                    if (frame.payload != payload(unit.unit, frame.header.seq)) {
                        ++mismatches;
                    }
                }
            }
        });
    }
    for (auto& reader : readers) {
        reader.join();
    }
    EXPECT_EQ(mismatches.load(), 0);
}

TEST(ArchiveFormat, EmptyArchiveRoundTrips) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("empty.pgs");
    ArchiveWriter::create(path).finish();
    ArchiveReader reader = ArchiveReader::open(path);
    Frame frame;
    EXPECT_FALSE(reader.next(frame));
    const SeekableArchive archive = SeekableArchive::open(path);
    EXPECT_TRUE(archive.entries().empty());
    EXPECT_TRUE(archive.units().empty());
}

TEST(ArchiveFormat, PayloadsAreCompressedOnlyWhenThatHelps) {
    FrameEncoder encoder(3);
    const std::string rows = copyLikeRows(1000, 1);
    FrameHeader header =
        decodeFrameHeader(encoder.encode(FrameType::data, 1, 0, 1000, rows), "test", 0);
    EXPECT_TRUE(header.compressed());
    EXPECT_LT(header.stored_length * 3, header.raw_length);

    const std::string noise = randomBytes(4096, 2);
    header = decodeFrameHeader(encoder.encode(FrameType::data, 1, 1, 1, noise), "test", 0);
    EXPECT_FALSE(header.compressed());
    EXPECT_EQ(header.stored_length, noise.size());

    header = decodeFrameHeader(encoder.encode(FrameType::data, 1, 2, 0, ""), "test", 0);
    EXPECT_FALSE(header.compressed());
    EXPECT_EQ(header.stored_length, 0u);
}

TEST(ArchiveFormat, FrameHeaderLayoutIsLittleEndianAtDocumentedOffsets) {
    FrameEncoder encoder(3);
    const std::string_view frame =
        encoder.encode(FrameType::data, 0x01020304, 0x0A0B0C0D, 0x1122334455667788ull, "abc");
    ASSERT_EQ(frame.size(), frame_header_size + 3);
    EXPECT_EQ(frame.substr(0, 4), "PGSF");
    EXPECT_EQ(frame[4], 3);  // data
    EXPECT_EQ(frame[5], 0);  // stored, not final
    EXPECT_EQ(frame.substr(8, 4), "\x04\x03\x02\x01");
    EXPECT_EQ(frame.substr(12, 4), "\x0D\x0C\x0B\x0A");
    EXPECT_EQ(frame.substr(16, 8), "\x88\x77\x66\x55\x44\x33\x22\x11");
    EXPECT_EQ(loadLE(frame.data() + 24, 4), 3u);
    EXPECT_EQ(loadLE(frame.data() + 28, 4), 3u);
    EXPECT_EQ(loadLE(frame.data() + 32, 8), frameChecksum(frame.substr(0, 40), "abc"));
    EXPECT_EQ(frame.substr(40), "abc");
}

TEST(ArchiveFormat, BlobsAreSplitAndTheLastChunkIsFinal) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("blob.pgs");
    const std::string schema = copyLikeRows(100, 9);
    {
        ArchiveWriterOptions options;
        options.blob_chunk_size = 1000;
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        writer.appendBlob(FrameType::schema, 7, schema);
        writer.appendBlob(FrameType::manifest, 0, "");
        writer.finish();
    }
    ArchiveReader reader = ArchiveReader::open(path);
    Frame frame;
    std::vector<FrameHeader> headers;
    while (reader.next(frame)) {
        headers.push_back(frame.header);
    }
    const std::size_t chunks = (schema.size() + 999) / 1000;
    ASSERT_EQ(headers.size(), chunks + 1);
    for (std::size_t i = 0; i < chunks; ++i) {
        EXPECT_EQ(headers[i].seq, i);
        EXPECT_EQ(headers[i].final(), i + 1 == chunks);
    }
    EXPECT_TRUE(headers.back().final());  // the empty manifest is one final frame

    const SeekableArchive archive = SeekableArchive::open(path);
    FrameDecoder decoder;
    EXPECT_EQ(archive.readBlob(FrameType::schema, 7, decoder), schema);
    EXPECT_EQ(archive.readBlob(FrameType::manifest, 0, decoder), "");
    try {
        archive.readBlob(FrameType::schema, 0, decoder);
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_EQ(std::string{error.what()}, "archive " + path + " has no schema stream 0");
    }
}

// --- the writer's rules ----------------------------------------------------------------------

TEST(ArchiveWriter, RefusesFramesOutOfOrderAndStaysUsable) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("order.pgs");
    ArchiveWriter writer = ArchiveWriter::create(path);
    FrameEncoder encoder(3);
    try {
        writer.appendFrame(encoder.encode(FrameType::data, 5, 1, 1, "x"));
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "data frame (unit 5, seq 1) at byte 46 is out of order: expected seq 0");
    }
    writer.appendFrame(encoder.encode(FrameType::data, 5, 0, 1, "x"));
    EXPECT_EQ(writer.endUnit(5).frames, 1u);
    try {
        writer.appendFrame(encoder.encode(FrameType::data, 5, 1, 1, "y"));
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "comes after the unit-end frame of its unit");
    }
    EXPECT_THROW(writer.endUnit(5), FormatError);
    writer.finish();
    const SeekableArchive archive = SeekableArchive::open(path);
    FrameDecoder decoder;
    ASSERT_EQ(archive.entries().size(), 2u);
    EXPECT_EQ(archive.readFrame(archive.entries()[0], decoder).payload, "x");
}

TEST(ArchiveWriter, RefusesToFinishWithAnOpenUnit) {
    TempDir dir{"pgsluice-archive-test"};
    ArchiveWriter writer = ArchiveWriter::create(dir.file("open.pgs"));
    FrameEncoder encoder(3);
    writer.appendFrame(encoder.encode(FrameType::data, 5, 0, 1, "x"));
    try {
        writer.finish();
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "data unit 5 has no unit-end frame");
    }
}

TEST(ArchiveWriter, RefusesMalformedAndReservedFrames) {
    TempDir dir{"pgsluice-archive-test"};
    ArchiveWriter writer = ArchiveWriter::create(dir.file("bad.pgs"));
    FrameEncoder encoder(3);
    try {
        writer.appendFrame(std::string(40, 'x'));
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "bad frame magic 78 78 78 78");
    }
    try {
        writer.appendFrame(encoder.encode(FrameType::unit_end, 1, 0, 0, ""));
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "use endUnit(), abandonUnit() or finish()");
    }
    std::string frame{encoder.encode(FrameType::data, 1, 0, 0, "abc")};
    try {
        writer.appendFrame(std::string_view(frame).substr(0, frame.size() - 1));
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "is 42 bytes, its header says 43");
    }
}

TEST(ArchiveWriter, RejectsBadLevelsAndOversizedPayloads) {
    try {
        FrameEncoder encoder(99);
        FAIL() << "no exception";
    } catch (const UsageError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "zstd level 99 is out of range");
    }
    FrameEncoder encoder(1);
    const std::string big(std::size_t{max_raw_length} + 1, 'a');
    try {
        encoder.encode(FrameType::data, 1, 0, 1, big);
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "payload of 67108865 bytes exceeds the limit of 67108864 bytes");
    }
}

TEST_P(ArchiveBackend, UnfinishedArchiveLeavesNoFile) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("dump.pgs");
    {
        ArchiveWriter writer = ArchiveWriter::create(path, Sample().options(mode()));
        FrameEncoder encoder(3);
        writer.appendFrame(encoder.encode(FrameType::data, 1, 0, 3, copyLikeRows(3000, 1)));
        EXPECT_FALSE(fs::exists(path));
        // Destroyed without finish(), as when a worker fails.
    }
    EXPECT_TRUE(dir.list().empty());
    {
        ArchiveWriter writer = ArchiveWriter::create(path, Sample().options(mode()));
        Sample().write(writer);
    }
    EXPECT_EQ(dir.list(), std::vector<std::string>{"dump.pgs"});
}

TEST_P(ArchiveBackend, UnfinishedStreamIsReportedAsTruncated) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("stream.pgs");
    {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ArchiveWriter writer(io::FileDescriptor(fd), "stdout", Sample().options(mode()));
        FrameEncoder encoder(3);
        writer.appendFrame(encoder.encode(FrameType::data, 1, 0, 1, randomBytes(1000, 1)));
        writer.endUnit(1);
        writer.appendFrame(encoder.encode(FrameType::data, 2, 0, 1, randomBytes(1000, 2)));
        // No finish(): a dump to stdout that failed half way. What was buffered but not yet
        // written is dropped; the stream simply stops.
    }
    // How much reached the file depends on which writes were still in flight when the writer
    // cancelled them; whatever it is, the frames read before the truncation are intact and in
    // order, and the truncation is reported where the file ends.
    const std::uint64_t size = fs::file_size(path);
    ArchiveReader reader = ArchiveReader::open(path, mode());
    Frame frame;
    std::vector<std::pair<FrameType, std::uint32_t>> read;
    try {
        while (reader.next(frame)) {
            read.emplace_back(frame.header.type, frame.header.unit);
        }
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()},
                        "archive " + path + " truncated at byte " + std::to_string(size));
    }
    const std::vector<std::pair<FrameType, std::uint32_t>> written = {
        {FrameType::data, 1}, {FrameType::unit_end, 1}, {FrameType::data, 2}};
    ASSERT_LE(read.size(), written.size());
    EXPECT_TRUE(std::equal(read.begin(), read.end(), written.begin()));
    // A failed reader keeps failing.
    EXPECT_THROW(reader.next(frame), FormatError);
}

// --- damage ----------------------------------------------------------------------------------

TEST(ArchiveDamage, EverySingleBitFlipIsDetectedByBothReaders) {
    const std::string bytes = Sample().bytes();
    ASSERT_LT(bytes.size(), 4096u) << "keep the sample small: this loop is quadratic-ish";
    ASSERT_EQ(readBoth(bytes), std::make_pair(std::string{}, std::string{}));
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            std::string damaged = bytes;
            damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
            const auto [sequential, seekable] = readBoth(damaged);
            EXPECT_NE(sequential, "") << "sequential reader accepted a flip at byte " << i;
            EXPECT_NE(seekable, "") << "seekable reader accepted a flip at byte " << i;
        }
    }
}

TEST(ArchiveDamage, FlippedBitInTheFileHeader) {
    std::string bytes = Sample().bytes();
    bytes[21] ^= 0x04;  // creation time
    const auto [sequential, seekable] = readBoth(bytes);
    EXPECT_CONTAINS(sequential, "archive test.pgs: file header checksum mismatch");
    EXPECT_CONTAINS(seekable, "archive test.pgs: file header checksum mismatch");
}

TEST(ArchiveDamage, FlippedBitInAFrameHeaderField) {
    const std::string original = Sample().bytes();
    const IndexEntry entry = Layout(original).firstOf(FrameType::data);
    const std::string at = " at byte " + std::to_string(entry.offset);
    {
        std::string bytes = original;
        bytes[entry.offset + 8] ^= 0x02;  // unit 1 becomes unit 3
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(sequential, "archive test.pgs: data frame (unit 3, seq 0)" + at +
                                        ": checksum mismatch");
        EXPECT_CONTAINS(seekable, "the frame header" + at +
                                      " reads data frame (unit 3, seq 0) but the footer index "
                                      "lists data frame (unit 1, seq 0) there");
    }
    {
        std::string bytes = original;
        bytes[entry.offset + 16] ^= 0x01;  // row count
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(sequential, "data frame (unit 1, seq 0)" + at + ": checksum mismatch");
        EXPECT_CONTAINS(seekable, "the footer index lists data frame (unit 1, seq 0)");
    }
    {
        std::string bytes = original;
        bytes[entry.offset + 4] = 9;  // frame type
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(sequential, "type 09 frame (unit 1, seq 0)" + at + ": unknown frame type");
        EXPECT_CONTAINS(seekable, "type 09 frame (unit 1, seq 0)" + at + ": unknown frame type");
    }
}

TEST(ArchiveDamage, FlippedBitInAPayload) {
    std::string bytes = Sample().bytes();
    const IndexEntry entry = Layout(bytes).firstOf(FrameType::data);
    bytes[entry.offset + frame_header_size + 5] ^= 0x80;
    const auto [sequential, seekable] = readBoth(bytes);
    const std::string expected = "archive test.pgs: data frame (unit 1, seq 0) at byte " +
                                 std::to_string(entry.offset) + ": checksum mismatch";
    EXPECT_CONTAINS(sequential, expected);
    EXPECT_CONTAINS(seekable, expected);
}

TEST(ArchiveDamage, FlippedBitInTheFooter) {
    std::string bytes = Sample().bytes();
    const Layout layout(bytes);
    bytes[layout.footer_offset + frame_header_size + 3] ^= 0x10;
    const auto [sequential, seekable] = readBoth(bytes);
    const std::string expected = "archive test.pgs: footer frame (unit 0, seq 0) at byte " +
                                 std::to_string(layout.footer_offset) + ": checksum mismatch";
    EXPECT_CONTAINS(sequential, expected);
    EXPECT_CONTAINS(seekable, expected);
}

TEST(ArchiveDamage, FlippedBitInTheTrailer) {
    const std::string original = Sample().bytes();
    const Layout layout(original);
    {
        std::string bytes = original;
        bytes[layout.trailer_offset + 1] ^= 0x01;  // footer offset
        const auto [sequential, seekable] = readBoth(bytes);
        const std::string expected = "archive test.pgs: trailer checksum mismatch at byte " +
                                     std::to_string(layout.trailer_offset);
        EXPECT_CONTAINS(sequential, expected);
        EXPECT_CONTAINS(seekable, expected);
    }
    {
        std::string bytes = original;
        bytes[bytes.size() - 1] ^= 0x01;  // end magic
        const auto [sequential, seekable] = readBoth(bytes);
        const std::string expected =
            "archive test.pgs: no end marker at byte " + std::to_string(layout.trailer_offset + 32);
        EXPECT_CONTAINS(sequential, expected);
        EXPECT_CONTAINS(seekable, expected);
    }
}

TEST(ArchiveDamage, TruncationAtEveryByteIsRefused) {
    const std::string bytes = Sample().bytes();
    const Layout layout(bytes);
    std::map<std::uint64_t, const IndexEntry*> frame_at;
    for (const IndexEntry& entry : layout.entries) {
        frame_at[entry.offset] = &entry;
    }
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        const auto [sequential, seekable] = readBoth(std::string_view(bytes).substr(0, cut));
        ASSERT_NE(sequential, "") << "cut at " << cut;
        ASSERT_NE(seekable, "") << "cut at " << cut;
        const std::string prefix = "archive test.pgs truncated at byte " + std::to_string(cut);
        if (cut == 0) {
            EXPECT_EQ(sequential, "archive test.pgs is empty: no file header");
            EXPECT_EQ(seekable, "archive test.pgs is empty: no file header");
        } else if (cut < layout.header_length) {
            EXPECT_CONTAINS(sequential, prefix);
            EXPECT_CONTAINS(sequential, "the file header");
        } else if (cut == layout.footer_offset || frame_at.count(cut) != 0) {
            // At a frame boundary: every frame before it was handed out intact.
            EXPECT_EQ(sequential, prefix + ": the footer is missing (" +
                                      std::to_string(std::distance(frame_at.begin(),
                                                                   frame_at.lower_bound(cut))) +
                                      " intact frames before it; the dump did not finish or the "
                                      "file was cut)");
        } else if (cut < layout.footer_offset) {
            const auto frame = std::prev(frame_at.upper_bound(cut));
            const std::uint64_t start = frame->first;
            if (cut - start < frame_header_size) {
                EXPECT_EQ(sequential, prefix + " inside the frame header that starts at byte " +
                                          std::to_string(start) + ": the footer is missing");
            } else {
                EXPECT_EQ(sequential, prefix + " inside " + describeFrame(frame->second->header) +
                                          " that starts at byte " + std::to_string(start) +
                                          ": the footer is missing");
            }
        } else if (cut < layout.trailer_offset) {
            EXPECT_CONTAINS(sequential, prefix);
        } else {
            EXPECT_CONTAINS(sequential, prefix);
            EXPECT_CONTAINS(sequential, "trailer");
        }
        // Without its last 40 bytes a file has no trailer where the seekable reader looks.
        if (cut >= layout.header_length) {
            EXPECT_TRUE(seekable.find("truncated") != std::string::npos) << seekable;
        }
    }
}

TEST(ArchiveDamage, BytesAfterTheTrailerAreRefused) {
    const std::string bytes = Sample().bytes() + "x";
    const auto [sequential, seekable] = readBoth(bytes);
    EXPECT_CONTAINS(sequential, "unexpected bytes after the trailer at byte " +
                                    std::to_string(bytes.size() - 1));
    EXPECT_CONTAINS(seekable, "no end marker");
}

TEST(ArchiveDamage, WrongMagicIsNotAnArchive) {
    std::string bytes = Sample().bytes();
    bytes[0] = 'X';
    auto [sequential, seekable] = readBoth(bytes);
    EXPECT_CONTAINS(sequential,
                    "test.pgs is not a pgsluice archive: it starts with bytes 58 47 53");
    EXPECT_CONTAINS(seekable, "test.pgs is not a pgsluice archive");

    std::tie(sequential, seekable) = readBoth("PGDMP\x01\x0e a pg_dump custom archive");
    EXPECT_CONTAINS(sequential, "use pg_restore for it");
    std::tie(sequential, seekable) = readBoth("hi");
    EXPECT_CONTAINS(sequential, "test.pgs is not a pgsluice archive");
}

TEST(ArchiveDamage, FutureVersionIsRefusedNamingBothVersions) {
    std::string bytes = Sample().bytes();
    bytes[8] = 3;
    auto [sequential, seekable] = readBoth(bytes);
    const std::string expected =
        "archive test.pgs uses archive format version 3, but this pgsluice reads versions 1 to 2 "
        "only: restore it with a newer pgsluice";
    EXPECT_EQ(sequential, expected);
    EXPECT_EQ(seekable, expected);

    bytes[8] = 0;
    std::tie(sequential, seekable) = readBoth(bytes);
    EXPECT_CONTAINS(sequential, "declares archive format version 0, which does not exist");

    bytes[8] = 2;
    bytes[10] = 1;  // a required flag this version does not know
    std::tie(sequential, seekable) = readBoth(bytes);
    EXPECT_CONTAINS(sequential, "sets flags 1 that this pgsluice does not know");
}

TEST(ArchiveDamage, AbsurdLengthsAreRefusedBeforeAllocating) {
    const std::string original = Sample().bytes();
    const Layout layout(original);
    const IndexEntry entry = layout.firstOf(FrameType::data);
    {
        std::string bytes = original;
        storeLE(&bytes[entry.offset + 24], 0x40000000, 4);  // raw length 1 GiB
        const auto [sequential, seekable] = readBoth(bytes);
        const std::string expected = "at byte " + std::to_string(entry.offset) +
                                     ": raw length 1073741824 exceeds the limit of 67108864 bytes";
        EXPECT_CONTAINS(sequential, expected);
        EXPECT_CONTAINS(seekable, expected);
    }
    {
        std::string bytes = original;
        storeLE(&bytes[entry.offset + 28], 0xFFFFFFF0, 4);  // stored length
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(sequential, entry.header.compressed()
                                        ? "compressed length 4294967280 is not between 1 and "
                                          "the raw length"
                                        : "stored length 4294967280 differs from the raw length");
    }
    {
        std::string bytes = original;
        storeLE(&bytes[layout.footer_offset + 16], 0xFFFFFFFFFFull, 8);  // footer entry count
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(sequential, "footer of 1099511627775 entries has raw length");
    }
    {
        // A trailer with a valid checksum that points at an absurd footer.
        std::string bytes = original;
        Trailer trailer;
        trailer.footer_offset = 1;
        trailer.footer_length = 1ull << 40;
        bytes.replace(layout.trailer_offset, trailer_size, encodeTrailer(trailer));
        const auto [sequential, seekable] = readBoth(bytes);
        EXPECT_CONTAINS(seekable, "points to a footer at byte 1 of 1099511627776 bytes");
        EXPECT_CONTAINS(sequential, "the trailer at byte " + std::to_string(layout.trailer_offset) +
                                        " points to a footer at byte 1");
    }
}

// --- rules only a damaged or forged archive breaks ---------------------------------------------
//
// assemble() writes a 38-byte file header (no writer name); frame() with its default 4-byte
// payload makes 44-byte frames, so frames sit at bytes 38, 82, 126...

// Builds an archive from whole frames, with an index computed from them unless one is given;
// `version` is the one written in the file header.
std::string assemble(const std::vector<std::string>& frames,
                     std::optional<std::vector<IndexEntry>> index = std::nullopt,
                     std::uint16_t version = format_version) {
    ArchiveHeader header;
    header.version = version;
    std::string out = encodeFileHeader(header);
    std::vector<IndexEntry> entries;
    for (const std::string& frame : frames) {
        entries.push_back({decodeFrameHeader(frame, "assemble", out.size()), out.size()});
        out += frame;
    }
    std::string index_bytes;
    for (const IndexEntry& entry : index.value_or(entries)) {
        appendIndexEntry(index_bytes, entry);
    }
    FrameEncoder encoder(3);
    Trailer trailer;
    trailer.footer_offset = out.size();
    const std::string footer{encoder.encode(FrameType::footer, 0, 0,
                                            index_bytes.size() / index_entry_size, index_bytes)};
    out += footer;
    trailer.footer_length = footer.size();
    trailer.footer_checksum = loadLE(footer.data() + frame_checksummed_size, 8);
    out += encodeTrailer(trailer);
    return out;
}

std::string frame(FrameType type, std::uint32_t unit, std::uint32_t seq, std::uint64_t rows,
                  std::string_view payload = "rows", bool final = false) {
    static FrameEncoder encoder(3);
    return std::string{encoder.encode(type, unit, seq, rows, payload, final)};
}

// A frame with the flag bits given (forged: the encoder does not check which type may have
// which flag).
std::string flagged(FrameType type, std::uint32_t unit, std::uint32_t seq, std::uint64_t rows,
                    std::string_view payload, std::uint8_t flags) {
    static FrameEncoder encoder(3);
    return std::string{encoder.encodeWithFlags(type, unit, seq, rows, payload, flags)};
}

std::string continuedData(std::uint32_t unit, std::uint32_t seq, std::uint64_t rows,
                          std::string_view payload = "rows") {
    return flagged(FrameType::data, unit, seq, rows, payload, flag_continued);
}

std::string abandonedEnd(std::uint32_t unit, std::uint32_t seq, std::uint64_t rows) {
    return flagged(FrameType::unit_end, unit, seq, rows, "", flag_abandoned);
}

TEST(ArchiveOrder, AssembledArchiveIsAccepted) {
    const std::string bytes =
        assemble({frame(FrameType::data, 1, 0, 2), frame(FrameType::unit_end, 1, 1, 2, ""),
                  frame(FrameType::schema, 0, 0, 0, "ddl", true)});
    EXPECT_EQ(readBoth(bytes), std::make_pair(std::string{}, std::string{}));
}

TEST(ArchiveOrder, MissingFrameInAUnit) {
    const auto [sequential, seekable] =
        readBoth(assemble({frame(FrameType::data, 1, 0, 2), frame(FrameType::data, 1, 2, 2),
                           frame(FrameType::unit_end, 1, 2, 4, "")}));
    EXPECT_CONTAINS(sequential,
                    "data frame (unit 1, seq 2) at byte 82 is out of order: expected "
                    "seq 1 (a frame is missing or repeated)");
    EXPECT_CONTAINS(seekable, "data frame (unit 1, seq 2) at byte 82 is out of order");
}

TEST(ArchiveOrder, UnitEndThatDisagreesWithItsFrames) {
    auto [sequential, seekable] = readBoth(
        assemble({frame(FrameType::data, 1, 0, 2), frame(FrameType::unit_end, 1, 2, 2, "")}));
    EXPECT_CONTAINS(sequential,
                    "says the unit has 2 data frames, but 1 were found: a data frame is missing");
    EXPECT_CONTAINS(seekable, "says the unit has 2 data frames, but 1 were found");
    std::tie(sequential, seekable) = readBoth(
        assemble({frame(FrameType::data, 1, 0, 2), frame(FrameType::unit_end, 1, 1, 5, "")}));
    EXPECT_CONTAINS(sequential, "says the unit has 5 rows, but its data frames hold 2");
}

TEST(ArchiveOrder, DataAfterTheUnitEnd) {
    const auto [sequential, seekable] = readBoth(
        assemble({frame(FrameType::unit_end, 1, 0, 0, ""), frame(FrameType::data, 1, 0, 2)}));
    EXPECT_CONTAINS(sequential, "comes after the unit-end frame of its unit");
    EXPECT_CONTAINS(seekable, "comes after the unit-end frame of its unit");
}

TEST(ArchiveOrder, UnitWithoutItsEnd) {
    auto [sequential, seekable] = readBoth(assemble({frame(FrameType::data, 4, 0, 2)}));
    EXPECT_CONTAINS(sequential,
                    "data unit 4 has no unit-end frame (1 frames from byte 38) before "
                    "the footer at byte 82");
    EXPECT_CONTAINS(seekable, "data unit 4 has no unit-end frame");
    std::tie(sequential, seekable) =
        readBoth(assemble({frame(FrameType::manifest, 0, 0, 0, "{}", false)}));
    EXPECT_CONTAINS(sequential, "manifest stream 0 has no final frame");
}

TEST(ArchiveOrder, FooterThatDisagreesWithTheFrames) {
    const std::vector<std::string> frames = {frame(FrameType::data, 1, 0, 2),
                                             frame(FrameType::unit_end, 1, 1, 2, "")};
    std::vector<IndexEntry> index;
    std::uint64_t offset = encodeFileHeader(ArchiveHeader{}).size();
    for (const std::string& f : frames) {
        index.push_back({decodeFrameHeader(f, "t", offset), offset});
        offset += f.size();
    }
    index[0].header.rows = 3;
    index[1].header.rows = 3;
    auto [sequential, seekable] = readBoth(assemble(frames, index));
    EXPECT_CONTAINS(sequential,
                    "footer index entry 0 (data frame (unit 1, seq 0) at byte 38) "
                    "does not match the frame read there");
    EXPECT_CONTAINS(seekable,
                    "the frame header at byte 38 reads data frame (unit 1, seq 0) but "
                    "the footer index lists data frame (unit 1, seq 0) there");

    index[0].header.rows = 2;
    index[1].header.rows = 2;
    index[1].offset += 1;
    std::tie(sequential, seekable) = readBoth(assemble(frames, index));
    EXPECT_CONTAINS(seekable,
                    "footer index entry 1 (unit-end frame (unit 1, seq 1)) places the "
                    "frame at byte 83");

    index.pop_back();
    std::tie(sequential, seekable) = readBoth(assemble(frames, index));
    EXPECT_CONTAINS(sequential, "lists 1 frames, but 2 were read");
    EXPECT_CONTAINS(seekable, "the footer index accounts for the bytes up to 82");
}

TEST(ArchiveOrder, ReaderIsNotFooledByAFooterOfAnotherArchive) {
    // A frame whose type byte says footer in the middle of the stream.
    const auto [sequential, seekable] = readBoth(assemble({frame(FrameType::footer, 0, 0, 0, "")}));
    EXPECT_NE(sequential, "");
    EXPECT_NE(seekable, "");
}

// --- version 2: abandoned attempts, continued frames, version 1 archives ---------------------

TEST(ArchiveOrder, AbandonedAttemptsAndContinuedFramesAreAccepted) {
    const std::string bytes =
        assemble({frame(FrameType::data, 1, 0, 2), abandonedEnd(1, 1, 2), continuedData(1, 0, 0),
                  continuedData(1, 1, 1), frame(FrameType::data, 1, 2, 1), abandonedEnd(1, 3, 2),
                  abandonedEnd(1, 0, 0), frame(FrameType::data, 1, 0, 1),
                  frame(FrameType::unit_end, 1, 1, 1, "")});
    EXPECT_EQ(readBoth(bytes), std::make_pair(std::string{}, std::string{}));
    const SeekableArchive archive(io::FileReader(memoryFile(bytes), "test.pgs", io::IoMode::sync));
    const UnitInfo* unit = archive.findUnit(1);
    ASSERT_NE(unit, nullptr);
    EXPECT_EQ(unit->attempts, 4u);
    EXPECT_EQ(unit->frames, std::vector<std::size_t>{7});
    EXPECT_EQ(unit->end_frame, 8u);
    EXPECT_EQ(unit->rows, 1u);
    EXPECT_EQ(unit->raw_bytes, 4u);
}

TEST(ArchiveOrder, AnAbandonedAttemptMayEndInsideARow) {
    const std::string bytes =
        assemble({continuedData(1, 0, 0), abandonedEnd(1, 1, 0), frame(FrameType::data, 1, 0, 1),
                  frame(FrameType::unit_end, 1, 1, 1, "")});
    EXPECT_EQ(readBoth(bytes), std::make_pair(std::string{}, std::string{}));
}

TEST(ArchiveOrder, ContinuedLastFrameBeforeTheUnitEndIsRefused) {
    const auto [sequential, seekable] =
        readBoth(assemble({frame(FrameType::data, 1, 0, 1), continuedData(1, 1, 0),
                           frame(FrameType::unit_end, 1, 2, 1, "")}));
    const std::string expected =
        "unit-end frame (unit 1, seq 2) at byte 126 follows a continued data frame: the unit's "
        "last row is cut off (its data frame 1 ends inside it)";
    EXPECT_CONTAINS(sequential, expected);
    EXPECT_CONTAINS(seekable, expected);
}

TEST(ArchiveOrder, FramesAfterTheClosingUnitEndAreRefused) {
    auto [sequential, seekable] =
        readBoth(assemble({frame(FrameType::unit_end, 1, 0, 0, ""), abandonedEnd(1, 0, 0)}));
    EXPECT_CONTAINS(sequential,
                    "abandoned unit-end frame (unit 1, seq 0) at byte 78 abandons an attempt at a "
                    "unit that was already closed");
    EXPECT_CONTAINS(seekable, "abandons an attempt at a unit that was already closed");
    std::tie(sequential, seekable) =
        readBoth(assemble({frame(FrameType::data, 1, 0, 1), frame(FrameType::unit_end, 1, 1, 1, ""),
                           frame(FrameType::data, 1, 0, 1)}));
    EXPECT_CONTAINS(sequential, "comes after the unit-end frame of its unit");
    EXPECT_CONTAINS(seekable, "comes after the unit-end frame of its unit");
    std::tie(sequential, seekable) = readBoth(assemble(
        {frame(FrameType::unit_end, 1, 0, 0, ""), frame(FrameType::unit_end, 1, 0, 0, "")}));
    EXPECT_CONTAINS(sequential, "closes a unit that was already closed");
}

TEST(ArchiveOrder, AnAbandonedUnitEndMustMatchItsAttempt) {
    auto [sequential, seekable] =
        readBoth(assemble({frame(FrameType::data, 1, 0, 2), abandonedEnd(1, 0, 2)}));
    EXPECT_CONTAINS(sequential,
                    "abandoned unit-end frame (unit 1, seq 0) at byte 82 says the attempt has 0 "
                    "data frames, but 1 were found: a data frame is missing");
    EXPECT_CONTAINS(seekable, "says the attempt has 0 data frames, but 1 were found");
    std::tie(sequential, seekable) =
        readBoth(assemble({frame(FrameType::data, 1, 0, 2), abandonedEnd(1, 1, 3)}));
    EXPECT_CONTAINS(sequential, "says the attempt has 3 rows, but its data frames hold 2");
    // After an abandoned attempt the unit starts again at seq 0.
    std::tie(sequential, seekable) = readBoth(
        assemble({frame(FrameType::data, 1, 0, 2), abandonedEnd(1, 1, 2),
                  frame(FrameType::data, 1, 1, 2), frame(FrameType::unit_end, 1, 1, 2, "")}));
    EXPECT_CONTAINS(sequential,
                    "data frame (unit 1, seq 1) at byte 122 is out of order: expected "
                    "seq 0");
    EXPECT_CONTAINS(seekable, "is out of order: expected seq 0");
}

TEST(ArchiveOrder, AUnitWithOnlyAbandonedAttemptsIsNotClosed) {
    const auto [sequential, seekable] =
        readBoth(assemble({abandonedEnd(4, 0, 0), frame(FrameType::data, 4, 0, 1)}));
    const std::string expected =
        "data unit 4 has no unit-end frame (1 abandoned attempts, then 1 frames; from byte 38) "
        "before the footer at byte 122";
    EXPECT_CONTAINS(sequential, expected);
    EXPECT_CONTAINS(seekable, expected);
}

TEST(ArchiveFormat, TheNewFlagsAreRefusedInAVersion1Archive) {
    const std::vector<std::string> continued = {continuedData(1, 0, 0),
                                                frame(FrameType::data, 1, 1, 1),
                                                frame(FrameType::unit_end, 1, 2, 1, "")};
    EXPECT_EQ(readBoth(assemble(continued)), std::make_pair(std::string{}, std::string{}));
    auto [sequential, seekable] = readBoth(assemble(continued, std::nullopt, 1));
    EXPECT_CONTAINS(sequential,
                    "archive test.pgs: data frame (unit 1, seq 0) at byte 38: the continued flag "
                    "is set, which a version 1 archive cannot use (it is new in version 2)");
    EXPECT_CONTAINS(seekable, "footer index entry 0 (data frame (unit 1, seq 0))");
    EXPECT_CONTAINS(seekable, "which a version 1 archive cannot use");

    const std::vector<std::string> abandoned = {frame(FrameType::data, 1, 0, 1),
                                                abandonedEnd(1, 1, 1),
                                                frame(FrameType::unit_end, 1, 0, 0, "")};
    EXPECT_EQ(readBoth(assemble(abandoned)), std::make_pair(std::string{}, std::string{}));
    std::tie(sequential, seekable) = readBoth(assemble(abandoned, std::nullopt, 1));
    EXPECT_CONTAINS(sequential,
                    "unit-end frame (unit 1, seq 1) at byte 82: the abandoned flag is set, which a "
                    "version 1 archive cannot use");
    EXPECT_CONTAINS(seekable, "the abandoned flag is set, which a version 1 archive cannot use");
}

TEST(ArchiveFormat, EachNewFlagBelongsToOneFrameType) {
    const auto problem = [](const std::string& bytes) {
        try {
            decodeFrameHeader(bytes, "test", 0);
        } catch (const FormatError& error) {
            return std::string{error.what()};
        }
        return std::string{};
    };
    EXPECT_CONTAINS(problem(flagged(FrameType::unit_end, 1, 0, 0, "", flag_continued)),
                    "a unit-end frame must have no payload and no flags but abandoned");
    EXPECT_CONTAINS(problem(flagged(FrameType::data, 1, 0, 0, "x", flag_abandoned)),
                    "the abandoned flag is set on a data frame");
    EXPECT_CONTAINS(problem(flagged(FrameType::schema, 0, 0, 0, "x", flag_continued | flag_final)),
                    "the continued flag is set on a schema frame");
    EXPECT_CONTAINS(problem(flagged(FrameType::manifest, 0, 0, 0, "x", flag_abandoned)),
                    "the abandoned flag is set on a manifest frame");
    EXPECT_CONTAINS(problem(flagged(FrameType::footer, 0, 0, 0, "", flag_continued)),
                    "the continued flag is set on a footer frame");
    EXPECT_CONTAINS(problem(continuedData(1, 0, 0, "")),
                    "a continued data frame must have a payload");
    EXPECT_EQ(problem(continuedData(1, 0, 0, "x")), "");
    const FrameHeader header = decodeFrameHeader(continuedData(1, 0, 0, "x"), "test", 0);
    EXPECT_TRUE(header.continued());
    EXPECT_FALSE(header.abandoned());
    EXPECT_TRUE(decodeFrameHeader(abandonedEnd(1, 0, 0), "test", 0).abandoned());
    EXPECT_EQ(describeFrame(decodeFrameHeader(abandonedEnd(1, 0, 0), "test", 0)),
              "abandoned unit-end frame (unit 1, seq 0)");

    FrameEncoder encoder(1);
    try {
        encoder.encode(FrameType::schema, 0, 0, 0, "x", true, true);
        FAIL() << "no exception";
    } catch (const Error& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "only a data frame can be continued");
    }
    EXPECT_THROW(encoder.encodeWithFlags(FrameType::data, 0, 0, 0, "x", 0x10), Error);
}

TEST_P(ArchiveBackend, Version1ArchivesAreStillRead) {
    const Sample sample(3, 1);
    const std::string bytes = sample.bytes();
    EXPECT_EQ(loadLE(bytes.data() + 8, 2), 1u);
    EXPECT_EQ(readBoth(bytes, mode()), std::make_pair(std::string{}, std::string{}));
    ArchiveReader reader(io::FileReader(memoryFile(bytes), "v1.pgs", mode()));
    EXPECT_EQ(reader.header().version, 1u);
    EXPECT_EQ(readSequential(reader), sample.content);
    const SeekableArchive archive(io::FileReader(memoryFile(bytes), "v1.pgs", mode()));
    EXPECT_EQ(archive.header().version, 1u);
    FrameDecoder decoder;
    EXPECT_EQ(readSeekable(archive, decoder), sample.content);

    // And an archive written by the version 1 code (the fuzz corpus keeps some).
    const fs::path corpus =
        fs::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus" / "archive";
    if (!fs::exists(corpus / "small.pgs")) {
        GTEST_SKIP() << "no fuzz corpus at " << corpus;
    }
    for (const char* name : {"small.pgs", "chunked.pgs", "empty.pgs"}) {
        const std::string old = readWholeFile((corpus / name).string());
        EXPECT_EQ(loadLE(old.data() + 8, 2), 1u) << name;
        EXPECT_EQ(readBoth(old, mode()), std::make_pair(std::string{}, std::string{})) << name;
    }
}

TEST(ArchiveDamage, EverySingleBitFlipOfAVersion2SampleWithBothFlags) {
    // The sample of EverySingleBitFlipIsDetectedByBothReaders is version 2 and has both flags;
    // make sure it stays so.
    const std::string bytes = Sample().bytes();
    const Layout layout(bytes);
    EXPECT_EQ(loadLE(bytes.data() + 8, 2), 2u);
    EXPECT_TRUE(std::any_of(layout.entries.begin(), layout.entries.end(),
                            [](const IndexEntry& e) { return e.header.continued(); }));
    EXPECT_TRUE(std::any_of(layout.entries.begin(), layout.entries.end(),
                            [](const IndexEntry& e) { return e.header.abandoned(); }));
    // A flip of either flag bit alone is caught too (by the checksum; the index disagrees).
    for (const IndexEntry& entry : layout.entries) {
        if (entry.header.continued() || entry.header.abandoned()) {
            for (const std::uint8_t bit : {flag_continued, flag_abandoned}) {
                std::string damaged = bytes;
                damaged[entry.offset + 5] = static_cast<char>(damaged[entry.offset + 5] ^ bit);
                const auto [sequential, seekable] = readBoth(damaged);
                EXPECT_NE(sequential, "");
                EXPECT_NE(seekable, "");
            }
        }
    }
}

// --- the writer's rules, version 2 -----------------------------------------------------------

TEST(ArchiveWriter, AbandonUnitVoidsTheAttemptAndStartsTheUnitOver) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("retry.pgs");
    {
        ArchiveWriter writer = ArchiveWriter::create(path);
        FrameEncoder encoder(3);
        writer.appendFrame(encoder.encode(FrameType::data, 7, 0, 1, "a"));
        writer.appendFrame(encoder.encode(FrameType::data, 7, 1, 0, "b", false, true));
        writer.abandonUnit(7);  // the attempt was cut inside a row
        try {
            writer.appendFrame(encoder.encode(FrameType::data, 7, 2, 1, "c"));
            FAIL() << "no exception";
        } catch (const FormatError& error) {
            EXPECT_CONTAINS(std::string{error.what()}, "is out of order: expected seq 0");
        }
        writer.appendFrame(encoder.encode(FrameType::data, 7, 0, 2, "retried"));
        const UnitSummary summary = writer.endUnit(7);
        EXPECT_EQ(summary.frames, 1u);
        EXPECT_EQ(summary.rows, 2u);
        try {
            writer.abandonUnit(7);
            FAIL() << "no exception";
        } catch (const FormatError& error) {
            EXPECT_CONTAINS(std::string{error.what()},
                            "abandons an attempt at a unit that was already closed");
        }
        writer.abandonUnit(8);
        writer.abandonUnit(8);
        writer.endUnit(8);
        writer.finish();
    }
    const SeekableArchive archive = SeekableArchive::open(path);
    FrameDecoder decoder;
    const UnitInfo* unit = archive.findUnit(7);
    ASSERT_NE(unit, nullptr);
    EXPECT_EQ(unit->attempts, 2u);
    ASSERT_EQ(unit->frames.size(), 1u);
    EXPECT_EQ(archive.readFrame(archive.entries()[unit->frames[0]], decoder).payload, "retried");
    EXPECT_EQ(unit->rows, 2u);
    EXPECT_EQ(archive.findUnit(8)->attempts, 3u);
    EXPECT_TRUE(archive.entries()[2].header.abandoned());
    EXPECT_EQ(archive.entries()[2].header.seq, 2u);
    EXPECT_EQ(archive.entries()[2].header.rows, 1u);
}

TEST(ArchiveWriter, RefusesToCloseAUnitInsideARow) {
    TempDir dir{"pgsluice-archive-test"};
    ArchiveWriter writer = ArchiveWriter::create(dir.file("cut.pgs"));
    FrameEncoder encoder(3);
    writer.appendFrame(encoder.encode(FrameType::data, 8, 0, 0, "half a row", false, true));
    try {
        writer.endUnit(8);
        FAIL() << "no exception";
    } catch (const FormatError& error) {
        EXPECT_CONTAINS(std::string{error.what()}, "follows a continued data frame");
    }
    writer.appendFrame(encoder.encode(FrameType::data, 8, 1, 1, "the rest"));
    writer.endUnit(8);
    writer.finish();
}

TEST(ArchiveWriter, AVersion1WriterRefusesTheNewFlags) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("v1.pgs");
    {
        ArchiveWriterOptions options;
        options.format_version = 1;
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        FrameEncoder encoder(3);
        try {
            writer.abandonUnit(1);
            FAIL() << "no exception";
        } catch (const FormatError& error) {
            EXPECT_CONTAINS(std::string{error.what()},
                            "unit 1 cannot be abandoned in a version 1 archive");
        }
        try {
            writer.appendFrame(encoder.encode(FrameType::data, 1, 0, 0, "x", false, true));
            FAIL() << "no exception";
        } catch (const FormatError& error) {
            EXPECT_CONTAINS(std::string{error.what()}, "which a version 1 archive cannot use");
        }
        writer.appendFrame(encoder.encode(FrameType::data, 1, 0, 1, "x"));
        writer.endUnit(1);
        writer.finish();
    }
    EXPECT_EQ(SeekableArchive::open(path).header().version, 1u);
    ArchiveWriterOptions options;
    options.format_version = 3;
    EXPECT_THROW(ArchiveWriter::create(dir.file("v3.pgs"), options), Error);
}

// --- UnitWriter: rows of any size in frames of a bounded size -----------------------------------

// A COPY BINARY tuple of three fields: `big` random bytes, a NULL, `text` repeated letters.
std::string tupleOf(std::size_t big, std::size_t text, std::uint64_t seed) {
    const std::string noise = randomBytes(big, seed);
    return std::string("\0\3", 2) + be32(static_cast<std::uint32_t>(big)) + noise + be32(~0u) +
           be32(static_cast<std::uint32_t>(text)) +
           std::string(text, static_cast<char>('a' + seed % 26));
}

// A whole COPY BINARY stream of `tuples`, as PostgreSQL sends it.
std::string copyStream(const std::vector<std::string>& tuples) {
    std::string out{copy::copy_plain_header};
    for (const std::string& t : tuples) {
        out += t;
    }
    return out + std::string{copy::copy_trailer};
}

copy::RowDigest digestOf(const std::vector<std::string>& rows) {
    copy::RowDigest digest;
    for (const std::string& row : rows) {
        digest.addRow(row);
    }
    return digest;
}

// What a unit written through a UnitWriter looks like read back.
struct WrittenUnit {
    std::string stream;               // UnitReader's chunks joined
    std::string sequential;           // the same through ArchiveReader (earlier attempts dropped)
    std::vector<FrameHeader> frames;  // the closing attempt's data frames
    std::uint32_t attempts = 0;
    copy::RowDigest digest;       // the UnitWriter's
    std::uint64_t raw_bytes = 0;  // the UnitWriter's
    std::size_t high_water = 0;
    std::size_t capacity = 0;
};

// Writes unit 3 through a UnitWriter: for each attempt, `stream` cut into chunks of the sizes
// `chunk` returns; every attempt but the last is abandoned after `cut_at` bytes.
WrittenUnit writeUnit(const std::string& stream, bool binary, int columns, std::size_t frame_bytes,
                      const std::function<std::size_t()>& chunk, int attempts = 1,
                      std::size_t cut_at = 0) {
    TempDir dir{"pgsluice-archive-test"};
    const std::string path = dir.file("unit.pgs");
    WrittenUnit out;
    {
        ArchiveWriter writer = ArchiveWriter::create(path);
        FrameEncoder encoder(1);
        UnitWriter unit(writer, encoder, 3, binary, columns, frame_bytes);
        for (int attempt = 1; attempt <= attempts; ++attempt) {
            const std::size_t end = attempt < attempts ? cut_at : stream.size();
            for (std::size_t pos = 0; pos < end;) {
                const std::size_t size = std::min(std::max<std::size_t>(chunk(), 1), end - pos);
                unit.write(std::string_view(stream).substr(pos, size));
                pos += size;
            }
            if (attempt < attempts) {
                unit.abandon();
            }
        }
        unit.finish();
        EXPECT_EQ(unit.abandonedAttempts(), static_cast<std::uint32_t>(attempts - 1));
        out.digest = unit.digest();
        out.raw_bytes = unit.rawBytes();
        out.high_water = unit.bufferHighWater();
        out.capacity = unit.bufferCapacity();
        writer.finish();
    }
    const SeekableArchive archive = SeekableArchive::open(path);
    FrameDecoder decoder;
    const UnitInfo* info = archive.findUnit(3);
    if (info == nullptr) {
        ADD_FAILURE() << "unit 3 is not in the archive";
        return out;
    }
    out.attempts = info->attempts;
    for (std::size_t position : info->frames) {
        out.frames.push_back(archive.entries()[position].header);
    }
    UnitReader reader(archive, *info, decoder, binary);
    while (const std::optional<std::string_view> piece = reader.next()) {
        out.stream.append(*piece);
    }
    ArchiveReader sequential = ArchiveReader::open(path);
    Frame frame;
    if (binary) {
        out.sequential = copy::copy_plain_header;
    }
    std::string attempt;
    while (sequential.next(frame)) {
        if (frame.header.type == FrameType::data) {
            attempt.append(frame.payload);
        } else if (frame.header.type == FrameType::unit_end) {
            if (!frame.header.abandoned()) {
                out.sequential += attempt;
            }
            attempt.clear();
        }
    }
    if (binary) {
        out.sequential += copy::copy_trailer;
    }
    return out;
}

// Checks the frames of a unit whose rows are `rows` (tuples or lines with their newline): every
// frame that is not continued ends at a row end, every continued one inside a row, each holds
// at most 2 * frame_bytes, and their rows counts count the rows that end in them.
void expectFramesCutWell(const std::vector<FrameHeader>& frames,
                         const std::vector<std::string>& rows, std::size_t frame_bytes) {
    std::vector<std::uint64_t> ends;  // payload offsets where rows end
    std::uint64_t offset = 0;
    for (const std::string& row : rows) {
        offset += row.size();
        ends.push_back(offset);
    }
    std::uint64_t at = 0;
    std::size_t next_end = 0;
    for (const FrameHeader& header : frames) {
        EXPECT_LE(header.raw_length, 2 * frame_bytes);
        at += header.raw_length;
        std::uint64_t ended = 0;
        while (next_end < ends.size() && ends[next_end] <= at) {
            ++next_end;
            ++ended;
        }
        EXPECT_EQ(header.rows, ended);
        const bool at_row_end = next_end > 0 && ends[next_end - 1] == at;
        EXPECT_EQ(header.continued(), !at_row_end) << "frame " << header.seq;
        if (!header.continued() && &header != &frames.back()) {
            EXPECT_GE(header.raw_length, frame_bytes);
        }
        if (header.continued()) {
            EXPECT_EQ(header.raw_length, 2 * frame_bytes);
        }
    }
    EXPECT_EQ(at, offset);
    EXPECT_EQ(next_end, rows.size());
}

TEST(UnitWriter, RowsSeveralTimesLargerThanAFrameSpanContinuedFrames) {
    constexpr std::size_t frame = 1024;
    std::vector<std::string> rows;
    for (int i = 0; i < 5; ++i) {
        rows.push_back(tupleOf(10, 20, i));
    }
    rows.push_back(tupleOf(5000, 300, 10));  // about 5 frames
    rows.push_back(tupleOf(3, 4, 11));
    rows.push_back(tupleOf(2 * frame - 18, 0, 12));  // about two frames
    rows.push_back(tupleOf(20000, 9000, 13));
    for (int i = 0; i < 40; ++i) {
        rows.push_back(tupleOf(30, 5, 20 + i));
    }
    const std::string stream = copyStream(rows);
    std::mt19937 random(5);
    const std::vector<std::function<std::size_t()>> chunkings = {
        [&] { return stream.size(); },
        [] { return std::size_t{1}; },
        [&] { return std::uniform_int_distribution<std::size_t>(1, 3000)(random); },
        [] { return std::size_t{frame}; },
    };
    for (const auto& chunking : chunkings) {
        const WrittenUnit unit = writeUnit(stream, true, 3, frame, chunking);
        EXPECT_EQ(unit.stream, stream);
        EXPECT_EQ(unit.sequential, stream);
        EXPECT_EQ(unit.digest, digestOf(rows));
        EXPECT_EQ(unit.raw_bytes, stream.size() - copy::copy_plain_header.size() - 2);
        EXPECT_EQ(unit.attempts, 1u);
        EXPECT_TRUE(std::any_of(unit.frames.begin(), unit.frames.end(),
                                [](const FrameHeader& h) { return h.continued(); }));
        expectFramesCutWell(unit.frames, rows, frame);
        EXPECT_LE(unit.high_water, 2 * frame);
        EXPECT_LE(unit.capacity, 2 * frame);
    }
}

TEST(UnitWriter, OrdinaryRowsNeverSpanFrames) {
    std::vector<std::string> rows;
    for (int i = 0; i < 3000; ++i) {
        rows.push_back(tupleOf(static_cast<std::size_t>(i % 200), 17, i));
    }
    const std::string stream = copyStream(rows);
    const WrittenUnit unit = writeUnit(stream, true, 3, 4096, [] { return std::size_t{777}; });
    EXPECT_EQ(unit.stream, stream);
    EXPECT_GT(unit.frames.size(), 20u);
    for (const FrameHeader& header : unit.frames) {
        EXPECT_FALSE(header.continued());
    }
    expectFramesCutWell(unit.frames, rows, 4096);
}

TEST(UnitWriter, TextLinesLongerThanAFrame) {
    constexpr std::size_t frame = 512;
    std::vector<std::string> lines;
    std::vector<std::string> with_newlines;
    for (std::size_t length : {5, 0, 3000, 10, 1024, 1023, 1, 9000, 7}) {
        lines.push_back(std::string(length, 't'));
        with_newlines.push_back(lines.back() + "\n");
    }
    std::string text;
    for (const std::string& line : with_newlines) {
        text += line;
    }
    std::mt19937 random(9);
    for (const auto& chunking : std::vector<std::function<std::size_t()>>{
             [&] { return text.size(); },
             [&] { return std::uniform_int_distribution<std::size_t>(1, 700)(random); }}) {
        const WrittenUnit unit = writeUnit(text, false, 1, frame, chunking);
        EXPECT_EQ(unit.stream, text);
        EXPECT_EQ(unit.sequential, text);
        EXPECT_EQ(unit.digest, digestOf(lines));
        expectFramesCutWell(unit.frames, with_newlines, frame);
        EXPECT_LE(unit.high_water, 2 * frame);
    }
}

TEST(UnitWriter, AnAbandonedAttemptLeavesNoRowsBehind) {
    constexpr std::size_t frame = 1024;
    std::vector<std::string> rows;
    for (int i = 0; i < 30; ++i) {
        rows.push_back(tupleOf(i == 10 ? 6000 : 100, 10, i));
    }
    const std::string stream = copyStream(rows);
    for (const int attempts : {2, 4}) {
        // Cut inside the large row: the voided attempt ends with a continued frame.
        const WrittenUnit unit = writeUnit(
            stream, true, 3, frame, [] { return std::size_t{300}; }, attempts,
            19 + 10 * rows[0].size() + 3000);
        EXPECT_EQ(unit.attempts, static_cast<std::uint32_t>(attempts));
        EXPECT_EQ(unit.stream, stream);
        EXPECT_EQ(unit.sequential, stream);
        EXPECT_EQ(unit.digest, digestOf(rows));
        EXPECT_EQ(unit.raw_bytes, stream.size() - 21);
        expectFramesCutWell(unit.frames, rows, frame);
    }
}

TEST(UnitWriter, ARowLargerThanTheFrameLimitFitsInDefaultFrames) {
    // 70 MiB in one row, more than a frame may hold (64 MiB): before version 2 this failed with
    // "a data frame payload of ... exceeds the limit". It arrives as one chunk, as libpq hands
    // over a whole CopyData message, and once in 1 MiB chunks.
    const std::size_t big = std::size_t{70} << 20;
    const std::vector<std::string> rows = {tupleOf(10, 10, 1), tupleOf(big, 1000, 2),
                                           tupleOf(10, 10, 3)};
    const std::string stream = copyStream(rows);
    for (const std::size_t chunk : {stream.size(), std::size_t{1} << 20}) {
        const WrittenUnit unit =
            writeUnit(stream, true, 3, data_frame_bytes, [&] { return chunk; });
        EXPECT_TRUE(unit.stream == stream);
        EXPECT_EQ(unit.digest, digestOf(rows));
        EXPECT_LE(unit.high_water, 2 * data_frame_bytes);
        EXPECT_LE(unit.capacity, 2 * data_frame_bytes);
        EXPECT_GE(unit.frames.size(), 9u);
        expectFramesCutWell(unit.frames, rows, data_frame_bytes);
    }
}

TEST(UnitWriter, RefusesBadStreamsAndBadFrameSizes) {
    TempDir dir{"pgsluice-archive-test"};
    ArchiveWriter writer = ArchiveWriter::create(dir.file("bad.pgs"));
    FrameEncoder encoder(1);
    const std::string stream = copyStream({tupleOf(3000, 3, 1)});
    {
        UnitWriter unit(writer, encoder, 1, true, 3, 1024);
        unit.write(std::string_view(stream).substr(0, 2500));
        EXPECT_THROW(unit.finish(), FormatError);  // cut off inside the row
        // The frames written so far are voided and the unit starts over.
        unit.abandon();
        unit.write(stream);
        unit.finish();
    }
    {
        UnitWriter unit(writer, encoder, 2, true, 4, 1024);
        EXPECT_THROW(unit.write(stream), FormatError);  // 3 fields, 4 columns
        unit.abandon();
        EXPECT_THROW(unit.finish(), FormatError);  // an empty stream is not a COPY stream
    }
    EXPECT_THROW(UnitWriter(writer, encoder, 3, true, 3, 0), Error);
    EXPECT_THROW(UnitWriter(writer, encoder, 3, true, 3, max_raw_length), Error);
}

// --- what inspect makes of retried units --------------------------------------------------------

IndexEntry entryOf(FrameType type, std::uint32_t unit, std::uint32_t seq, std::uint64_t rows,
                   std::uint32_t raw, std::uint8_t flags = 0) {
    IndexEntry entry;
    entry.header.type = type;
    entry.header.unit = unit;
    entry.header.seq = seq;
    entry.header.rows = rows;
    entry.header.raw_length = raw;
    entry.header.stored_length = raw;
    entry.header.flags = flags;
    return entry;
}

TEST(InspectAttempts, ARetriedUnitIsCountedFromItsLastAttempt) {
    const std::vector<IndexEntry> frames = {
        entryOf(FrameType::data, 1, 0, 5, 100),
        entryOf(FrameType::data, 2, 0, 1, 10),
        entryOf(FrameType::unit_end, 1, 1, 5, 0, flag_abandoned),
        entryOf(FrameType::data, 1, 0, 0, 70, flag_continued),
        entryOf(FrameType::data, 1, 1, 3, 60),
        entryOf(FrameType::unit_end, 2, 1, 1, 0),
        entryOf(FrameType::unit_end, 1, 2, 3, 0),
        entryOf(FrameType::unit_end, 3, 0, 0, 0, flag_abandoned),
        entryOf(FrameType::unit_end, 3, 0, 0, 0, flag_abandoned),
        entryOf(FrameType::unit_end, 3, 0, 0, 0),
    };
    const std::map<std::uint32_t, engine::UnitFrames> units = engine::unitsOf(frames);
    ASSERT_EQ(units.size(), 3u);
    EXPECT_EQ(units.at(1).attempts, 2u);
    EXPECT_EQ(units.at(1).data_frames, 2u);
    EXPECT_EQ(units.at(1).rows, 3u);
    EXPECT_EQ(units.at(1).raw_bytes, 130u);
    EXPECT_TRUE(units.at(1).closed);
    EXPECT_EQ(units.at(2).attempts, 1u);
    EXPECT_EQ(units.at(3).attempts, 3u);
    EXPECT_TRUE(units.at(3).closed);

    engine::ArchiveFacts facts;
    facts.name = "retried.pgs";
    facts.frames = frames;
    Contents contents;
    contents.tables.resize(3);
    for (std::uint32_t i = 0; i < 3; ++i) {
        contents.tables[i].oid = 100 + i;
        contents.tables[i].units = {ArchivedUnit{i + 1}};
    }
    contents.tables[2].units.push_back(ArchivedUnit{4});  // not in the archive: a problem
    Results results;
    for (std::uint32_t id : {1u, 2u, 3u, 4u}) {
        UnitResult r;
        r.id = id;
        r.digest.rows = units.count(id) ? units.at(id).rows : 0;
        results.units.push_back(r);
    }
    const nlohmann::ordered_json report = engine::buildInspectReport(facts, contents, &results);
    const nlohmann::ordered_json& tables = report["tables"];
    ASSERT_EQ(tables.size(), 3u);
    EXPECT_EQ(tables[0]["attempts"], 2);
    EXPECT_EQ(tables[0]["rows"], 3);
    EXPECT_EQ(tables[0]["raw_bytes"], 130);
    EXPECT_FALSE(tables[1].contains("attempts"));
    EXPECT_EQ(tables[2]["attempts"], 4);  // 3 for unit 3, 1 for unit 4
    // "attempts" comes after the keys every table has, which keep their places.
    EXPECT_EQ(tables[0].begin().key(), "table");
    EXPECT_EQ(std::prev(tables[0].end()).key(), "attempts");
    EXPECT_EQ(report["problems"].size(), 1u);  // unit 4 only: the rows match the last attempts
    const std::string text = engine::formatInspectText(report);
    EXPECT_CONTAINS(text,
                    "retried       table table with oid 100: 2 attempts for 1 unit (1 "
                    "abandoned, their frames void)");
    EXPECT_CONTAINS(text, "table with oid 102: 4 attempts for 2 units (2 abandoned");
    EXPECT_EQ(text.find("table with oid 101: "), std::string::npos);
}

}  // namespace
}  // namespace pgsluice::archive
