#include "pgsluice/copy/row_digest.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include "pgsluice/error.hpp"

namespace pgsluice::copy {

namespace {

// A second, independent hash of the same bytes: a different seed gives unrelated values.
constexpr XXH64_hash_t kSecondSeed = 0x9E3779B97F4A7C15ULL;

}  // namespace

void RowDigest::addRow(std::string_view bytes) {
    rows += 1;
    sum_a += XXH3_64bits(bytes.data(), bytes.size());
    sum_b += XXH3_64bits_withSeed(bytes.data(), bytes.size(), kSecondSeed);
}

std::string RowDigest::hex() const {
    return fmt::format("{:016x}{:016x}", sum_a, sum_b);
}

void StreamDigest::feed(std::string_view chunk) {
    if (binary_) {
        splitter_.feed(asBytes(chunk),
                       [this](const Row& row) { digest_.addRow(asText(row.bytes)); });
        return;
    }
    // COPY text escapes newlines inside values, so a raw newline always ends a row.
    size_t start = 0;
    for (;;) {
        size_t nl = chunk.find('\n', start);
        if (nl == std::string_view::npos) {
            partial_line_.append(chunk.substr(start));
            return;
        }
        if (partial_line_.empty()) {
            digest_.addRow(chunk.substr(start, nl - start));
        } else {
            partial_line_.append(chunk.substr(start, nl - start));
            digest_.addRow(partial_line_);
            partial_line_.clear();
        }
        start = nl + 1;
    }
}

void StreamDigest::finish() {
    if (binary_) {
        splitter_.finish();
    } else if (!partial_line_.empty()) {
        throw FormatError("COPY text stream ended inside a row");
    }
}

}  // namespace pgsluice::copy
