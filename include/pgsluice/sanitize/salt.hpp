#pragma once

// The key of the deterministic transforms. The salt (from the environment variable the rules
// name) is turned into an XXH3 secret once and then forgotten: nothing here keeps, prints or
// serialises it, and the derived secrets are wiped when their owners go away.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pgsluice/sanitize/rules.hpp"

namespace pgsluice::sanitize {

// XXH3's default secret size; XXH3_generateSecret fills one from the salt.
inline constexpr std::size_t secret_size = 192;
// A shorter salt could be guessed by trying every value against a known e-mail.
inline constexpr std::size_t min_salt_bytes = 16;

// A 128-bit keyed hash value.
struct Hash128 {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
};

// XXH3 keyed with a secret derived from the salt and a purpose ("email", "digits"...), so that
// each transform hashes with its own key and the same input gives unrelated outputs in two
// transforms. Immutable once built: one instance serves every worker thread.
class KeyedHash {
  public:
    // The 128-bit hash, for transforms whose outputs must stay distinct.
    Hash128 hash128(const void* data, std::size_t size) const noexcept;
    // The 64-bit hash, for picks and shifts where collisions are harmless.
    std::uint64_t hash64(const void* data, std::size_t size) const noexcept;

    KeyedHash(const KeyedHash& other) = default;
    KeyedHash& operator=(const KeyedHash& other) = default;
    ~KeyedHash();

  private:
    friend class SaltKey;
    KeyedHash() = default;
    alignas(64) std::array<unsigned char, secret_size> secret_{};
};

// The salt, reduced to an XXH3 secret; empty when the rules need no salt.
class SaltKey {
  public:
    // No salt: only transforms that need none can be built with it.
    SaltKey() = default;

    // The key derived from SALT (at least min_salt_bytes long, else UsageError that does not
    // quote it). The salt is not kept.
    static SaltKey fromSalt(std::string_view salt);

    // True when no salt was given.
    bool empty() const noexcept { return !present_; }

    // The keyed hash for PURPOSE; the same salt and purpose give the same hash in every run.
    // Throws Error when the key is empty (a rules check that was skipped).
    KeyedHash hasherFor(std::string_view purpose) const;

    SaltKey(const SaltKey& other) = default;
    SaltKey& operator=(const SaltKey& other) = default;
    ~SaltKey();

  private:
    alignas(64) std::array<unsigned char, secret_size> master_{};
    bool present_ = false;
};

// Reads the salt from the environment variable RULES.salt_env names, when a rule needs one.
// Returns an empty key when no rule needs a salt. Throws UsageError (exit 2) with the rules
// file's line when salt_env is missing, the variable is unset or empty, or the salt is too
// short; the message names the variable and never shows the salt.
SaltKey loadSaltKey(const Rules& rules);

}  // namespace pgsluice::sanitize
