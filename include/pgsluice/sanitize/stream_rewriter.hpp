#pragma once

#include <string>
#include <string_view>

#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/sanitize/row_rewriter.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::sanitize {

// A sink that rewrites the ruled fields of a COPY BINARY stream of one table, row by row, and
// passes the rewritten stream (header and trailer included) on to `next` in batches of a few
// hundred KiB. One per worker and unit; its buffers are reused between chunks.
class SanitizingSink : public copy::ChunkSink, private PassThrough {
  public:
    // `table` and `next` must outlive the sink.
    SanitizingSink(const TableSanitizer& table, copy::ChunkSink& next);

    // Rewrites the rows this chunk completes; throws FormatError for a malformed stream or field.
    void write(std::string_view chunk) override;
    // Checks the stream ended with its trailer, passes the rest on and finishes `next`.
    void finish() override;

  private:
    void writeHeaderOnce();
    // A long untouched run goes straight on after what is batched: no copy of a huge value.
    void pass(std::string& out, std::string_view run) override;

    copy::RowSplitter splitter_;
    RowRewriter rewriter_;
    copy::ChunkSink& next_;
    std::string out_;
    bool header_written_ = false;
};

}  // namespace pgsluice::sanitize
