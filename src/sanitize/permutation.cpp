#include "pgsluice/sanitize/permutation.hpp"

#include <cstring>

namespace pgsluice::sanitize {

std::uint64_t BitPermutation::round(int number, int width, std::uint64_t tweak,
                                    std::uint64_t half) const noexcept {
    // Round number and width, the tweak, then the half that feeds the round: 18 bytes.
    unsigned char input[18];
    input[0] = static_cast<unsigned char>(number);
    input[1] = static_cast<unsigned char>(width);
    for (int i = 0; i < 8; ++i) {
        input[2 + i] = static_cast<unsigned char>(tweak >> (56 - 8 * i));
        input[10 + i] = static_cast<unsigned char>(half >> (56 - 8 * i));
    }
    return hash_.hash64(input, sizeof input);
}

namespace {

std::uint64_t mask64(int width) {
    return width >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
}

}  // namespace

uint128 BitPermutation::permute(uint128 value, int width, std::uint64_t tweak) const noexcept {
    if (width <= 0) {
        return 0;
    }
    // Left half: the high LEFT bits; right half: the low RIGHT bits (RIGHT >= LEFT, both <= 64).
    const int left_width = width / 2;
    const int right_width = width - left_width;
    auto left = static_cast<std::uint64_t>(value >> right_width) & mask64(left_width);
    auto right = static_cast<std::uint64_t>(value) & mask64(right_width);
    for (int r = 0; r < rounds; ++r) {
        if (r % 2 == 0) {
            right ^= round(r, width, tweak, left) & mask64(right_width);
        } else {
            left ^= round(r, width, tweak, right) & mask64(left_width);
        }
    }
    return (left_width == 0 ? uint128{0} : uint128{left} << right_width) | right;
}

uint128 BitPermutation::invert(uint128 value, int width, std::uint64_t tweak) const noexcept {
    if (width <= 0) {
        return 0;
    }
    const int left_width = width / 2;
    const int right_width = width - left_width;
    auto left = static_cast<std::uint64_t>(value >> right_width) & mask64(left_width);
    auto right = static_cast<std::uint64_t>(value) & mask64(right_width);
    for (int r = rounds - 1; r >= 0; --r) {
        if (r % 2 == 0) {
            right ^= round(r, width, tweak, left) & mask64(right_width);
        } else {
            left ^= round(r, width, tweak, right) & mask64(left_width);
        }
    }
    return (left_width == 0 ? uint128{0} : uint128{left} << right_width) | right;
}

}  // namespace pgsluice::sanitize
