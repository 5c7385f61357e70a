#include "pgsluice/copy/row_digest.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>
#include <new>

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

// --- RowHasher -------------------------------------------------------------------------------

// The two streaming states of a row that spans pieces.
struct RowHasher::States {
    States() : a(XXH3_createState()), b(XXH3_createState()) {
        if (a == nullptr || b == nullptr) {
            XXH3_freeState(a);
            XXH3_freeState(b);
            throw std::bad_alloc();
        }
    }
    ~States() {
        XXH3_freeState(a);
        XXH3_freeState(b);
    }
    States(const States&) = delete;
    States& operator=(const States&) = delete;

    XXH3_state_t* a;
    XXH3_state_t* b;
};

RowHasher::RowHasher() = default;
RowHasher::~RowHasher() = default;
RowHasher::RowHasher(RowHasher&&) noexcept = default;
RowHasher& RowHasher::operator=(RowHasher&&) noexcept = default;

void RowHasher::add(std::string_view piece, bool first, bool last, RowDigest& digest) {
    if (first && last) {
        // The common case: the whole row at once, no streaming state.
        digest.addRow(piece);
        return;
    }
    if (first) {
        if (!states_) {
            states_ = std::make_unique<States>();
        }
        XXH3_64bits_reset(states_->a);
        XXH3_64bits_reset_withSeed(states_->b, kSecondSeed);
    } else if (!states_) {
        throw Error("internal error: RowHasher given the rest of a row it did not see start");
    }
    XXH3_64bits_update(states_->a, piece.data(), piece.size());
    XXH3_64bits_update(states_->b, piece.data(), piece.size());
    if (last) {
        digest.rows += 1;
        digest.sum_a += XXH3_64bits_digest(states_->a);
        digest.sum_b += XXH3_64bits_digest(states_->b);
    }
}

// --- StreamDigest ----------------------------------------------------------------------------

void StreamDigest::feed(std::string_view chunk) {
    if (binary_) {
        rows_.feed(asBytes(chunk), [this](const RowPiece& piece) {
            hasher_.add(asText(piece.bytes), piece.first, piece.last, digest_);
        });
        return;
    }
    // COPY text escapes newlines inside values, so a raw newline always ends a row.
    std::size_t start = 0;
    while (start < chunk.size()) {
        const void* found = std::memchr(chunk.data() + start, '\n', chunk.size() - start);
        if (found == nullptr) {
            hasher_.add(chunk.substr(start), !in_line_, false, digest_);
            partial_line_ += chunk.size() - start;
            in_line_ = true;
            return;
        }
        const auto nl = static_cast<std::size_t>(static_cast<const char*>(found) - chunk.data());
        hasher_.add(chunk.substr(start, nl - start), !in_line_, true, digest_);
        in_line_ = false;
        partial_line_ = 0;
        start = nl + 1;
    }
}

void StreamDigest::finish() {
    if (binary_) {
        rows_.finish();
    } else if (in_line_) {
        throw FormatError("COPY text stream ended inside a row");
    }
}

std::uint64_t StreamDigest::partialRowBytes() const noexcept {
    return binary_ ? rows_.partialBytes() : partial_line_;
}

}  // namespace pgsluice::copy
