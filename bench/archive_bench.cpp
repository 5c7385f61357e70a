// Throughput of the archive path: frame compression at several zstd levels, writing an archive
// through io_uring and through plain write(2), a unit's COPY stream through the UnitWriter
// (streaming rows into frames, against the splitter-based writer of format version 1), and
// reading it back (sequentially, and from several threads through the footer index).
//
// The data is a synthetic COPY BINARY stream shaped like an application's user/orders table:
// int4 id, int8 foreign key, an e-mail built from name lists, first and last name, a timestamp
// that mostly increases, a status from a small set, a numeric amount, a mostly-NULL column, a
// free-text note on some rows, a boolean. Random bytes would say nothing about compression.
//
// Bytes counted are raw COPY bytes unless a benchmark says otherwise; "ratio" is raw / stored.
// Files go to $TMPDIR (default /tmp); every write benchmark includes the final fsync.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/archive_writer.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/archive/unit_stream.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/io/file_writer.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::archive {
namespace {

constexpr std::size_t stream_bytes = std::size_t{64} << 20;

void appendBigEndian(std::string& out, std::uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out += static_cast<char>((value >> (8 * i)) & 0xFF);
    }
}

void appendField(std::string& out, std::string_view value) {
    appendBigEndian(out, value.size(), 4);
    out += value;
}

void appendNull(std::string& out) {
    appendBigEndian(out, 0xFFFFFFFF, 4);
}

// Rows only (no COPY header): the engine cuts frames at row boundaries anyway.
const std::string& copyStream() {
    static const std::string stream = [] {
        static const char* const first[] = {
            "james",  "mary",    "robert",    "patricia", "john",    "jennifer", "michael",
            "linda",  "david",   "elizabeth", "william",  "barbara", "richard",  "susan",
            "joseph", "jessica", "thomas",    "sarah",    "charles", "karen"};
        static const char* const last[] = {
            "smith",    "johnson",   "williams", "brown",     "jones",   "garcia",   "miller",
            "davis",    "rodriguez", "martinez", "hernandez", "lopez",   "gonzalez", "wilson",
            "anderson", "thomas",    "taylor",   "moore",     "jackson", "martin"};
        static const char* const domains[] = {"gmail.com",   "yahoo.com",   "hotmail.com",
                                              "outlook.com", "example.org", "company.co.uk"};
        static const char* const statuses[] = {"active", "pending", "closed", "suspended"};
        static const char* const words[] = {
            "please", "call",   "before", "delivery", "the",     "customer", "asked", "for",
            "a",      "refund", "on",     "order",    "invoice", "sent",     "again", "thanks"};
        std::mt19937_64 random(42);
        std::string out;
        out.reserve(stream_bytes + 4096);
        std::uint64_t timestamp = 757479845678000;  // microseconds since 2000-01-01
        std::string text;
        for (std::uint64_t id = 1; out.size() < stream_bytes; ++id) {
            appendBigEndian(out, 11, 2);  // field count
            appendBigEndian(out, 4, 4);
            appendBigEndian(out, id, 4);
            appendBigEndian(out, 8, 4);
            appendBigEndian(out, random() % 200000, 8);
            const char* f = first[random() % 20];
            const char* l = last[random() % 20];
            text = std::string{f} + "." + l + std::to_string(random() % 1000) + "@" +
                   domains[random() % 6];
            appendField(out, text);
            appendField(out, f);
            appendField(out, l);
            timestamp += random() % 60000000;
            appendBigEndian(out, 8, 4);
            appendBigEndian(out, timestamp, 8);
            appendField(out, statuses[random() % 4]);
            // numeric(10,2): ndigits, weight, sign, dscale, base-10000 digits
            appendBigEndian(out, 12, 4);
            appendBigEndian(out, 2, 2);
            appendBigEndian(out, 0, 2);
            appendBigEndian(out, 0, 2);
            appendBigEndian(out, 2, 2);
            appendBigEndian(out, random() % 10000, 2);
            appendBigEndian(out, (random() % 100) * 100, 2);
            if (random() % 10 == 0) {
                appendField(out, "2fa-enabled");
            } else {
                appendNull(out);
            }
            if (random() % 3 == 0) {
                text.clear();
                for (int w = 0, n = 3 + static_cast<int>(random() % 12); w < n; ++w) {
                    text += words[random() % 16];
                    text += ' ';
                }
                appendField(out, text);
            } else {
                appendNull(out);
            }
            appendBigEndian(out, 1, 4);
            out += static_cast<char>(random() % 2);
        }
        return out;
    }();
    return stream;
}

// The stream cut into frames of about `frame_size` bytes (at any byte: the archive does not
// care, and the compression ratio barely does).
std::vector<std::string_view> frames(std::size_t frame_size) {
    const std::string& stream = copyStream();
    std::vector<std::string_view> out;
    for (std::size_t pos = 0; pos < stream.size(); pos += frame_size) {
        out.push_back(std::string_view(stream).substr(pos, frame_size));
    }
    return out;
}

std::string tempPath(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("pgsluice-bench-" + std::to_string(::getpid()) + "-" + name))
        .string();
}

bool skipWithoutUring(benchmark::State& state, io::IoMode mode) {
    if (mode == io::IoMode::uring && io::uringUnavailableReason()) {
        state.SkipWithError(("io_uring unavailable: " + *io::uringUnavailableReason()).c_str());
        return true;
    }
    return false;
}

io::IoMode modeArg(std::int64_t arg) {
    return arg == 0 ? io::IoMode::sync : io::IoMode::uring;
}

// --- compression alone -----------------------------------------------------------------------

// Args: zstd level, frame size in KiB.
void BM_FrameEncode(benchmark::State& state) {
    const int level = static_cast<int>(state.range(0));
    const auto pieces = frames(static_cast<std::size_t>(state.range(1)) << 10);
    FrameEncoder encoder(level);
    std::uint64_t raw = 0;
    std::uint64_t stored = 0;
    for (auto _ : state) {
        for (std::string_view piece : pieces) {
            const std::string_view frame = encoder.encode(FrameType::data, 1, 0, 1, piece);
            benchmark::DoNotOptimize(frame.data());
            raw += piece.size();
            stored += frame.size();
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(raw));
    state.counters["ratio"] = static_cast<double>(raw) / static_cast<double>(stored);
}
BENCHMARK(BM_FrameEncode)
    ->ArgNames({"level", "frame_kib"})
    ->ArgsProduct({{1, 3, 6}, {1024, 4096}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

// --- compress + write, the dump path ---------------------------------------------------------

// Args: backend (0 sync, 1 io_uring), zstd level, compressing threads. Each iteration writes
// the whole stream as one archive (4 MiB frames, spread over the threads' units) and fsyncs it.
void BM_DumpArchive(benchmark::State& state) {
    const io::IoMode mode = modeArg(state.range(0));
    if (skipWithoutUring(state, mode)) {
        return;
    }
    const int level = static_cast<int>(state.range(1));
    const int threads = static_cast<int>(state.range(2));
    const auto pieces = frames(std::size_t{4} << 20);
    const std::string path = tempPath("dump.pgs");
    std::uint64_t file_bytes = 0;
    for (auto _ : state) {
        ArchiveWriterOptions options;
        options.io = mode;
        options.level = level;
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                FrameEncoder encoder(level);
                std::uint32_t seq = 0;
                for (std::size_t i = static_cast<std::size_t>(t); i < pieces.size();
                     i += static_cast<std::size_t>(threads)) {
                    writer.appendFrame(encoder.encode(
                        FrameType::data, static_cast<std::uint32_t>(t), seq++, 1, pieces[i]));
                }
                writer.endUnit(static_cast<std::uint32_t>(t));
            });
        }
        for (auto& worker : workers) {
            worker.join();
        }
        writer.finish();
        file_bytes = writer.bytesWritten();
    }
    std::filesystem::remove(path);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * copyStream().size()));
    state.counters["ratio"] =
        static_cast<double>(copyStream().size()) / static_cast<double>(file_bytes);
    state.SetLabel(std::string{io::ioModeName(mode)});
}
BENCHMARK(BM_DumpArchive)
    ->ArgNames({"uring", "level", "threads"})
    ->ArgsProduct({{0, 1}, {1, 3}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// --- writing alone ---------------------------------------------------------------------------

// Args: backend. Appends 256 MiB in 1 MiB pieces to a new file, fsync included: the I/O side
// of a dump without the compression in front of it. Bytes are file bytes.
void BM_FileWriter(benchmark::State& state) {
    const io::IoMode mode = modeArg(state.range(0));
    if (skipWithoutUring(state, mode)) {
        return;
    }
    const std::string path = tempPath("writer.bin");
    const std::string_view piece = std::string_view(copyStream()).substr(0, std::size_t{1} << 20);
    constexpr int pieces = 256;
    for (auto _ : state) {
        io::FileWriter writer = io::FileWriter::create(path, mode);
        for (int i = 0; i < pieces; ++i) {
            writer.append(piece);
        }
        writer.commit();
    }
    std::filesystem::remove(path);
    state.SetBytesProcessed(state.iterations() * pieces * static_cast<std::int64_t>(piece.size()));
    state.SetLabel(std::string{io::ioModeName(mode)});
}
BENCHMARK(BM_FileWriter)
    ->ArgName("uring")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// --- a unit's COPY stream into frames ----------------------------------------------------------

// A whole COPY BINARY stream (header, rows, trailer) of `rows` bytes.
std::string wholeStream(std::string_view rows) {
    return std::string{copy::copy_plain_header} + std::string{rows} +
           std::string{copy::copy_trailer};
}

// The application-table stream as a COPY TO STDOUT sends it.
const std::string& tableStream() {
    static const std::string stream = wholeStream(copyStream());
    return stream;
}

// 64 rows of about 1 MiB (a 768 KiB bytea of e-mail-like text, a 256 KiB text, a NULL): rows a
// RowSplitter must copy whole when they straddle chunks.
const std::string& bigRowStream() {
    static const std::string stream = [] {
        const std::string& text = copyStream();
        std::string rows;
        for (std::size_t i = 0; i < 64; ++i) {
            rows += std::string("\0\3", 2);
            for (const std::size_t size : {std::size_t{768} << 10, std::size_t{256} << 10}) {
                appendBigEndian(rows, size, 4);
                rows += text.substr((i * 4099) % (text.size() - size), size);
            }
            appendNull(rows);
        }
        return wholeStream(rows);
    }();
    return stream;
}

// What UnitWriter did before format version 2: whole rows from a RowSplitter (a row that
// straddles chunks copied into its buffer first), appended and digested whole, frames cut at row
// ends only.
class SplitterUnitWriter : public copy::ChunkSink {
  public:
    SplitterUnitWriter(ArchiveWriter& writer, FrameEncoder& encoder, std::uint32_t unit,
                       int columns)
        : frames_(writer, encoder, unit), splitter_(copy::SplitterOptions{columns}) {}
    void write(std::string_view chunk) override {
        splitter_.feed(copy::asBytes(chunk), [&](const copy::Row& row) {
            const std::string_view bytes = copy::asText(row.bytes);
            frames_.buffer().append(bytes);
            digest_.addRow(bytes);
            frames_.recordAdded();
        });
    }
    void finish() override {
        splitter_.finish();
        frames_.close();
    }

  private:
    FrameBuffer frames_;
    copy::RowSplitter splitter_;
    copy::RowDigest digest_;
};

// Args: writer (0 the splitter-based one of version 1, 1 UnitWriter), rows (0 the application
// table, 1 rows of 1 MiB), zstd level. Each iteration writes the stream, fed in 64 KiB chunks,
// as one unit of a new archive (sync writes, fsync included). Bytes are COPY bytes.
void BM_UnitWriter(benchmark::State& state) {
    const bool streaming = state.range(0) != 0;
    const std::string& stream = state.range(1) == 0 ? tableStream() : bigRowStream();
    const int level = static_cast<int>(state.range(2));
    const int columns = state.range(1) == 0 ? 11 : 3;
    const std::string path = tempPath("unit.pgs");
    constexpr std::size_t chunk = 64 << 10;
    for (auto _ : state) {
        ArchiveWriterOptions options;
        options.io = io::IoMode::sync;
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        FrameEncoder encoder(level);
        std::unique_ptr<copy::ChunkSink> sink;
        if (streaming) {
            sink = std::make_unique<UnitWriter>(writer, encoder, 1, true, columns);
        } else {
            sink = std::make_unique<SplitterUnitWriter>(writer, encoder, 1, columns);
        }
        for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
            sink->write(std::string_view(stream).substr(pos, chunk));
        }
        sink->finish();
        writer.finish();
    }
    std::filesystem::remove(path);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
    state.SetLabel(streaming ? "UnitWriter (streaming)" : "RowSplitter (version 1)");
}
BENCHMARK(BM_UnitWriter)
    ->ArgNames({"streaming", "big_rows", "level"})
    ->ArgsProduct({{0, 1}, {0, 1}, {1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// --- reading ---------------------------------------------------------------------------------

// The archives the read benchmarks use, removed when the process exits.
struct BenchFiles {
    std::map<int, std::string> paths;
    ~BenchFiles() {
        for (const auto& [level, path] : paths) {
            std::filesystem::remove(path);
        }
    }
};

// One archive per level (4 MiB frames), written once, read many times (from the page cache).
const std::string& benchArchive(int level) {
    static BenchFiles files;
    std::string& path = files.paths[level];
    if (path.empty()) {
        path = tempPath("read-" + std::to_string(level) + ".pgs");
        ArchiveWriterOptions options;
        options.io = io::IoMode::sync;
        ArchiveWriter writer = ArchiveWriter::create(path, options);
        FrameEncoder encoder(level);
        std::uint32_t seq = 0;
        for (std::string_view piece : frames(std::size_t{4} << 20)) {
            writer.appendFrame(encoder.encode(FrameType::data, 1, seq++, 1, piece));
        }
        writer.endUnit(1);
        writer.finish();
    }
    return path;
}

// Args: backend, level. Sequential read, checksum and decompression of every frame.
void BM_ReadSequential(benchmark::State& state) {
    const io::IoMode mode = modeArg(state.range(0));
    if (skipWithoutUring(state, mode)) {
        return;
    }
    const std::string& path = benchArchive(static_cast<int>(state.range(1)));
    std::uint64_t raw = 0;
    for (auto _ : state) {
        ArchiveReader reader = ArchiveReader::open(path, mode);
        Frame frame;
        while (reader.next(frame)) {
            raw += frame.payload.size();
            benchmark::DoNotOptimize(frame.payload.data());
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(raw));
    state.SetLabel(std::string{io::ioModeName(mode)});
}
BENCHMARK(BM_ReadSequential)
    ->ArgNames({"uring", "level"})
    ->ArgsProduct({{0, 1}, {1, 3, 6}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// Args: threads. Parallel restore shape: threads take frames from the footer index and read
// them with positional reads, each with its own decoder. Level 3.
void BM_ReadSeekableParallel(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    const SeekableArchive archive = SeekableArchive::open(benchArchive(3), io::IoMode::sync);
    std::uint64_t raw = 0;
    for (auto _ : state) {
        std::atomic<std::size_t> next{0};
        std::atomic<std::uint64_t> bytes{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&] {
                FrameDecoder decoder;
                for (std::size_t i = next++; i < archive.entries().size(); i = next++) {
                    bytes += archive.readFrame(archive.entries()[i], decoder).payload.size();
                }
            });
        }
        for (auto& worker : workers) {
            worker.join();
        }
        raw += bytes;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(raw));
}
BENCHMARK(BM_ReadSeekableParallel)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

}  // namespace
}  // namespace pgsluice::archive
