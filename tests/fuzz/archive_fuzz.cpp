// libFuzzer target for the archive readers.
//
// Each input is read twice: as is, and "repaired" (every checksum recomputed where the bytes
// allow it). Random bytes almost never pass a 64-bit checksum, so without the repaired pass the
// fuzzer would only ever exercise the header checks; with it, it reaches zstd decoding of hostile
// payloads, the ordering rules and the footer parsing.
//
// Each version goes through the sequential reader and the seekable reader (which then reads
// every frame and blob), both over an in-memory file. Besides "no crash, no leak, no
// out-of-bounds access" (ASan/UBSan), the two readers must agree: both accept the archive with
// the same frames and payloads, or both refuse it; and what each says a unit holds must agree
// (version 2: the frames of its closing attempt, the sequential reader's caller dropping a unit's
// frames at each abandoned unit-end; the number of attempts). Any disagreement traps.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude src/io/*.cpp \
//       src/archive/*.cpp tests/fuzz/archive_fuzz.cpp -luring -lzstd -lxxhash -o archive_fuzz
//   ./archive_fuzz -max_total_time=180 -rss_limit_mb=2048 tests/fuzz/corpus/archive

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/format.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/error.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace pgsluice::archive {
namespace {

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

io::FileDescriptor memoryFile(std::string_view bytes) {
    const int fd = ::memfd_create("archive-fuzz", MFD_CLOEXEC);
    check(fd >= 0);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t rc = ::write(fd, bytes.data() + done, bytes.size() - done);
        check(rc > 0);
        done += static_cast<std::size_t>(rc);
    }
    ::lseek(fd, 0, SEEK_SET);
    return io::FileDescriptor(fd);
}

// What a reader made of the input: every frame with its payload, or a refusal.
struct Outcome {
    bool accepted = false;
    std::vector<IndexEntry> frames;
    std::vector<std::string> payloads;
    std::map<std::uint32_t, std::vector<IndexEntry>> unit_frames;  // the closing attempt's
    std::map<std::uint32_t, std::uint32_t> attempts;
};

Outcome readSequential(std::string_view bytes, io::IoMode mode) {
    Outcome outcome;
    try {
        // Small buffers, so frames straddle read-ahead buffers.
        ArchiveReader reader(
            io::FileReader(memoryFile(bytes), "fuzz", mode, io::ReaderOptions{64, 3}));
        Frame frame;
        std::map<std::uint32_t, bool> closed;
        while (reader.next(frame)) {
            check(frame.payload.size() == frame.header.raw_length);
            const FrameHeader& h = frame.header;
            outcome.frames.push_back({h, frame.offset});
            outcome.payloads.emplace_back(frame.payload);
            check(!h.continued() || h.type == FrameType::data);
            check(!h.abandoned() || h.type == FrameType::unit_end);
            check(reader.header().version >= 2 || (!h.continued() && !h.abandoned()));
            if (h.type == FrameType::data) {
                check(!closed[h.unit]);
                auto& frames = outcome.unit_frames[h.unit];
                check(h.seq == frames.size());
                frames.push_back({h, frame.offset});
            } else if (h.type == FrameType::unit_end) {
                check(!closed[h.unit]);
                auto& frames = outcome.unit_frames[h.unit];
                check(h.seq == frames.size());
                check(h.abandoned() || frames.empty() || !frames.back().header.continued());
                outcome.attempts.try_emplace(h.unit, 1);
                if (h.abandoned()) {
                    frames.clear();
                    ++outcome.attempts[h.unit];
                } else {
                    closed[h.unit] = true;
                }
            }
        }
        check(reader.framesRead() == outcome.frames);
        check(reader.position() == bytes.size());
        outcome.accepted = true;
    } catch (const FormatError&) {
    }
    return outcome;
}

Outcome readSeekable(std::string_view bytes) {
    Outcome outcome;
    try {
        const SeekableArchive archive(
            io::FileReader(memoryFile(bytes), "fuzz", io::IoMode::sync, io::ReaderOptions{64, 1}));
        FrameDecoder decoder;
        for (const IndexEntry& entry : archive.entries()) {
            const Frame frame = archive.readFrame(entry, decoder);
            check(frame.header == entry.header && frame.offset == entry.offset);
            check(frame.payload.size() == entry.header.raw_length);
            outcome.frames.push_back(entry);
            outcome.payloads.emplace_back(frame.payload);
        }
        for (const UnitInfo& unit : archive.units()) {
            check(archive.findUnit(unit.unit) == &unit);
            const FrameHeader& end = archive.entries().at(unit.end_frame).header;
            check(end.type == FrameType::unit_end && !end.abandoned());
            check(end.seq == unit.frames.size() && end.rows == unit.rows);
            check(unit.attempts >= 1);
            std::uint64_t raw = 0;
            auto& frames = outcome.unit_frames[unit.unit];
            for (std::size_t position : unit.frames) {
                const IndexEntry& entry = archive.entries().at(position);
                check(entry.header.unit == unit.unit && entry.header.type == FrameType::data);
                check(entry.header.seq == frames.size());
                check(position < unit.end_frame);
                raw += entry.header.raw_length;
                frames.push_back(entry);
            }
            check(raw == unit.raw_bytes);
            outcome.attempts[unit.unit] = unit.attempts;
        }
        for (const IndexEntry& entry : archive.entries()) {
            if (entry.header.type == FrameType::schema ||
                entry.header.type == FrameType::manifest) {
                archive.readBlob(entry.header.type, entry.header.unit, decoder);
            }
        }
        outcome.accepted = true;
    } catch (const FormatError&) {
    }
    return outcome;
}

void storeChecksum(std::string& bytes, std::size_t at, std::uint64_t value) {
    storeLE(&bytes[at], value, 8);
}

// Recomputes every checksum the bytes let us find: file header, each frame (walked by its
// stored length), and the trailer, pointing it at the footer if one ends right before it.
std::string repair(std::string_view input) {
    std::string bytes(input);
    if (bytes.size() < 16) {
        return bytes;
    }
    const std::uint64_t header_length = loadLE(&bytes[12], 4);
    if (header_length < file_header_min_size || header_length > bytes.size()) {
        return bytes;
    }
    storeChecksum(bytes, header_length - 8, XXH3_64bits(bytes.data(), header_length - 8));
    std::uint64_t position = header_length;
    std::uint64_t footer_offset = 0;
    std::uint64_t footer_length = 0;
    std::uint64_t footer_checksum = 0;
    while (position + frame_header_size <= bytes.size()) {
        const std::uint64_t stored = loadLE(&bytes[position + 28], 4);
        if (position + frame_header_size + stored > bytes.size()) {
            break;
        }
        const std::string_view frame(&bytes[position], frame_header_size + stored);
        const std::uint64_t checksum =
            frameChecksum(frame.substr(0, frame_header_size), frame.substr(frame_header_size));
        storeChecksum(bytes, position + frame_checksummed_size, checksum);
        if (bytes[position + 4] == static_cast<char>(FrameType::footer)) {
            footer_offset = position;
            footer_length = frame_header_size + stored;
            footer_checksum = checksum;
        }
        position += frame_header_size + stored;
    }
    if (bytes.size() >= header_length + trailer_size) {
        const std::size_t trailer = bytes.size() - trailer_size;
        if (footer_length != 0 && footer_offset + footer_length == trailer) {
            storeLE(&bytes[trailer], footer_offset, 8);
            storeLE(&bytes[trailer + 8], footer_length, 8);
            storeLE(&bytes[trailer + 16], footer_checksum, 8);
        }
        storeChecksum(bytes, trailer + 24, XXH3_64bits(&bytes[trailer], 24));
    }
    return bytes;
}

void readBoth(std::string_view bytes, io::IoMode mode) {
    const Outcome sequential = readSequential(bytes, mode);
    const Outcome seekable = readSeekable(bytes);
    // The two readers apply the same rules, so they must agree on every input.
    check(sequential.accepted == seekable.accepted);
    if (sequential.accepted) {
        check(sequential.frames == seekable.frames);
        check(sequential.payloads == seekable.payloads);
        check(sequential.unit_frames == seekable.unit_frames);
        check(sequential.attempts == seekable.attempts);
    }
}

}  // namespace
}  // namespace pgsluice::archive

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pgsluice;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // io_uring costs a ring set-up per reader; exercise it on one input in eight.
    const io::IoMode mode =
        (size % 8 == 3 && !io::uringUnavailableReason()) ? io::IoMode::uring : io::IoMode::sync;
    archive::readBoth(input, mode);
    const std::string repaired = archive::repair(input);
    if (repaired != input) {
        archive::readBoth(repaired, mode);
    }
    return 0;
}
