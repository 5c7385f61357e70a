#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_splitter.hpp"

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

// Digests a COPY TO STDOUT stream fed in arbitrary chunks: binary (each tuple's bytes, header
// and trailer excluded) or text (each line). Malformed binary input throws FormatError.
class StreamDigest {
  public:
    explicit StreamDigest(bool binary) : binary_(binary) {}

    // Digests the rows completed by this chunk.
    void feed(std::string_view chunk);
    // Checks the stream ended where a stream may end (binary: after the trailer).
    void finish();
    const RowDigest& digest() const { return digest_; }

  private:
    bool binary_;
    RowSplitter splitter_;
    std::string partial_line_;  // text mode: a line cut by a chunk boundary
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
