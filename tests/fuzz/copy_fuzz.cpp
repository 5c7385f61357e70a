// libFuzzer target for the COPY BINARY codec.
//
// The input is treated as a COPY stream and split three ways: in one piece, byte by byte, and in
// pseudo-random chunks derived from the input. Besides "no crash, no out-of-bounds read" (ASan),
// the runs are checked against each other: every chunking must give the same rows and the same
// outcome, every field must lie inside its row, and re-emitting each row field by field through
// BinaryWriter must give back its exact bytes. The streaming scanner (RowStream) is run on the
// same chunkings and must agree with RowSplitter: the same rows (its pieces joined), refused or
// accepted alike, and StreamDigest must equal RowDigest over RowSplitter's rows. Any mismatch
// traps.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude src/copy/*.cpp \
//       tests/fuzz/copy_fuzz.cpp -o copy_fuzz
//   ./copy_fuzz -max_total_time=120 tests/fuzz/corpus/copy

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/binary_writer.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/copy/row_stream.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::copy {
namespace {

// What one pass over the input produced; passes with different chunkings must agree.
struct Outcome {
    std::vector<std::string> rows;
    bool format_error = false;  // next() or feed() threw FormatError
    bool complete = false;      // finish() accepted the stream
    bool operator==(const Outcome&) const = default;
};

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

// Visits every field of a row the splitter handed out and re-emits it through the writer.
void checkRow(const Row& row, std::string& scratch) {
    const std::byte* const begin = row.bytes.data();
    const std::byte* const end = begin + row.bytes.size();
    scratch.clear();
    BinaryWriter writer(scratch);
    writer.beginRow(row.field_count);
    int fields = 0;
    // The splitter validated the row, so walking it must not throw.
    for (const Field& field : row.fields()) {
        check(field.index == fields);
        check(field.bytes.empty() ||
              (field.bytes.data() >= begin && field.bytes.data() + field.bytes.size() <= end));
        check(!field.is_null || field.bytes.empty());
        writer.appendField(field);
        ++fields;
    }
    check(fields == row.field_count);
    check(writer.fieldsLeft() == 0);
    check(asBytes(scratch).size() == row.bytes.size() &&
          std::equal(row.bytes.begin(), row.bytes.end(), asBytes(scratch).begin()));
}

Outcome split(ByteSpan input, const std::function<std::size_t()>& next_size,
              int expected_fields = any_field_count) {
    Outcome outcome;
    RowSplitter splitter(SplitterOptions{expected_fields});
    std::string scratch;
    std::uint64_t expected_offset = 0;
    try {
        std::size_t pos = 0;
        do {
            const std::size_t size = std::min(next_size(), input.size() - pos);
            splitter.feed(input.subspan(pos, size), [&](const Row& row) {
                check(row.number == outcome.rows.size() + 1);
                if (row.number == 1) {
                    expected_offset = splitter.headerLength();
                }
                check(row.offset == expected_offset);
                expected_offset += row.bytes.size();
                checkRow(row, scratch);
                outcome.rows.emplace_back(asText(row.bytes));
            });
            pos += size;
        } while (pos < input.size());
    } catch (const FormatError&) {
        outcome.format_error = true;
        return outcome;
    }
    try {
        splitter.finish();
        outcome.complete = true;
        check(splitter.sawTrailer());
        check(splitter.bytesConsumed() == input.size());
    } catch (const FormatError&) {
        check(!splitter.sawTrailer());
    }
    return outcome;
}

// The same pass with the streaming scanner: rows are its pieces joined. Checks that pieces are
// never empty, lie in their chunk, follow each other and carry consistent flags, and that the
// scanner holds no more than the fixed header bytes.
Outcome stream(ByteSpan input, const std::function<std::size_t()>& next_size,
               int expected_fields = any_field_count) {
    Outcome outcome;
    RowStream rows(SplitterOptions{expected_fields});
    std::string current;
    bool in_row = false;
    std::uint64_t next_offset = 0;
    try {
        std::size_t pos = 0;
        do {
            const std::size_t size = std::min(next_size(), input.size() - pos);
            const ByteSpan chunk = input.subspan(pos, size);
            rows.feed(chunk, [&](const RowPiece& piece) {
                check(!piece.bytes.empty());
                check(piece.bytes.data() >= chunk.data() &&
                      piece.bytes.data() + piece.bytes.size() <= chunk.data() + chunk.size());
                check(piece.offset ==
                      static_cast<std::uint64_t>(piece.bytes.data() - input.data()));
                check(piece.first == !in_row);
                check(piece.row == outcome.rows.size() + 1);
                check(piece.first || piece.offset == next_offset);
                check(!piece.last || piece.field_count >= 0);
                if (piece.first) {
                    current.clear();
                }
                current.append(asText(piece.bytes));
                next_offset = piece.offset + piece.bytes.size();
                in_row = !piece.last;
                if (piece.last) {
                    outcome.rows.push_back(current);
                }
            });
            check(rows.bufferedBytes() <= min_header_length);
            pos += size;
        } while (pos < input.size());
    } catch (const FormatError&) {
        outcome.format_error = true;
        return outcome;
    }
    check(rows.bytesConsumed() == input.size());
    check(rows.rowCount() == outcome.rows.size());
    try {
        rows.finish();
        outcome.complete = true;
        check(rows.sawTrailer());
    } catch (const FormatError&) {
        check(!rows.sawTrailer());
    }
    return outcome;
}

// StreamDigest over the input fed in chunks must be RowDigest over RowSplitter's rows whenever
// the stream is well-formed, and refuse it when RowSplitter does.
void digestMatches(ByteSpan input, const std::function<std::size_t()>& next_size,
                   const Outcome& reference) {
    StreamDigest digest(true);
    bool failed = false;
    try {
        std::size_t pos = 0;
        do {
            const std::size_t size = std::min(next_size(), input.size() - pos);
            digest.feed(asText(input.subspan(pos, size)));
            check(digest.bufferedBytes() <= min_header_length);
            pos += size;
        } while (pos < input.size());
        digest.finish();
    } catch (const FormatError&) {
        failed = true;
    }
    check(failed == !reference.complete);
    if (!failed) {
        RowDigest expected;
        for (const std::string& row : reference.rows) {
            expected.addRow(row);
        }
        check(digest.digest() == expected);
    }
}

// Reads arbitrary bytes as one row with the stand-alone reader pieces.
void readDirectly(ByteSpan input) {
    try {
        const RowScan scan = scanRow(input);
        if (scan.status == RowStatus::row) {
            check(scan.length <= input.size());
            const RowView view(input.first(static_cast<std::size_t>(scan.length)));
            int fields = 0;
            for (const Field& field : view) {
                (void)field;
                ++fields;
            }
            check(fields == scan.field_count);
        } else {
            check(scan.status == RowStatus::trailer || scan.length > input.size());
        }
    } catch (const FormatError&) {
    }
    try {
        // Not scanned first: the iterator alone must stay inside the buffer.
        std::size_t total = 0;
        for (const Field& field : RowView(input)) {
            total += field.bytes.size();
        }
        check(total <= input.size());
    } catch (const FormatError&) {
    }
    try {
        BinaryReader reader(input);
        while (reader.remaining() > 0) {
            const std::int32_t length = reader.readInt32("a length");
            if (length > 0) {
                reader.readBytes(static_cast<std::size_t>(length), "a value");
            }
        }
    } catch (const FormatError&) {
    }
}

}  // namespace
}  // namespace pgsluice::copy

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pgsluice::copy;
    const ByteSpan input(reinterpret_cast<const std::byte*>(data), size);

    const auto all = [&] { return size; };
    const auto one = [] { return std::size_t{1}; };
    const Outcome whole = split(input, all);
    const Outcome bytewise = split(input, one);
    check(whole == bytewise);
    check(stream(input, all) == whole);
    check(stream(input, one) == whole);
    digestMatches(input, one, whole);

    // Chunk sizes from a generator seeded by the input, so a crash reproduces from the file.
    std::uint64_t seed = 0x9E3779B97F4A7C15ull ^ size;
    for (std::size_t i = 0; i < size && i < 16; ++i) {
        seed = (seed ^ data[i]) * 0x100000001B3ull;
    }
    seed |= 1;  // xorshift stays at zero forever from zero
    std::uint64_t state = seed;
    const auto random_sizes = [&] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<std::size_t>(state % 64);  // 0-byte chunks included on purpose
    };
    const Outcome chunked = split(input, random_sizes);
    check(whole == chunked);
    state = seed;
    check(stream(input, random_sizes) == whole);
    state = seed;
    digestMatches(input, random_sizes, whole);

    // With a column count (taken from the input, so the fuzzer can steer it), both refuse or
    // accept alike; the messages may differ when a row breaks two rules at once.
    const int expected_fields = static_cast<int>(size % 5) - 1;
    const Outcome counted = split(input, all, expected_fields);
    check(stream(input, all, expected_fields) == counted);
    check(stream(input, one, expected_fields) == counted);

    readDirectly(input);
    if (size > min_header_length) {
        readDirectly(input.subspan(min_header_length));
    }
    return 0;
}
