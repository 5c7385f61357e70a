#include "pgsluice/sanitize/stream_rewriter.hpp"

#include "pgsluice/copy/binary_writer.hpp"

namespace pgsluice::sanitize {

namespace {

// Rewritten rows are passed on in batches of about this size: large enough that the sink's
// per-call cost vanishes, small enough to stay in cache.
constexpr size_t kBatch = 256 * 1024;

}  // namespace

SanitizingSink::SanitizingSink(const TableSanitizer& table, copy::ChunkSink& next)
    : splitter_(copy::SplitterOptions{table.column_count}), rewriter_(table), next_(next) {
    out_.reserve(kBatch * 2);
}

void SanitizingSink::writeHeaderOnce() {
    if (!header_written_) {
        copy::BinaryWriter writer(out_);
        writer.writeHeader();
        header_written_ = true;
    }
}

void SanitizingSink::write(std::string_view chunk) {
    splitter_.feed(copy::asBytes(chunk));
    while (const std::optional<copy::Row> row = splitter_.next()) {
        writeHeaderOnce();
        rewriter_.rewrite(row->bytes, out_, row->number, this);
        if (out_.size() >= kBatch) {
            next_.write(out_);
            out_.clear();
        }
    }
}

void SanitizingSink::pass(std::string& out, std::string_view run) {
    if (!out.empty()) {
        next_.write(out);
        out.clear();
    }
    next_.write(run);
}

void SanitizingSink::finish() {
    splitter_.finish();
    writeHeaderOnce();
    copy::BinaryWriter writer(out_);
    writer.writeTrailer();
    next_.write(out_);
    out_.clear();
    next_.finish();
}

}  // namespace pgsluice::sanitize
