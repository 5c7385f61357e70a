#include "pgsluice/copy/row_splitter.hpp"

#include <algorithm>
#include <string>

#include "pgsluice/error.hpp"

namespace pgsluice::copy {

namespace {

constexpr std::string_view prefix = "COPY binary data: ";

}  // namespace

RowSplitter::RowSplitter(SplitterOptions options) : options_(options) {}

void RowSplitter::feed(ByteSpan chunk) {
    if (!rest_.empty()) {
        throw Error(
            "internal error: RowSplitter::feed called before next() used up the previous "
            "chunk");
    }
    releaseCarry();
    if (phase_ == Phase::done && !chunk.empty()) {
        throw FormatError(std::string{prefix} + std::to_string(chunk.size()) +
                          " more bytes arrived after the end-of-data trailer at offset " +
                          std::to_string(consumed_ - 2) +
                          "; the stream is corrupt or two streams were joined");
    }
    rest_ = chunk;
}

std::optional<Row> RowSplitter::next() {
    for (;;) {
        // At the top of the loop, not only on entry: a header or trailer completed in carry_
        // is not handed out, so its bytes must go before the next unit is buffered.
        releaseCarry();
        if (phase_ == Phase::done) {
            if (!rest_.empty()) {
                throw FormatError(std::string{prefix} + std::to_string(rest_.size()) +
                                  " bytes follow the end-of-data trailer at offset " +
                                  std::to_string(consumed_ - 2) +
                                  "; the stream is corrupt or two streams were joined");
            }
            return std::nullopt;
        }

        Unit unit;
        ByteSpan bytes;
        if (!takeUnit(unit, bytes)) {
            return std::nullopt;
        }
        const std::uint64_t offset = consumed_;
        consumed_ += bytes.size();

        if (phase_ == Phase::header) {
            header_length_ = bytes.size();
            phase_ = Phase::rows;
            continue;
        }
        if (unit.status == RowStatus::trailer) {
            phase_ = Phase::done;
            continue;
        }
        ++rows_;
        return Row{bytes, rows_, offset, unit.field_count};
    }
}

RowSplitter::Unit RowSplitter::scanUnit(ByteSpan bytes) {
    if (phase_ == Phase::header) {
        const HeaderScan header = scanHeader(bytes);
        return {header.complete, header.length, RowStatus::incomplete, -1};
    }
    const RowScan scan = scanner_.scan(bytes, consumed_, rows_ + 1);
    // Checked as soon as the count is known, so a wrong column list fails on the first row
    // instead of after buffering it.
    if (scan.field_count >= 0 && options_.expected_fields != any_field_count &&
        scan.field_count != options_.expected_fields) {
        throw FormatError(std::string{prefix} + "row " + std::to_string(rows_ + 1) + " at offset " +
                          std::to_string(consumed_) + " has " + std::to_string(scan.field_count) +
                          " fields but " + std::to_string(options_.expected_fields) +
                          " columns were expected; the COPY column list does not match the "
                          "table");
    }
    return {scan.status != RowStatus::incomplete, scan.length, scan.status, scan.field_count};
}

// Finds the next complete unit (header, row or trailer) at the current position. Returns false
// when more input is needed, having saved any partial unit in carry_.
bool RowSplitter::takeUnit(Unit& unit, ByteSpan& bytes) {
    if (carry_.empty()) {
        if (rest_.empty()) {
            return false;
        }
        unit = scanUnit(rest_);
        if (unit.complete) {
            bytes = rest_.first(static_cast<std::size_t>(unit.length));
            rest_ = rest_.subspan(static_cast<std::size_t>(unit.length));
            return true;
        }
        checkLimit(unit.length);
        carry_.assign(rest_.begin(), rest_.end());
        rest_ = {};
        need_ = unit.length;
        return false;
    }

    for (;;) {
        if (carry_.size() < need_) {
            // Take only what the scan asked for: the rest of the chunk stays in place and its
            // rows are handed out without copying.
            const std::size_t take = static_cast<std::size_t>(
                std::min<std::uint64_t>(need_ - carry_.size(), rest_.size()));
            carry_.insert(carry_.end(), rest_.begin(), rest_.begin() + take);
            rest_ = rest_.subspan(take);
            if (carry_.size() < need_) {
                if (phase_ == Phase::header) {
                    // Check the signature bytes that just arrived: how the stream was chunked
                    // must not change whether, or when, a wrong stream is refused.
                    scanUnit(carry_);
                }
                return false;
            }
        }
        unit = scanUnit(carry_);
        if (unit.complete) {
            if (unit.length != carry_.size()) {
                throw Error("internal error: RowSplitter buffered past the end of a row");
            }
            bytes = carry_;
            carry_consumed_ = true;
            return true;
        }
        checkLimit(unit.length);
        need_ = unit.length;
    }
}

void RowSplitter::checkLimit(std::uint64_t needed) const {
    if (needed <= options_.max_row_bytes) {
        return;
    }
    const std::string what =
        phase_ == Phase::header ? std::string{"the header"} : "row " + std::to_string(rows_ + 1);
    throw FormatError(std::string{prefix} + what + " at offset " + std::to_string(consumed_) +
                      " needs at least " + std::to_string(needed) +
                      " bytes, more than the limit of " + std::to_string(options_.max_row_bytes) +
                      "; PostgreSQL never sends a row that large, so the stream is corrupt");
}

void RowSplitter::releaseCarry() {
    if (!carry_consumed_) {
        return;
    }
    carry_consumed_ = false;
    if (carry_.capacity() > options_.retained_buffer_bytes) {
        std::vector<std::byte>().swap(carry_);
    } else {
        carry_.clear();
    }
}

void RowSplitter::finish() const {
    if (!rest_.empty()) {
        throw Error("internal error: RowSplitter::finish called before next() used up the input");
    }
    const std::size_t partial = bufferedBytes();
    if (phase_ == Phase::done) {
        return;
    }
    throwCutOff(phase_ == Phase::header, consumed_ + partial, rows_, partial);
}

void RowSplitter::reset() {
    phase_ = Phase::header;
    rest_ = {};
    carry_.clear();
    carry_consumed_ = false;
    need_ = 0;
    scanner_.reset();
    rows_ = 0;
    consumed_ = 0;
    header_length_ = 0;
}

}  // namespace pgsluice::copy
