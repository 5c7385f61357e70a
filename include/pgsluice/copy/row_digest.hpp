#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_stream.hpp"

namespace pgsluice::copy {

// An order-independent digest of a table's rows: the row count and two 64-bit sums of per-row
// xxh3 hashes (so 128 bits in all). Sums make it independent of row order and let partial
// digests (ctid ranges, archive frames) be added together.
struct RowDigest {
    uint64_t rows = 0;
    uint64_t sum_a = 0;
    uint64_t sum_b = 0;

    // Adds another digest's rows (of another part of the same table).
    void add(const RowDigest& other) {
        rows += other.rows;
        sum_a += other.sum_a;
        sum_b += other.sum_b;
    }
    // Adds one row given as its bytes.
    void addRow(std::string_view bytes);
    // The two sums as 32 hex digits.
    std::string hex() const;
    bool operator==(const RowDigest&) const = default;
};

// Hashes rows whose bytes arrive in pieces, adding each to a RowDigest exactly as
// RowDigest::addRow() of its whole bytes would, without holding the row: a row that comes in one
// piece is hashed at once, a longer one through two XXH3 streaming states (seed 0 and the
// second seed), allocated the first time a row spans pieces. Move-only.
class RowHasher {
  public:
    RowHasher();
    ~RowHasher();
    RowHasher(RowHasher&&) noexcept;
    RowHasher& operator=(RowHasher&&) noexcept;

    // Hashes the next piece of a row: `first` when the row starts with it (an unfinished row
    // before it is dropped), `last` when the row ends with it, and then adds the row to `digest`.
    void add(std::string_view piece, bool first, bool last, RowDigest& digest);

  private:
    struct States;
    std::unique_ptr<States> states_;
};

// Digests a COPY TO STDOUT stream fed in arbitrary chunks: binary (each tuple's bytes, header
// and trailer excluded) or text (each line, without its newline). Malformed binary input throws
// FormatError (the checks of copy::RowStream). Rows are hashed as they arrive: the digest holds
// no row whatever its size, only constant state.
class StreamDigest {
  public:
    explicit StreamDigest(bool binary) : binary_(binary) {}

    // Digests the bytes of this chunk, adding the rows it completes.
    void feed(std::string_view chunk);
    // Checks the stream ended where a stream may end (binary: after the trailer; text: after a
    // newline).
    void finish();
    const RowDigest& digest() const { return digest_; }
    // Stream bytes held in copies: at most the 19 fixed bytes of a binary header while it
    // arrives, never a row or line.
    std::size_t bufferedBytes() const noexcept { return binary_ ? rows_.bufferedBytes() : 0; }
    // Bytes of the row or line in progress received so far (hashed, not held).
    std::uint64_t partialRowBytes() const noexcept;

  private:
    bool binary_;
    RowStream rows_;                  // binary
    std::uint64_t partial_line_ = 0;  // text: bytes of the line in progress
    bool in_line_ = false;            // text: a line has started and not ended
    RowHasher hasher_;
    RowDigest digest_;
};

// A sink that digests the stream it is given and passes it on to `next` unchanged (or only
// digests it, without `next`).
class DigestSink : public ChunkSink {
  public:
    explicit DigestSink(bool binary, ChunkSink* next = nullptr) : digest_(binary), next_(next) {}

    void write(std::string_view chunk) override {
        digest_.feed(chunk);
        if (next_) {
            next_->write(chunk);
        }
    }
    void finish() override {
        digest_.finish();
        if (next_) {
            next_->finish();
        }
    }
    // The rows seen so far.
    const RowDigest& digest() const { return digest_.digest(); }

  private:
    StreamDigest digest_;
    ChunkSink* next_;
};

}  // namespace pgsluice::copy
