#pragma once

// A keyed permutation of the integers of a given bit width (0 to 128 bits): the one-to-one
// mapping behind `uuid` and `ip`. A balanced Feistel network whose round function is the
// keyed hash: every round is undone by repeating it, so the whole is a bijection of the
// 2^width values for every key and tweak, and unrelated permutations for other keys or tweaks.

#include <cstdint>

#include "pgsluice/sanitize/salt.hpp"

namespace pgsluice::sanitize {

__extension__ typedef unsigned __int128 uint128;

// The WIDTH lowest bits set (WIDTH 0 to 128).
constexpr uint128 lowBits(int width) noexcept {
    return width >= 128 ? ~uint128{0} : (uint128{1} << width) - 1;
}

class BitPermutation {
  public:
    // Rounds of the network: six, so that each half is rewritten three times.
    static constexpr int rounds = 6;

    explicit BitPermutation(KeyedHash hash) : hash_(std::move(hash)) {}

    // The image of VALUE (below 2^WIDTH) among the WIDTH-bit integers; TWEAK selects one of
    // many independent permutations (a domain, a family, kept bits).
    uint128 permute(uint128 value, int width, std::uint64_t tweak) const noexcept;

    // The inverse of permute() for the same WIDTH and TWEAK (for tests).
    uint128 invert(uint128 value, int width, std::uint64_t tweak) const noexcept;

  private:
    std::uint64_t round(int number, int width, std::uint64_t tweak,
                        std::uint64_t half) const noexcept;

    KeyedHash hash_;
};

}  // namespace pgsluice::sanitize
