// Unit tests of the COPY BINARY tuple codec: reader, row splitter, streaming row scanner,
// streaming digests, writer.
//
// The sample streams are built here byte by byte, independently of BinaryWriter, so that a
// writer bug cannot hide a reader bug; one sample was captured from a PostgreSQL 15 server.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "big_endian.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/binary_writer.hpp"
#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/copy/row_stream.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::copy {
namespace {

using pgsluice::testing::be16;
using pgsluice::testing::be32;
using pgsluice::testing::be64;

using Value = std::optional<std::string>;  // nullopt = NULL
using Rows = std::vector<std::vector<Value>>;

// --- building streams by hand -----------------------------------------------------------------

const std::string signature{"PGCOPY\n\377\r\n\0", 11};

std::string header(std::uint32_t flags = 0, const std::string& extension = "") {
    return signature + be32(static_cast<std::int32_t>(flags)) +
           be32(static_cast<std::int32_t>(extension.size())) + extension;
}

std::string tuple(const std::vector<Value>& fields) {
    std::string out = be16(static_cast<std::int16_t>(fields.size()));
    for (const Value& field : fields) {
        if (field) {
            out += be32(static_cast<std::int32_t>(field->size())) + *field;
        } else {
            out += be32(-1);
        }
    }
    return out;
}

const std::string trailer = be16(-1);

std::string stream(const Rows& rows, const std::string& head = header()) {
    std::string out = head;
    for (const auto& row : rows) {
        out += tuple(row);
    }
    return out + trailer;
}

std::string fromHex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(std::string{hex.substr(i, 2)}, nullptr, 16));
    }
    return out;
}

// Rows shaped like a real table: int4, int8, text, timestamp, a NULL-able text, numeric,
// bytea and an empty string; the binary encodings are the server's.
Rows sampleRows() {
    // numeric 12345.678: ndigits 3, weight 1, sign +, dscale 3, base-10000 digits 1 2345 6780
    const std::string numeric =
        be16(3) + be16(1) + be16(0) + be16(3) + be16(1) + be16(2345) + be16(6780);
    return {
        {be32(1), be64(9000000000), "alice@example.org", be64(757479845678000), std::nullopt,
         numeric, std::string{"\x00\xff\x10", 3}, ""},
        {be32(-2), be64(-1), "Bj\xC3\xB8rn \xC3\x86r\xC3\xB8", std::nullopt, std::nullopt,
         std::nullopt, "", ""},
        {be32(2147483647), std::nullopt, std::string(300, 'x'), be64(-1000000), "z",
         be16(0) + be16(0) + be16(0) + be16(0), std::nullopt, std::nullopt},
        {be32(0), be64(0), std::string(70000, 'y'), be64(0), "", "", std::string(1, '\0'), ""},
    };
}

// COPY sample TO STDOUT (FORMAT binary) from PostgreSQL 15 for
//   (1, 9000000000, 'alice@example.org', '2024-01-02 03:04:05.678', NULL, 12345.678, '\x00ff10',
//   '')
//   (-2, -1, 'Bjørn Ærø', NULL, NULL, NULL, '\x', '')
//   (2147483647, NULL, repeat('x', 40), '1999-12-31 23:59:59', 'z', -0.5, NULL, NULL)
const std::string server_sample = fromHex(
    "5047434f50590aff0d0a00000000000000000000080000000400000001000000080000000218711a00000000"
    "11616c696365406578616d706c652e6f7267000000080002b0ec85204bb0ffffffff0000000e000300010000"
    "0003000109291a7c0000000300ff1000000000000800000004fffffffe00000008ffffffffffffffff000000"
    "0c426ac3b8726e20c38672c3b8ffffffffffffffffffffffff00000000000000000008000000047fffffffff"
    "ffffff0000002878787878787878787878787878787878787878787878787878787878787878787878787878"
    "78787800000008fffffffffff0bdc0000000017a0000000a0001ffff400000011388ffffffffffffffffffff");

// --- reading helpers --------------------------------------------------------------------------

std::vector<Value> valuesOf(const RowView& row) {
    std::vector<Value> values;
    for (const Field& field : row) {
        values.push_back(field.is_null ? Value{} : Value{std::string{field.text()}});
    }
    return values;
}

// Feeds `bytes` cut into chunks of the sizes `next_size` returns and collects every row; the
// stream must end with its trailer.
Rows splitAll(const std::string& bytes, const std::function<std::size_t()>& next_size,
              SplitterOptions options = {}) {
    RowSplitter splitter(options);
    Rows rows;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const std::size_t size = std::min(next_size(), bytes.size() - pos);
        splitter.feed(asBytes(bytes.data() + pos, size), [&](const Row& row) {
            EXPECT_EQ(row.number, rows.size() + 1);
            rows.push_back(valuesOf(row.fields()));
        });
        pos += size;
    }
    splitter.finish();
    EXPECT_EQ(splitter.rowCount(), rows.size());
    EXPECT_EQ(splitter.bytesConsumed(), bytes.size());
    return rows;
}

Rows splitWhole(const std::string& bytes) {
    return splitAll(bytes, [&] { return bytes.size(); });
}

// Runs `action`, expecting an exception of type E whose message contains `needle`.
template <class E>
void expectThrowsWith(const std::function<void()>& action, std::string_view needle) {
    try {
        action();
    } catch (const E& error) {
        EXPECT_NE(std::string_view{error.what()}.find(needle), std::string_view::npos)
            << "message was: " << error.what() << "\nexpected it to contain: " << needle;
        return;
    } catch (const std::exception& error) {
        ADD_FAILURE() << "wrong exception type, message: " << error.what();
        return;
    }
    ADD_FAILURE() << "no exception; expected one containing: " << needle;
}

// Range-for and the standard algorithms must accept a RowView.
static_assert(std::input_iterator<FieldIterator>);
static_assert(std::sentinel_for<std::default_sentinel_t, FieldIterator>);

// --- BinaryReader -----------------------------------------------------------------------------

TEST(CopyBinaryReader, ReadsBigEndianIntegers) {
    const std::string bytes = be16(-2) + be32(-123456789) + be16(0x1234) + "abc";
    BinaryReader reader(asBytes(bytes));
    EXPECT_EQ(reader.readInt16("a"), -2);
    EXPECT_EQ(reader.readInt32("b"), -123456789);
    EXPECT_EQ(reader.readInt16("c"), 0x1234);
    EXPECT_EQ(asText(reader.readBytes(3, "d")), "abc");
    EXPECT_EQ(reader.remaining(), 0u);
}

TEST(CopyBinaryReader, ReadPastEndNamesWhatAndOffset) {
    const std::string bytes = be32(7) + "xy";
    BinaryReader reader(asBytes(bytes), 1000);
    reader.readInt32("length");
    expectThrowsWith<FormatError>([&] { reader.readInt32("the length of field 2"); },
                                  "expected the length of field 2 (4 bytes) at offset 1004, but "
                                  "only 2 bytes remain");
    expectThrowsWith<FormatError>([&] { reader.readBytes(3, "field 2"); }, "field 2 (3 bytes)");
    EXPECT_EQ(reader.readInt16("two bytes"), 0x7879);
    expectThrowsWith<FormatError>([&] { reader.readInt16("x"); }, "only 0 bytes remain");
}

TEST(CopyBinaryReader, HeaderOk) {
    const std::string head = header();
    const HeaderScan scan = scanHeader(asBytes(head));
    EXPECT_TRUE(scan.complete);
    EXPECT_EQ(scan.length, 19u);
    EXPECT_EQ(head, server_sample.substr(0, 19));
}

TEST(CopyBinaryReader, HeaderNeedsMoreBytes) {
    const std::string head = header(0, "12345");
    for (std::size_t cut = 0; cut < 19; ++cut) {
        const HeaderScan scan = scanHeader(asBytes(head.substr(0, cut)));
        EXPECT_FALSE(scan.complete) << cut;
        EXPECT_EQ(scan.length, 19u) << cut;
    }
    for (std::size_t cut = 19; cut < head.size(); ++cut) {
        const HeaderScan scan = scanHeader(asBytes(head.substr(0, cut)));
        EXPECT_FALSE(scan.complete) << cut;
        EXPECT_EQ(scan.length, 24u) << cut;
    }
    EXPECT_TRUE(scanHeader(asBytes(head)).complete);
}

TEST(CopyBinaryReader, BadSignatureRejected) {
    // What a text-format COPY would send.
    expectThrowsWith<FormatError>([] { scanHeader(asBytes("1\talice\n")); },
                                  "bad signature: byte 0 is 0x31, expected 0x50");
    expectThrowsWith<FormatError>([] { scanHeader(asBytes("1\talice\n")); }, "(FORMAT binary)");
    // Refused as soon as the first wrong byte is in, before the header is complete.
    expectThrowsWith<FormatError>([] { scanHeader(asBytes("PGCOPX")); }, "byte 5 is 0x58");
    std::string head = header();
    head[10] = '\1';
    expectThrowsWith<FormatError>([&] { scanHeader(asBytes(head)); }, "byte 10 is 0x01");
}

TEST(CopyBinaryReader, OidFlagRejected) {
    const std::string head = header(1u << 16);
    expectThrowsWith<FormatError>([&] { scanHeader(asBytes(head)); }, "carry OIDs");
}

TEST(CopyBinaryReader, UnknownCriticalFlagRejectedAndLowBitsIgnored) {
    const std::string critical = header(1u << 20);
    expectThrowsWith<FormatError>([&] { scanHeader(asBytes(critical)); },
                                  "unknown critical flags 0x00100000");
    const std::string harmless = header(0x0000FFFFu);
    EXPECT_TRUE(scanHeader(asBytes(harmless)).complete);
}

TEST(CopyBinaryReader, NegativeHeaderExtensionRejected) {
    const std::string head = signature + be32(0) + be32(-5);
    expectThrowsWith<FormatError>([&] { scanHeader(asBytes(head)); },
                                  "invalid header extension length -5");
}

TEST(CopyBinaryReader, HeaderExtensionSkipped) {
    const Rows rows = {{"a", std::nullopt}, {"", "bc"}};
    const std::string bytes = stream(rows, header(0, std::string("ext\0ra", 6)));
    EXPECT_EQ(splitWhole(bytes), rows);
    EXPECT_EQ(splitAll(bytes, [] { return 1; }), rows);

    RowSplitter splitter;
    splitter.feed(asBytes(bytes));
    const std::optional<Row> first = splitter.next();
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(splitter.headerLength(), 25u);
    EXPECT_EQ(first->offset, 25u);
}

TEST(CopyBinaryReader, Trailer) {
    const RowScan scan = scanRow(asBytes(trailer));
    EXPECT_EQ(scan.status, RowStatus::trailer);
    EXPECT_EQ(scan.length, 2u);
    expectThrowsWith<FormatError>([] { RowView view(asBytes(trailer), any_field_count, 9); },
                                  "expected row 9 but found the end-of-data trailer");
}

TEST(CopyBinaryReader, NullField) {
    const std::string row = tuple({std::nullopt, "x"});
    const RowView view(asBytes(row));
    ASSERT_EQ(view.fieldCount(), 2);
    auto it = view.begin();
    EXPECT_TRUE(it->is_null);
    EXPECT_TRUE(it->bytes.empty());
    EXPECT_EQ(it->index, 0);
    ++it;
    EXPECT_FALSE(it->is_null);
    EXPECT_EQ(it->text(), "x");
    EXPECT_EQ(it->index, 1);
    ++it;
    EXPECT_TRUE(it == view.end());
    EXPECT_EQ(scanRow(asBytes(row)).length, row.size());
}

TEST(CopyBinaryReader, ZeroLengthFieldIsNotNull) {
    const std::string row = tuple({"", std::nullopt});
    EXPECT_EQ(valuesOf(RowView(asBytes(row))), (std::vector<Value>{"", std::nullopt}));
    const RowScan scan = scanRow(asBytes(row));
    EXPECT_EQ(scan.status, RowStatus::row);
    EXPECT_EQ(scan.length, row.size());
    EXPECT_EQ(scan.field_count, 2);
}

TEST(CopyBinaryReader, ZeroFieldRows) {
    // A table with no columns: what PostgreSQL sends for `CREATE TABLE t(); COPY t ...`.
    const std::string bytes = fromHex("5047434f50590aff0d0a00000000000000000000000000ffff");
    EXPECT_EQ(splitWhole(bytes), (Rows{{}, {}}));
}

TEST(CopyBinaryReader, NegativeLengthOtherThanNullRejected) {
    const std::string row = be16(2) + be32(1) + "a" + be32(-2);
    expectThrowsWith<FormatError>([&] { scanRow(asBytes(row), 100, 3); },
                                  "invalid length -2 for field 2 of row 3 at offset 107");
    expectThrowsWith<FormatError>(
        [&] {
            for (const Field& field : RowView(asBytes(row), any_field_count, 3)) {
                (void)field;
            }
        },
        "invalid length -2 for field 2 of row 3 at row offset 7");
    const std::string min_length = be16(1) + be32(INT32_MIN);
    expectThrowsWith<FormatError>([&] { scanRow(asBytes(min_length)); }, "invalid length -2147");
}

TEST(CopyBinaryReader, NegativeFieldCountRejected) {
    const std::string row = be16(-2);
    expectThrowsWith<FormatError>([&] { scanRow(asBytes(row)); }, "invalid field count -2");
    expectThrowsWith<FormatError>([&] { RowView view(asBytes(row)); }, "invalid field count -2");
}

TEST(CopyBinaryReader, LengthPastEndOfBuffer) {
    const std::string row = be16(1) + be32(10) + "abc";
    const RowScan scan = scanRow(asBytes(row));
    EXPECT_EQ(scan.status, RowStatus::incomplete);
    EXPECT_EQ(scan.length, 16u);  // 2 + 4 + 10: the whole row must be in before it can finish
    expectThrowsWith<FormatError>(
        [&] {
            for (const Field& field : RowView(asBytes(row), any_field_count, 5)) {
                (void)field;
            }
        },
        "field 1 of row 5 declares 10 bytes at row offset 2, but only 3 bytes remain in the row");
    const std::string short_header = be16(2) + be32(0) + "ab";
    expectThrowsWith<FormatError>(
        [&] {
            for (const Field& field : RowView(asBytes(short_header))) {
                (void)field;
            }
        },
        "expected the length of field 2 (4 bytes) at row offset 6, but only 2 bytes remain");
    // A length near INT32_MAX must not wrap around in the bounds arithmetic.
    const std::string huge = be16(1) + be32(INT32_MAX) + "abc";
    EXPECT_EQ(scanRow(asBytes(huge)).length, 6u + INT32_MAX);
}

TEST(CopyBinaryReader, IncompleteRowAtEveryCut) {
    const std::string row = tuple(sampleRows()[0]);
    for (std::size_t cut = 0; cut < row.size(); ++cut) {
        const RowScan scan = scanRow(asBytes(row.substr(0, cut)));
        EXPECT_EQ(scan.status, RowStatus::incomplete) << cut;
        EXPECT_GT(scan.length, cut) << cut;
        EXPECT_LE(scan.length, row.size()) << cut;
    }
    const RowScan scan = scanRow(asBytes(row + trailer));
    EXPECT_EQ(scan.status, RowStatus::row);
    EXPECT_EQ(scan.length, row.size());
    EXPECT_EQ(scan.field_count, 8);
}

TEST(CopyBinaryReader, ScannerResumesWhereItStopped) {
    const std::string row = tuple(sampleRows()[0]);
    RowScanner scanner;
    std::size_t have = 0;
    RowScan scan;
    int scans = 0;
    // Grow the buffer to exactly what each scan asks for: every scan must make progress.
    do {
        scan = scanner.scan(asBytes(row.substr(0, have)));
        ++scans;
        if (scan.status == RowStatus::incomplete) {
            ASSERT_GT(scan.length, have);
            have = scan.length;
        }
    } while (scan.status == RowStatus::incomplete);
    EXPECT_EQ(scan.status, RowStatus::row);
    EXPECT_EQ(scan.length, row.size());
    // Two scans to get the field count, then one per length header and one per non-empty
    // value: six fields have a value, the NULL and the empty string have only a header.
    EXPECT_EQ(scans, 2 + 2 * 6 + 1 + 1);
    expectThrowsWith<Error>(
        [&] {
            RowScanner resumed;
            resumed.scan(asBytes(row.substr(0, 30)));
            resumed.scan(asBytes(row.substr(0, 10)));
        },
        "shorter buffer");
}

TEST(CopyBinaryReader, FieldCountMismatch) {
    const std::string row = tuple({"a", "b"});
    expectThrowsWith<FormatError>([&] { RowView view(asBytes(row), 3, 7); },
                                  "row 7 has 2 fields but 3 columns were expected");
    EXPECT_EQ(RowView(asBytes(row), 2, 7).fieldCount(), 2);
}

TEST(CopyBinaryReader, RealServerSample) {
    const Rows rows = splitWhole(server_sample);
    ASSERT_EQ(rows.size(), 3u);
    for (const auto& row : rows) {
        ASSERT_EQ(row.size(), 8u);
    }
    // The hand-built first sample row uses the server's encodings byte for byte.
    EXPECT_EQ(rows[0], sampleRows()[0]);
    EXPECT_EQ(rows[0][0], be32(1));
    EXPECT_EQ(rows[0][1], be64(9000000000));
    EXPECT_EQ(rows[0][2], "alice@example.org");
    EXPECT_EQ(rows[0][4], std::nullopt);
    EXPECT_EQ(rows[0][6], std::string("\x00\xff\x10", 3));
    EXPECT_EQ(rows[0][7], "");
    EXPECT_EQ(rows[1][2], "Bj\xC3\xB8rn \xC3\x86r\xC3\xB8");
    EXPECT_EQ(rows[1][6], "");  // '\x' is an empty bytea, not NULL
    EXPECT_EQ(rows[2][1], std::nullopt);
    EXPECT_EQ(rows[2][2], std::string(40, 'x'));
    EXPECT_EQ(rows[2][7], std::nullopt);
}

// --- RowSplitter ------------------------------------------------------------------------------

TEST(CopyRowSplitter, SameRowsWhateverTheChunking) {
    const Rows rows = sampleRows();
    const std::string bytes = stream(rows);
    EXPECT_EQ(splitWhole(bytes), rows);
    EXPECT_EQ(splitAll(bytes, [] { return 1; }), rows);
    for (const unsigned seed : {1u, 2u, 3u, 4u, 5u}) {
        std::mt19937 random(seed);
        std::uniform_int_distribution<std::size_t> small(1, 40);
        std::uniform_int_distribution<std::size_t> large(1, 100000);
        EXPECT_EQ(splitAll(bytes, [&] { return small(random); }), rows) << seed;
        EXPECT_EQ(splitAll(bytes, [&] { return large(random); }), rows) << seed;
    }
}

TEST(CopyRowSplitter, SameRowsForEveryTwoChunkCut) {
    const Rows rows = {sampleRows()[0], sampleRows()[1], {"a", "b"}, sampleRows()[2]};
    const std::string bytes = stream(rows);
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        std::vector<std::size_t> sizes = {cut, bytes.size() - cut};
        std::size_t i = 0;
        ASSERT_EQ(splitAll(bytes, [&] { return sizes[i++ % 2]; }), rows) << cut;
    }
}

TEST(CopyRowSplitter, TruncatedStreamDetectedAtEveryCut) {
    const Rows rows = {sampleRows()[0], sampleRows()[1], {"a", std::nullopt}};
    const std::string bytes = stream(rows);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        RowSplitter splitter;
        Rows got;
        splitter.feed(asBytes(bytes.data(), cut),
                      [&](const Row& row) { got.push_back(valuesOf(row.fields())); });
        // Only whole rows come out, and they are the first rows of the stream.
        ASSERT_LE(got.size(), rows.size());
        EXPECT_TRUE(std::equal(got.begin(), got.end(), rows.begin())) << cut;
        EXPECT_FALSE(splitter.sawTrailer());
        EXPECT_EQ(splitter.bytesConsumed() + splitter.bufferedBytes(), cut);
        const std::string_view expected =
            cut == 0 ? "the stream is empty"
                     : (cut < 19 ? "ends inside its header" : "without the end-of-data trailer");
        expectThrowsWith<FormatError>([&] { splitter.finish(); }, expected);
    }
    RowSplitter splitter;
    splitter.feed(asBytes(bytes.data(), bytes.size() - 3), [](const Row&) {});
    expectThrowsWith<FormatError>([&] { splitter.finish(); },
                                  "after 2 rows without the end-of-data trailer, inside row 3");
}

TEST(CopyRowSplitter, RowsInsideAChunkAreNotCopied) {
    const std::string bytes = stream(sampleRows());
    RowSplitter splitter;
    splitter.feed(asBytes(bytes));
    std::uint64_t expected_offset = 19;
    while (const std::optional<Row> row = splitter.next()) {
        EXPECT_EQ(row->offset, expected_offset);
        EXPECT_EQ(reinterpret_cast<const char*>(row->bytes.data()), bytes.data() + row->offset);
        expected_offset += row->bytes.size();
    }
    EXPECT_TRUE(splitter.sawTrailer());
    EXPECT_EQ(splitter.bufferCapacity(), 0u);
    splitter.finish();
}

TEST(CopyRowSplitter, BufferIsReusedOnceWarm) {
    // One row per chunk, each cut in the middle: every row straddles a chunk boundary.
    const std::string row = tuple({"0123456789", std::nullopt, std::string(500, 'q')});
    RowSplitter splitter;
    const std::string head = header();
    splitter.feed(asBytes(head), [](const Row&) {});
    std::size_t warm_capacity = 0;
    for (int i = 0; i < 1000; ++i) {
        splitter.feed(asBytes(row.data(), 100), [](const Row&) { FAIL() << "row too early"; });
        int seen = 0;
        splitter.feed(asBytes(row.data() + 100, row.size() - 100), [&](const Row& got) {
            EXPECT_EQ(got.number, static_cast<std::uint64_t>(i + 1));
            EXPECT_EQ(asText(got.bytes), row);
            ++seen;
        });
        EXPECT_EQ(seen, 1);
        if (i == 0) {
            warm_capacity = splitter.bufferCapacity();
            EXPECT_GE(warm_capacity, row.size());
        }
        EXPECT_EQ(splitter.bufferCapacity(), warm_capacity);
    }
    splitter.feed(asBytes(trailer), [](const Row&) {});
    splitter.finish();
}

TEST(CopyRowSplitter, HugeStraddlingRowReleasesItsBuffer) {
    SplitterOptions options;
    options.retained_buffer_bytes = 1024;
    const std::string bytes = stream({{std::string(5000, 'h')}, {"small"}});
    EXPECT_EQ(splitAll(
                  bytes, [] { return 700; }, options)
                  .size(),
              2u);
    RowSplitter splitter(options);
    splitter.feed(asBytes(bytes.data(), 100));
    EXPECT_FALSE(splitter.next());
    // The rest of row 1 and 4 bytes of row 2.
    splitter.feed(asBytes(bytes.data() + 100, 19 + 5006 + 4 - 100));
    ASSERT_TRUE(splitter.next());
    EXPECT_GE(splitter.bufferCapacity(), 5006u);
    EXPECT_FALSE(splitter.next());
    EXPECT_EQ(splitter.bufferedBytes(), 4u);
    EXPECT_LT(splitter.bufferCapacity(), 1024u);
}

TEST(CopyRowSplitter, FieldCountMismatchNamesTheRow) {
    const std::string bytes = stream({{"a", "b"}, {"a", "b"}, {"c"}});
    SplitterOptions options;
    options.expected_fields = 2;
    RowSplitter splitter(options);
    splitter.feed(asBytes(bytes));
    EXPECT_TRUE(splitter.next());
    EXPECT_TRUE(splitter.next());
    expectThrowsWith<FormatError>([&] { splitter.next(); },
                                  "row 3 at offset 43 has 1 fields but 2 columns were expected");
    // Also when only the field count of the row has arrived.
    RowSplitter early(options);
    const std::string head = header() + be16(5);
    early.feed(asBytes(head));
    expectThrowsWith<FormatError>([&] { early.next(); }, "row 1 at offset 19 has 5 fields");
}

TEST(CopyRowSplitter, DataAfterTrailerRejected) {
    const std::string bytes = stream({{"a"}});
    const std::string joined = bytes + "x";
    RowSplitter same_chunk;
    same_chunk.feed(asBytes(joined));
    EXPECT_TRUE(same_chunk.next());
    expectThrowsWith<FormatError>([&] { same_chunk.next(); },
                                  "1 bytes follow the end-of-data trailer at offset 26");

    RowSplitter next_chunk;
    next_chunk.feed(asBytes(bytes), [](const Row&) {});
    EXPECT_TRUE(next_chunk.sawTrailer());
    next_chunk.feed({});  // an empty read at end of input is fine
    EXPECT_FALSE(next_chunk.next());
    next_chunk.finish();
    expectThrowsWith<FormatError>([&] { next_chunk.feed(asBytes(bytes)); },
                                  "more bytes arrived after the end-of-data trailer");
}

TEST(CopyRowSplitter, OversizedRowRefused) {
    SplitterOptions options;
    options.max_row_bytes = 1000;
    const std::string bytes = header() + be16(1) + be32(5000) + "abc";
    RowSplitter splitter(options);
    splitter.feed(asBytes(bytes));
    expectThrowsWith<FormatError>([&] { splitter.next(); },
                                  "row 1 at offset 19 needs at least 5006 bytes, more than the "
                                  "limit of 1000");
    // A header extension is bounded the same way.
    const std::string big_extension = signature + be32(0) + be32(2000);
    RowSplitter header_splitter(options);
    header_splitter.feed(asBytes(big_extension));
    expectThrowsWith<FormatError>([&] { header_splitter.next(); }, "the header at offset 0");
}

TEST(CopyRowSplitter, BadHeaderReportedThroughSplitter) {
    RowSplitter splitter;
    const std::string text = "1\talice\n";
    splitter.feed(asBytes(text));
    expectThrowsWith<FormatError>([&] { splitter.next(); }, "bad signature");
    // The error does not leave the splitter in a state that reads out of bounds.
    expectThrowsWith<FormatError>([&] { splitter.next(); }, "bad signature");
}

TEST(CopyRowSplitter, BadSignatureRefusedOnItsFirstByteWhateverTheChunking) {
    // Found by the fuzzer: fed whole, a short wrong header was refused; fed byte by byte, it was
    // only reported as truncated.
    const std::string bytes = "PGCOPY+\n\377";
    RowSplitter splitter;
    splitter.feed(asBytes(bytes.data(), 6), [](const Row&) {});
    expectThrowsWith<FormatError>(
        [&] {
            splitter.feed(asBytes(bytes.data() + 6, 1));
            splitter.next();
        },
        "bad signature: byte 6 is 0x2b");
}

TEST(CopyRowSplitter, ResetStartsANewStream) {
    const std::string bytes = stream(sampleRows());
    RowSplitter splitter;
    splitter.feed(asBytes(bytes.data(), 1000), [](const Row&) {});
    splitter.reset();
    Rows rows;
    splitter.feed(asBytes(bytes), [&](const Row& row) { rows.push_back(valuesOf(row.fields())); });
    splitter.finish();
    EXPECT_EQ(rows, sampleRows());
}

TEST(CopyRowSplitter, FeedingBeforeDrainingIsAnError) {
    const std::string bytes = stream(sampleRows());
    RowSplitter splitter;
    splitter.feed(asBytes(bytes));
    expectThrowsWith<Error>([&] { splitter.feed(asBytes(bytes)); }, "before next() used up");
}

// --- RowStream: row boundaries without holding rows -------------------------------------------

// What a scanner made of a stream: its rows (as the bytes of their pieces joined), whether it
// refused the stream and with what message, whether finish() accepted it.
struct Scanned {
    std::vector<std::string> rows;
    std::string error;      // feed()/next() threw FormatError with this message
    std::string end_error;  // finish() threw FormatError with this message
    bool operator==(const Scanned&) const = default;
};

void PrintTo(const Scanned& scanned, std::ostream* out) {
    *out << scanned.rows.size() << " rows, error \"" << scanned.error << "\", end error \""
         << scanned.end_error << "\"";
}

// Scans `bytes` cut into chunks of the sizes `next_size` returns with a RowStream, checking the
// pieces: in order, inside their chunk, contiguous, first/last flags where the rows start and end.
Scanned streamAll(const std::string& bytes, const std::function<std::size_t()>& next_size,
                  SplitterOptions options = {}) {
    RowStream rows(options);
    Scanned out;
    std::string current;
    bool in_row = false;
    std::uint64_t expected_offset = 0;
    try {
        std::size_t pos = 0;
        do {
            const std::size_t size = std::min(next_size(), bytes.size() - pos);
            const ByteSpan chunk = asBytes(bytes.data() + pos, size);
            rows.feed(chunk, [&](const RowPiece& piece) {
                EXPECT_FALSE(piece.bytes.empty());
                EXPECT_GE(piece.bytes.data(), chunk.data());
                EXPECT_LE(piece.bytes.data() + piece.bytes.size(), chunk.data() + chunk.size());
                EXPECT_EQ(piece.offset,
                          static_cast<std::uint64_t>(
                              reinterpret_cast<const char*>(piece.bytes.data()) - bytes.data()));
                EXPECT_EQ(piece.first, !in_row);
                EXPECT_EQ(piece.row, out.rows.size() + 1);
                if (piece.first) {
                    current.clear();
                    if (!out.rows.empty()) {
                        EXPECT_EQ(piece.offset, expected_offset);
                    }
                } else {
                    EXPECT_EQ(piece.offset, expected_offset);
                }
                current.append(asText(piece.bytes));
                expected_offset = piece.offset + piece.bytes.size();
                in_row = !piece.last;
                if (piece.last) {
                    EXPECT_GE(piece.field_count, 0);
                    out.rows.push_back(current);
                }
            });
            EXPECT_EQ(rows.bufferedBytes() <= min_header_length, true);
            pos += size;
        } while (pos < bytes.size());
    } catch (const FormatError& error) {
        out.error = error.what();
        return out;
    }
    EXPECT_EQ(rows.rowCount(), out.rows.size());
    EXPECT_EQ(rows.bytesConsumed(), bytes.size());
    try {
        rows.finish();
        EXPECT_TRUE(rows.sawTrailer());
        EXPECT_EQ(rows.bufferedBytes(), 0u);
    } catch (const FormatError& error) {
        out.end_error = error.what();
    }
    return out;
}

// The same with RowSplitter, for comparison.
Scanned splitterAll(const std::string& bytes, const std::function<std::size_t()>& next_size,
                    SplitterOptions options = {}) {
    RowSplitter splitter(options);
    Scanned out;
    try {
        std::size_t pos = 0;
        do {
            const std::size_t size = std::min(next_size(), bytes.size() - pos);
            splitter.feed(asBytes(bytes.data() + pos, size),
                          [&](const Row& row) { out.rows.emplace_back(asText(row.bytes)); });
            pos += size;
        } while (pos < bytes.size());
    } catch (const FormatError& error) {
        out.error = error.what();
        return out;
    }
    try {
        splitter.finish();
    } catch (const FormatError& error) {
        out.end_error = error.what();
    }
    return out;
}

TEST(CopyRowStream, SameRowsAsTheSplitterWhateverTheChunking) {
    const std::string bytes = stream(sampleRows(), header(0, "ext"));
    const Scanned expected = splitterAll(bytes, [&] { return bytes.size(); });
    ASSERT_EQ(expected.rows.size(), 4u);
    EXPECT_EQ(expected.error + expected.end_error, "");
    EXPECT_EQ(streamAll(bytes, [&] { return bytes.size(); }), expected);
    EXPECT_EQ(streamAll(bytes, [] { return 1; }), expected);
    for (const unsigned seed : {1u, 2u, 3u}) {
        std::mt19937 random(seed);
        std::uniform_int_distribution<std::size_t> small(0, 40);
        std::uniform_int_distribution<std::size_t> large(1, 100000);
        EXPECT_EQ(streamAll(bytes, [&] { return small(random); }), expected) << seed;
        EXPECT_EQ(streamAll(bytes, [&] { return large(random); }), expected) << seed;
    }
}

TEST(CopyRowStream, SameRowsAndErrorsAsTheSplitterForEveryTwoChunkCut) {
    const Rows rows = {sampleRows()[0], {}, sampleRows()[1], {"a", "b"}, sampleRows()[2]};
    const std::string good = stream(rows);
    const std::string bad_length =
        header() + tuple({"a"}) + be16(2) + be32(3) + "abc" + be32(-2) + trailer;
    const std::string bad_count = header() + tuple({"a"}) + be16(-7) + trailer;
    for (const std::string& bytes :
         {good, bad_length, bad_count, good + "x", good.substr(0, 200)}) {
        for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
            const std::vector<std::size_t> sizes = {cut, bytes.size() - cut};
            std::size_t i = 0;
            std::size_t j = 0;
            const Scanned expected = splitterAll(bytes, [&] { return sizes[i++ % 2]; });
            ASSERT_EQ(streamAll(bytes, [&] { return sizes[j++ % 2]; }), expected) << cut;
        }
    }
}

TEST(CopyRowStream, TruncationIsReportedLikeTheSplitterDoesAtEveryCut) {
    const std::string bytes =
        stream({sampleRows()[0], sampleRows()[1], {"a", std::nullopt}}, header(0, "x"));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        const std::string part = bytes.substr(0, cut);
        const Scanned expected = splitterAll(part, [&] { return part.size(); });
        ASSERT_NE(expected.end_error, "") << cut;
        ASSERT_EQ(streamAll(part, [&] { return part.size(); }), expected) << cut;
        ASSERT_EQ(streamAll(part, [] { return 3; }), expected) << cut;
    }
}

TEST(CopyRowStream, HeaderAndRowErrorsAreTheSplitters) {
    SplitterOptions two;
    two.expected_fields = 2;
    const std::vector<std::pair<std::string, SplitterOptions>> inputs = {
        {"1\talice\n", {}},
        {"PGCOPY+\n\377", {}},
        {header(oids_flag) + trailer, {}},
        {header(0x00020000u) + trailer, {}},
        {signature + be32(0) + be32(-1) + trailer, {}},
        {header() + be16(-2) + trailer, {}},
        {header() + tuple({"a", "b"}) + be16(1) + be32(-3) + trailer, {}},
        {stream({{"a", "b"}, {"a", "b"}, {"c"}}), two},
        {header() + be16(5), two},
        {stream({{"a"}}) + "x", {}},
    };
    for (const auto& [bytes, options] : inputs) {
        const Scanned expected = splitterAll(
            bytes, [&] { return bytes.size(); }, options);
        EXPECT_NE(expected.error + expected.end_error, "") << bytes;
        EXPECT_EQ(streamAll(
                      bytes, [&] { return bytes.size(); }, options),
                  expected);
        EXPECT_EQ(streamAll(
                      bytes, [] { return 1; }, options),
                  splitterAll(
                      bytes, [] { return 1; }, options));
    }
}

TEST(CopyRowStream, OversizedRowsAreRefusedWhateverTheChunking) {
    SplitterOptions options;
    options.max_row_bytes = 1000;
    const std::string bytes = header() + be16(1) + be32(5000) + "abc";
    EXPECT_EQ(streamAll(
                  bytes, [] { return 7; }, options)
                  .error,
              "COPY binary data: row 1 at offset 19 needs at least 5006 bytes, more than the "
              "limit of 1000; PostgreSQL never sends a row that large, so the stream is corrupt");
    // Where RowSplitter accepts a row over the limit that comes in one chunk, RowStream does
    // not: it holds nothing, so the chunking must not decide.
    const std::string whole = stream({{std::string(1200, 'w')}});
    EXPECT_EQ(splitterAll(
                  whole, [&] { return whole.size(); }, options)
                  .error,
              "");
    EXPECT_NE(streamAll(
                  whole, [&] { return whole.size(); }, options)
                  .error,
              "");
    const std::string big_extension = signature + be32(0) + be32(2000);
    expectThrowsWith<FormatError>(
        [&] {
            RowStream rows(options);
            rows.feed(asBytes(big_extension), [](const RowPiece&) {});
        },
        "the header at offset 0 needs at least 2019 bytes");
    // The default limit is PostgreSQL's 1 GiB: a length beyond it is refused at once.
    const std::string huge = header() + be16(1) + be32(0x7fffffff);
    expectThrowsWith<FormatError>(
        [&] {
            RowStream rows;
            rows.feed(asBytes(huge), [](const RowPiece&) {});
        },
        "needs at least 2147483653 bytes, more than the limit of 1073741824");
}

TEST(CopyRowStream, AHugeRowIsHandedOutInPlaceAndNeverHeld) {
    // 8 MiB in two fields, fed in 4 KiB chunks: every piece points into its chunk.
    const std::string big(std::size_t{4} << 20, 'b');
    const std::string bytes = stream({{"small"}, {big, std::nullopt, big}, {"after"}});
    RowStream rows;
    std::size_t pieces = 0;
    std::uint64_t row2 = 0;
    for (std::size_t pos = 0; pos < bytes.size(); pos += 4096) {
        const std::size_t size = std::min<std::size_t>(4096, bytes.size() - pos);
        rows.feed(asBytes(bytes.data() + pos, size), [&](const RowPiece& piece) {
            EXPECT_EQ(reinterpret_cast<const char*>(piece.bytes.data()),
                      bytes.data() + piece.offset);
            if (piece.row == 2) {
                row2 += piece.bytes.size();
                ++pieces;
            }
        });
        EXPECT_EQ(rows.bufferedBytes(), 0u);
        EXPECT_LE(rows.partialBytes(), pos + size);
    }
    rows.finish();
    EXPECT_EQ(rows.rowCount(), 3u);
    EXPECT_EQ(row2, tuple({big, std::nullopt, big}).size());
    EXPECT_GT(pieces, 2000u);
}

TEST(CopyRowStream, ResetAndMisuse) {
    const std::string bytes = stream(sampleRows());
    RowStream rows;
    rows.feed(asBytes(bytes.data(), 1000), [](const RowPiece&) {});
    EXPECT_GT(rows.partialBytes(), 0u);
    rows.reset();
    std::uint64_t ended = 0;
    rows.feed(asBytes(bytes), [&](const RowPiece& piece) { ended += piece.last ? 1 : 0; });
    rows.finish();
    EXPECT_EQ(ended, sampleRows().size());
    EXPECT_EQ(rows.headerLength(), 19u);

    RowStream undrained;
    undrained.feed(asBytes(bytes));
    expectThrowsWith<Error>([&] { undrained.feed(asBytes(bytes)); }, "before next() used up");
}

// --- streaming digests ------------------------------------------------------------------------

// The digest of `rows` as RowDigest::addRow of each whole row.
RowDigest digestOf(const std::vector<std::string>& rows) {
    RowDigest digest;
    for (const std::string& row : rows) {
        digest.addRow(row);
    }
    return digest;
}

TEST(CopyRowHasher, EqualsAddRowForEveryLengthAndCut) {
    // Every XXH3 size class (0-16, 17-128, 129-240, longer, several stripes and blocks), cut
    // into pieces of every kind.
    std::mt19937_64 random(7);
    std::string bytes(5000, '\0');
    for (char& c : bytes) {
        c = static_cast<char>(random());
    }
    RowHasher hasher;
    for (std::size_t length : {0,   1,   3,   4,   8,   9,    16,   17,   64,   128,  129,
                               200, 240, 241, 255, 256, 1023, 1024, 1025, 2048, 4096, 5000}) {
        const std::string_view row = std::string_view(bytes).substr(0, length);
        RowDigest expected;
        expected.addRow(row);
        for (std::size_t cut : {std::size_t{0}, std::size_t{1}, length / 3, length / 2, length}) {
            if (cut > length) {
                continue;
            }
            RowDigest digest;
            hasher.add(row.substr(0, cut), true, false, digest);
            hasher.add(row.substr(cut), false, true, digest);
            ASSERT_EQ(digest, expected) << length << " cut at " << cut;
        }
        RowDigest bytewise;
        hasher.add({}, true, false, bytewise);
        for (std::size_t i = 0; i < length; ++i) {
            hasher.add(row.substr(i, 1), false, i + 1 == length, bytewise);
        }
        if (length == 0) {
            hasher.add({}, false, true, bytewise);
        }
        ASSERT_EQ(bytewise, expected) << length;
        RowDigest whole;
        hasher.add(row, true, true, whole);
        ASSERT_EQ(whole, expected) << length;
    }
}

TEST(CopyStreamDigest, BinaryRowsOfSeveralMiBInSmallChunksGiveTheRowDigest) {
    std::mt19937_64 random(3);
    std::string noise(std::size_t{3} << 20, '\0');
    for (char& c : noise) {
        c = static_cast<char>(random());
    }
    const Rows rows = {{"small", std::nullopt},
                       {noise, std::string(std::size_t{2} << 20, 'n')},
                       {"", ""},
                       {std::string(std::size_t{5} << 20, 'x'), "tail"}};
    const std::string bytes = stream(rows);
    std::vector<std::string> tuples;
    for (const auto& row : rows) {
        tuples.push_back(tuple(row));
    }
    const RowDigest expected = digestOf(tuples);
    for (const std::size_t chunk : {std::size_t{1000}, std::size_t{65536}, bytes.size()}) {
        StreamDigest digest(true);
        for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
            digest.feed(std::string_view(bytes).substr(pos, chunk));
            // Nothing of a row is held: at most the fixed header bytes while they arrive.
            EXPECT_EQ(digest.bufferedBytes(), 0u);
        }
        digest.finish();
        EXPECT_EQ(digest.digest(), expected) << chunk;
        EXPECT_EQ(digest.partialRowBytes(), 0u);
    }
    StreamDigest cut(true);
    cut.feed(std::string_view(bytes).substr(0, bytes.size() / 2));
    EXPECT_GT(cut.partialRowBytes(), std::uint64_t{1} << 20);
    EXPECT_EQ(cut.bufferedBytes(), 0u);
    expectThrowsWith<FormatError>([&] { cut.finish(); }, "without the end-of-data trailer");
    StreamDigest header_only(true);
    header_only.feed(std::string_view(bytes).substr(0, 7));
    EXPECT_EQ(header_only.bufferedBytes(), 7u);
}

TEST(CopyStreamDigest, TextLinesAreHashedAsTheyArrive) {
    const std::vector<std::string> lines = {"1\talice", "", std::string(300000, 'l'), "3\t\\N",
                                            std::string(70, 'm')};
    std::string text;
    for (const std::string& line : lines) {
        text += line + "\n";
    }
    const RowDigest expected = digestOf(lines);
    for (const std::size_t chunk :
         {std::size_t{1}, std::size_t{7}, std::size_t{4096}, text.size()}) {
        StreamDigest digest(false);
        for (std::size_t pos = 0; pos < text.size(); pos += chunk) {
            digest.feed(std::string_view(text).substr(pos, chunk));
            EXPECT_EQ(digest.bufferedBytes(), 0u);
        }
        digest.finish();
        EXPECT_EQ(digest.digest(), expected) << chunk;
    }
    StreamDigest cut(false);
    cut.feed("1\talice\n2\tbo");
    EXPECT_EQ(cut.partialRowBytes(), 4u);
    expectThrowsWith<FormatError>([&] { cut.finish(); }, "COPY text stream ended inside a row");
}

TEST(CopyDigestSink, PassesTheStreamOnAndDigestsIt) {
    struct Collect : ChunkSink {
        std::string bytes;
        bool finished = false;
        void write(std::string_view chunk) override { bytes.append(chunk); }
        void finish() override { finished = true; }
    } collect;
    const std::string bytes = stream(sampleRows());
    DigestSink sink(true, &collect);
    for (std::size_t pos = 0; pos < bytes.size(); pos += 333) {
        sink.write(std::string_view(bytes).substr(pos, 333));
    }
    sink.finish();
    EXPECT_EQ(collect.bytes, bytes);
    EXPECT_TRUE(collect.finished);
    std::vector<std::string> tuples;
    for (const auto& row : sampleRows()) {
        tuples.push_back(tuple(row));
    }
    EXPECT_EQ(sink.digest(), digestOf(tuples));
}

// --- BinaryWriter -----------------------------------------------------------------------------

template <class Buffer>
void writeRows(BinaryWriter<Buffer>& writer, const Rows& rows) {
    writer.writeHeader();
    for (const auto& row : rows) {
        writer.beginRow(static_cast<int>(row.size()));
        for (const Value& value : row) {
            if (value) {
                writer.appendField(std::string_view{*value});
            } else {
                writer.appendNull();
            }
        }
    }
    writer.writeTrailer();
}

TEST(CopyBinaryWriter, WritesTheSameBytesAsTheServer) {
    std::string out;
    BinaryWriter writer(out);
    writer.writeHeader();
    EXPECT_EQ(out, server_sample.substr(0, 19));
    out.clear();
    writeRows(writer, sampleRows());
    EXPECT_EQ(out, stream(sampleRows()));
}

TEST(CopyBinaryWriter, RoundTripThroughTheReader) {
    const Rows rows = sampleRows();
    std::vector<char> chars;
    BinaryWriter char_writer(chars);
    writeRows(char_writer, rows);
    const std::string from_chars(chars.begin(), chars.end());
    EXPECT_EQ(splitAll(from_chars, [] { return 777; }), rows);

    std::vector<std::byte> bytes;
    BinaryWriter byte_writer(bytes);
    writeRows(byte_writer, rows);
    EXPECT_EQ(asText(bytes), from_chars);
}

TEST(CopyBinaryWriter, RewritesSomeFieldsAndPassesTheRestThrough) {
    // What a sanitiser does: column 3 replaced (length unknown up front), the others untouched.
    std::string out;
    BinaryWriter writer(out);
    writer.writeHeader();
    RowSplitter splitter;
    splitter.feed(asBytes(server_sample), [&](const Row& row) {
        writer.beginRow(row.field_count);
        for (const Field& field : row.fields()) {
            if (field.index == 2 && !field.is_null) {
                writer.openField();
                writer.buffer() += "user_";
                writer.buffer() += std::to_string(field.bytes.size());
                writer.buffer() += "@example.invalid";
                writer.closeField();
            } else {
                writer.appendField(field);
            }
        }
    });
    splitter.finish();
    writer.writeTrailer();

    const Rows original = splitWhole(server_sample);
    Rows rewritten = splitWhole(out);
    ASSERT_EQ(rewritten.size(), original.size());
    EXPECT_EQ(rewritten[0][2], "user_17@example.invalid");
    EXPECT_EQ(rewritten[2][2], "user_40@example.invalid");
    for (std::size_t i = 0; i < original.size(); ++i) {
        rewritten[i][2] = original[i][2];
    }
    EXPECT_EQ(rewritten, original);
}

TEST(CopyBinaryWriter, WholeRowsPassThroughUnchanged) {
    std::string out;
    BinaryWriter writer(out);
    writer.writeHeader();
    RowSplitter splitter;
    splitter.feed(asBytes(server_sample), [&](const Row& row) { writer.appendRow(row.bytes); });
    writer.writeTrailer();
    EXPECT_EQ(out, server_sample);
}

TEST(CopyBinaryWriter, MisuseIsReported) {
    std::string out;
    BinaryWriter writer(out);
    writer.beginRow(1);
    writer.appendNull();
    expectThrowsWith<Error>([&] { writer.appendField(std::string_view{"x"}); },
                            "more fields written than the 1 the row declared");
    writer.beginRow(2);
    writer.appendField(std::string_view{"a"});
    EXPECT_EQ(writer.fieldsLeft(), 1);
    expectThrowsWith<Error>([&] { writer.writeTrailer(); },
                            "trailer written while a row still expects 1 of its 2 fields");
    expectThrowsWith<Error>([&] { writer.beginRow(1); }, "row started while a row still expects");
    writer.openField();
    expectThrowsWith<Error>([&] { writer.appendNull(); }, "before closeField()");
    writer.closeField();
    expectThrowsWith<Error>([&] { writer.closeField(); }, "closeField() without openField()");
    expectThrowsWith<Error>([&] { writer.beginRow(-1); }, "cannot have -1 fields");
    expectThrowsWith<Error>([&] { writer.beginRow(40000); }, "cannot have 40000 fields");
    writer.writeTrailer();
    EXPECT_EQ(out, tuple({std::nullopt}) + tuple({"a", ""}) + trailer);
}

}  // namespace
}  // namespace pgsluice::copy
