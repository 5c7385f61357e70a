#pragma once

// Cuts a COPY ... (FORMAT binary) stream that arrives in arbitrary chunks into whole rows.
//
// PQgetCopyData usually hands over one row per call, but the protocol does not promise it, and
// archive and file reads cut anywhere. The splitter yields rows in place from the chunk when a
// row lies inside it, and only copies a row that straddles chunks, into one buffer it reuses:
// once that buffer has grown to the largest straddling row, no row allocates.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "pgsluice/copy/binary_reader.hpp"

namespace pgsluice::copy {

// Limits and checks a RowSplitter applies to the stream.
struct SplitterOptions {
    // Every row must have this many fields (the COPY column count), or any_field_count.
    int expected_fields = any_field_count;
    // A row (or header) declaring more bytes than this is refused instead of buffered.
    // PostgreSQL builds each COPY row in one buffer of at most 1 GiB, so a real row fits.
    std::uint64_t max_row_bytes = std::uint64_t{1} << 30;
    // After a straddling row larger than this, the carry-over buffer is released rather than
    // kept, so one huge row does not pin its memory for the rest of the table.
    std::size_t retained_buffer_bytes = std::size_t{8} << 20;
};

// One complete row handed out by RowSplitter.
struct Row {
    ByteSpan bytes;            // the tuple, field count included, exactly as it was in the stream
    std::uint64_t number = 0;  // 1-based position among the data rows
    std::uint64_t offset = 0;  // stream offset of bytes[0]
    int field_count = 0;

    // The row's fields; the field count has already been checked against the options.
    RowView fields() const { return RowView(bytes, field_count, number); }
};

// Streaming splitter: feed() a chunk, then call next() until it returns nothing, then feed the
// next chunk. Handles the header and the trailer; refuses data after the trailer.
class RowSplitter {
  public:
    // A splitter at the start of a stream.
    explicit RowSplitter(SplitterOptions options = {});

    // Hands over the next chunk. It is read in place, so it must stay alive and unchanged until
    // next() has returned nothing. Throws FormatError if bytes arrive after the trailer.
    void feed(ByteSpan chunk);

    // The next complete row, or nothing when the bytes fed so far hold no further complete row.
    // The row's bytes stay valid until the next call to next(), feed() or reset(). Throws
    // FormatError on a bad header, a bad length, a field count mismatch, a row over the size
    // limit or data after the trailer; after that the splitter must be reset() or discarded.
    std::optional<Row> next();

    // feed(chunk), then on_row(const Row&) for every row it completes, in order.
    template <class OnRow>
    void feed(ByteSpan chunk, OnRow&& on_row) {
        feed(chunk);
        while (const std::optional<Row> row = next()) {
            on_row(*row);
        }
    }

    // Throws FormatError unless the input so far is a whole stream: header, rows and trailer.
    // Call it at end of input: it is how a truncated COPY or file is detected.
    void finish() const;

    // True once the whole header has been read.
    bool sawHeader() const noexcept { return phase_ != Phase::header; }
    // True once the end-of-data trailer has been read.
    bool sawTrailer() const noexcept { return phase_ == Phase::done; }
    // Rows handed out so far.
    std::uint64_t rowCount() const noexcept { return rows_; }
    // Stream bytes handed out so far as header, rows or trailer (not the buffered partial row).
    std::uint64_t bytesConsumed() const noexcept { return consumed_; }
    // Length of the header, extension included, once sawHeader().
    std::uint64_t headerLength() const noexcept { return header_length_; }
    // Bytes of a partial row (or header) held back until the rest of it arrives.
    std::size_t bufferedBytes() const noexcept { return carry_consumed_ ? 0 : carry_.size(); }
    // Memory currently reserved for straddling rows.
    std::size_t bufferCapacity() const noexcept { return carry_.capacity(); }

    // Starts over at the beginning of a new stream, keeping the options and the buffer.
    void reset();

  private:
    enum class Phase : std::uint8_t { header, rows, done };

    // What scanning the bytes at the current position found.
    struct Unit {
        bool complete = false;
        std::uint64_t length = 0;  // complete: the unit's length; otherwise the bytes needed
        RowStatus status = RowStatus::incomplete;
        int field_count = -1;
    };

    Unit scanUnit(ByteSpan bytes);
    bool takeUnit(Unit& unit, ByteSpan& bytes);
    void checkLimit(std::uint64_t needed) const;
    void releaseCarry();

    SplitterOptions options_;
    Phase phase_ = Phase::header;
    ByteSpan rest_;                 // unread part of the current chunk
    std::vector<std::byte> carry_;  // a unit that started in an earlier chunk
    bool carry_consumed_ = false;   // carry_ was handed out; clear it on the next call
    std::uint64_t need_ = 0;        // carry_ must reach this size before it is scanned again
    RowScanner scanner_;
    std::uint64_t rows_ = 0;
    std::uint64_t consumed_ = 0;
    std::uint64_t header_length_ = 0;
};

}  // namespace pgsluice::copy
