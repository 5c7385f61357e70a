#pragma once

// Parts the transform implementations share (transform.cpp and transform_*.cpp): not a public
// interface.

#include <bit>
#include <cstring>
#include <memory>
#include <string>

#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/transform.hpp"

namespace pgsluice::sanitize::detail {

inline void storeBigEndian(std::uint64_t word, unsigned char* out) {
    if constexpr (std::endian::native == std::endian::little) {
        word = __builtin_bswap64(word);
    }
    std::memcpy(out, &word, sizeof word);
}

// The 16 bytes of HASH, high half first.
inline void storeBigEndian(const Hash128& hash, unsigned char* out) {
    storeBigEndian(hash.high, out);
    storeBigEndian(hash.low, out + 8);
}

[[noreturn]] inline void badFieldLength(TypeKind kind, std::size_t got, std::size_t expected) {
    throw FormatError("a " + std::string(typeKindName(kind)) + " field has " + std::to_string(got) +
                      " bytes; its binary form has " + std::to_string(expected));
}

inline std::string describeType(const ColumnType& type) {
    std::string out(typeKindName(type.kind));
    if (type.max_chars >= 0) {
        out += "(" + std::to_string(type.max_chars) + ")";
    }
    return out;
}

// Refuses an output of up to CHARS characters (BYTES bytes) that the column cannot hold:
// character varying(n) and character(n) reject longer values, name more than 63 bytes.
inline void requireFits(const ColumnType& type, std::size_t chars, std::size_t bytes,
                        const std::string& what, std::string_view advice) {
    if (type.max_chars >= 0 && chars > static_cast<std::size_t>(type.max_chars)) {
        throw UsageError(what + " writes " + std::to_string(chars) +
                         " characters but the column is " + describeType(type) + "; " +
                         std::string(advice));
    }
    if (type.kind == TypeKind::name && bytes > static_cast<std::size_t>(name_max_bytes)) {
        throw UsageError(what + " writes " + std::to_string(bytes) +
                         " bytes but a name holds at most 63; " + std::string(advice));
    }
}

// Base of the transforms of text-like columns: character(n) values are seen without their
// padding and padded again afterwards, so 'a@b.c   ' in a character(8) column and 'a@b.c' in
// a text column get the same replacement.
class TextTransform : public Transform {
  public:
    void apply(copy::ByteSpan in, std::string& out, Scratch& scratch) const final {
        std::string_view text = copy::asText(in);
        if (columnType().kind != TypeKind::bpchar) {
            rewrite(text, out, scratch);
            return;
        }
        text = stripBlankPadding(text);
        const std::size_t start = out.size();
        rewrite(text, out, scratch);
        padToCharacters(out, start, columnType().max_chars);
    }

  protected:
    using Transform::Transform;
    // Appends the replacement of TEXT (padding already removed) to OUT.
    virtual void rewrite(std::string_view text, std::string& out, Scratch& scratch) const = 0;
};

// Builders of the transforms that live in transform_*.cpp; the same contract as makeTransform
// (the type is already checked to be accepted, the key to hold a salt when one is needed).
std::unique_ptr<const Transform> makePhoneTransform(const TransformSpec& spec,
                                                    const ColumnType& type, const SaltKey& key);
std::unique_ptr<const Transform> makeUuidTransform(const TransformSpec& spec,
                                                   const ColumnType& type, const SaltKey& key);
std::unique_ptr<const Transform> makeIpTransform(const TransformSpec& spec, const ColumnType& type,
                                                 const SaltKey& key);
std::unique_ptr<const Transform> makeRegexTransform(const TransformSpec& spec,
                                                    const ColumnType& type);
std::unique_ptr<const Transform> makeLookupTransform(const TransformSpec& spec,
                                                     const ColumnType& type, const SaltKey& key);
std::unique_ptr<const Transform> makeNoiseTransform(const TransformSpec& spec,
                                                    const ColumnType& type, const SaltKey& key);
std::unique_ptr<const Transform> makeHashByteaTransform(const TransformSpec& spec,
                                                        const ColumnType& type, const SaltKey& key);
// The json transform when it has `json` paths (json_remove/json_set alone stay in
// transform.cpp); builds each path's inner transform for text values.
std::unique_ptr<const Transform> makeJsonPathsTransform(const TransformSpec& spec,
                                                        const ColumnType& type, const SaltKey& key);

}  // namespace pgsluice::sanitize::detail

namespace pgsluice::sanitize::detail {

// The keyed factor of `noise`: a value is multiplied by 1 + percent/100 × k/10^6 for a keyed
// k between -10^6 and 10^6 (the hash of the value's canonical text, or of a float's bits), so
// the same value gets the same factor in every column and run. Exact for integers and numeric
// (decimal arithmetic, rounded half away from zero), double precision for floats.
class NoiseCore {
  public:
    static constexpr std::int64_t resolution = 1000000;

    NoiseCore(const SaltKey& key, int percent);

    // Changes VALUE in place, keeping its scale; special values and zero stay.
    void noiseDecimal(Decimal& value, Scratch& scratch) const;
    // VALUE with noise, clamped to [MIN, MAX].
    std::int64_t noiseInteger(std::int64_t value, std::int64_t min, std::int64_t max) const;
    // VALUE with noise, clamped to ±LIMIT; NaN, infinities and zeros stay.
    double noiseDouble(double value, double limit) const;

  private:
    std::int64_t pick(const void* data, std::size_t size) const noexcept;

    KeyedHash hash_;
    int percent_;
};

// A keyed permutation of the digit strings of each length (digits held as the values 0 to 9):
// the 8-round Feistel network of `digits`, which `phone` shares. TWEAK selects another,
// independent permutation; without one the outputs are those `digits` has always written.
class DigitPermutation {
  public:
    static constexpr int rounds = 8;

    explicit DigitPermutation(KeyedHash hash) : hash_(std::move(hash)) {}

    // Permutes DIGITS in place; SCRATCH is a reused buffer for long inputs.
    void permute(std::string& digits, std::string& scratch, std::string_view tweak = {}) const;

  private:
    static void addDigits(char* target, std::size_t size, Hash128 hash);

    KeyedHash hash_;
};

// TEXT cut to at most MAX_CHARS characters (-1: no limit) and, for name, 63 bytes, never in
// the middle of a character.
std::string_view truncateToFit(std::string_view text, const ColumnType& type) noexcept;

}  // namespace pgsluice::sanitize::detail
