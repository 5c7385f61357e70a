#pragma once

// Finds the row boundaries of a COPY ... (FORMAT binary) stream that arrives in arbitrary chunks,
// without ever holding a row: each row is handed out as the pieces of it that the chunks hold, in
// order, the last one marked as its end. Memory stays constant whatever the row size, so a row
// of hundreds of MB (PostgreSQL allows values of up to 1 GB, several per row) costs nothing but
// the chunks it arrives in.
//
// The checks are RowSplitter's: header signature (refused on its first wrong byte), flags
// (OIDs, unknown critical flags), a non-negative extension length; per row the field count (-1
// is the trailer, other negative counts are refused; with SplitterOptions::expected_fields it
// must match), field lengths -1 (NULL) or >= 0, the row size limit; nothing after the trailer;
// finish() refuses a stream cut off anywhere before the end of its trailer. One difference: a
// row (or header) over max_row_bytes is refused whatever the chunking, where RowSplitter lets one
// pass when it arrives whole in a single chunk.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/row_splitter.hpp"

namespace pgsluice::copy {

// Consecutive bytes of one row, handed out by RowStream.
struct RowPiece {
    ByteSpan bytes;            // never empty; points into the chunk that was fed
    std::uint64_t row = 0;     // 1-based number of the row among the data rows
    std::uint64_t offset = 0;  // stream offset of bytes[0]
    bool first = false;        // the row starts with these bytes (its field count)
    bool last = false;         // the row ends with these bytes
    // The row's field count once its first two bytes have been seen (always when `last`), or -1.
    int field_count = -1;

    // True when the piece is the whole row.
    bool whole() const noexcept { return first && last; }
};

// Streaming row-boundary scanner: feed() a chunk, then call next() until it returns nothing,
// then feed the next chunk. Handles the header and the trailer (neither is handed out).
class RowStream {
  public:
    // A scanner at the start of a stream; retained_buffer_bytes is not used (nothing is held).
    explicit RowStream(SplitterOptions options = {});

    // Hands over the next chunk. It is read in place, so it must stay alive and unchanged until
    // next() has returned nothing. Throws FormatError if bytes arrive after the trailer.
    void feed(ByteSpan chunk);

    // The next piece of a row in the chunk, or nothing once the chunk is used up. Pieces point
    // into the chunk. Throws FormatError as RowSplitter::next() does; after that the scanner
    // must be reset() or discarded.
    std::optional<RowPiece> next();

    // feed(chunk), then on_piece(const RowPiece&) for every piece it holds, in order.
    template <class OnPiece>
    void feed(ByteSpan chunk, OnPiece&& on_piece) {
        feed(chunk);
        while (const std::optional<RowPiece> piece = next()) {
            on_piece(*piece);
        }
    }

    // Throws FormatError unless the input so far is a whole stream: header, rows and trailer.
    void finish() const;

    // True once the whole header has been read.
    bool sawHeader() const noexcept { return phase_ != Phase::header; }
    // True once the end-of-data trailer has been read.
    bool sawTrailer() const noexcept { return phase_ == Phase::done; }
    // Rows completed so far.
    std::uint64_t rowCount() const noexcept { return rows_; }
    // Stream bytes scanned so far, the current partial row included.
    std::uint64_t bytesConsumed() const noexcept { return consumed_; }
    // Length of the header, extension included, once sawHeader().
    std::uint64_t headerLength() const noexcept { return header_length_; }
    // Bytes of the row (or header, or trailer) in progress received so far; 0 at a boundary.
    std::uint64_t partialBytes() const noexcept;
    // Bytes of the stream the scanner holds copies of: at most the 19 fixed header bytes while
    // the header arrives, 0 otherwise. Rows are never copied.
    std::size_t bufferedBytes() const noexcept {
        return phase_ == Phase::header ? header_have_ : 0;
    }

    // Starts over at the beginning of a new stream, keeping the options.
    void reset();

  private:
    enum class Phase : std::uint8_t { header, rows, done };
    // Where the scan is inside a row.
    enum class Step : std::uint8_t { count, length, data };

    void scanHeader();
    std::size_t wholeRow(int& field_count) const;
    bool atBoundary();
    RowPiece scanRow();
    bool takeInteger(const std::byte*& p, const std::byte* end, int size);
    void endField(std::uint64_t row_position);
    [[noreturn]] void throwLimit(std::uint64_t needed) const;

    SplitterOptions options_;
    Phase phase_ = Phase::header;
    ByteSpan rest_;  // unread part of the current chunk
    std::uint64_t consumed_ = 0;
    std::uint64_t rows_ = 0;

    // Header: its fixed part, then the extension to skip.
    std::byte header_[min_header_length] = {};
    std::size_t header_have_ = 0;
    std::uint64_t header_length_ = 0;
    std::uint64_t extension_left_ = 0;

    // The row in progress.
    bool in_row_ = false;
    bool pending_negative_ = false;  // a unit started with a byte >= 0x80: trailer or error
    std::uint8_t pending_byte_ = 0;
    Step step_ = Step::count;
    std::uint32_t integer_ = 0;  // a field count or length whose bytes straddle chunks
    int integer_have_ = 0;
    int field_count_ = -1;
    int fields_left_ = 0;
    std::uint32_t data_left_ = 0;
    std::uint64_t row_start_ = 0;  // stream offset of the row's first byte
};

}  // namespace pgsluice::copy
