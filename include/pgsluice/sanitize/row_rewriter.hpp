#pragma once

// Rewrites COPY BINARY rows of a ruled table: the ruled fields are replaced, every other field
// is copied byte for byte. One RowRewriter per worker; its buffers are reused for every row.

#include <cstdint>
#include <string>
#include <vector>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::sanitize {

// Where a rewriter may send a long run of untouched bytes instead of copying it into its output
// string: the receiver first takes what the output holds so far, then the run (both straight to
// the next sink, say), so that a huge value no rule touches is never copied whole.
class PassThrough {
  public:
    virtual ~PassThrough() = default;
    // `out` holds the rewritten bytes before `run`; the receiver takes both (and clears `out`).
    virtual void pass(std::string& out, std::string_view run) = 0;
};

// Applies one table's rewrites to its rows. Not thread-safe (it owns scratch buffers): give
// each worker its own; they may share the TableSanitizer.
class RowRewriter {
  public:
    // A rewriter for TABLE, which must outlive it.
    explicit RowRewriter(const TableSanitizer& table);
    // A temporary would not outlive the rewriter.
    explicit RowRewriter(TableSanitizer&&) = delete;

    // Appends ROW (one tuple as RowSplitter hands it out, field count included) to OUT with the
    // ruled fields rewritten. NULL stays NULL except under `null`. Allocates nothing once OUT
    // and the scratch buffers have grown to the largest row. Throws FormatError naming the
    // table, column and ROW_NUMBER (1-based, 0 = unknown) when the row or a ruled field is
    // malformed; OUT then ends with a partial row and must be discarded.
    void rewrite(copy::ByteSpan row, std::string& out, std::uint64_t row_number = 0,
                 PassThrough* pass = nullptr);

    // Untouched runs at least this long go to the PassThrough, when there is one.
    static constexpr std::size_t pass_through_bytes = std::size_t{1} << 20;

    // The table this rewriter serves.
    const TableSanitizer& table() const noexcept { return *table_; }

  private:
    // Sets the length header at HEADER to the bytes appended after it.
    void patchLength(std::string& out, std::size_t header, int column,
                     std::uint64_t row_number) const;
    [[noreturn]] void rethrow(const FormatError& error, int column, std::uint64_t row_number) const;

    const TableSanitizer* table_;
    std::vector<const Transform*> by_column_;  // nullptr: the column passes through
    std::vector<int> rule_by_column_;          // index into table_->columns, or -1
    Scratch scratch_;
};

}  // namespace pgsluice::sanitize
