#include "pgsluice/sanitize/transform.hpp"

#define XXH_INLINE_ALL  // see salt.cpp
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <vector>

#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/names.hpp"
#include "transform_parts.hpp"

namespace pgsluice::sanitize {

using namespace detail;

namespace {

constexpr char hex_digits[] = "0123456789abcdef";
constexpr std::string_view email_prefix = "user_";

// "00".."ff": one lookup per byte instead of two.
constexpr std::array<char, 512> hex_pairs = [] {
    std::array<char, 512> pairs{};
    for (int i = 0; i < 256; ++i) {
        pairs[static_cast<std::size_t>(2 * i)] = hex_digits[i >> 4];
        pairs[static_cast<std::size_t>(2 * i + 1)] = hex_digits[i & 15];
    }
    return pairs;
}();

// The 16 hex digits of WORD, most significant first.
void wordToHex(std::uint64_t word, char* out) {
    for (int i = 7; i >= 0; --i) {
        std::memcpy(out + 2 * i, &hex_pairs[2 * (word & 0xFF)], 2);
        word >>= 8;
    }
}

// The 32 lowercase hex digits of HASH, high half first.
void toHex(const Hash128& hash, char* out) {
    wordToHex(hash.high, out);
    wordToHex(hash.low, out + 16);
}

class NullTransform final : public Transform {
  public:
    NullTransform(const TransformSpec& spec, const ColumnType& type) : Transform(spec, type) {}

    void apply(copy::ByteSpan, std::string&, Scratch&) const override {
        throw Error("internal error: the null transform writes no value");
    }
};

class SetTransform final : public Transform {
  public:
    SetTransform(const TransformSpec& spec, const ColumnType& type)
        : Transform(spec, type), bytes_(encodeConstant(type, spec.constant)) {}

    void apply(copy::ByteSpan, std::string& out, Scratch&) const override { out.append(bytes_); }

  private:
    std::string bytes_;  // the constant's binary form for this column's type
};

class EmailTransform final : public TextTransform {
  public:
    EmailTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), hash_(key.hasherFor("email")) {
        requireFits(type, email_length, email_length, "email",
                    "widen the column or use {hash: {length: N}}");
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;  // '' means "no address": keep it, it names nobody
        }
        char address[email_length];
        std::memcpy(address, email_prefix.data(), email_prefix.size());
        toHex(hash_.hash128(text.data(), text.size()), address + email_prefix.size());
        address[email_prefix.size() + 32] = '@';
        std::memcpy(address + email_prefix.size() + 33, email_domain.data(), email_domain.size());
        out.append(address, sizeof address);
    }

  private:
    KeyedHash hash_;
};

class HashTextTransform final : public TextTransform {
  public:
    HashTextTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), hash_(key.hasherFor("hash")) {
        requireFits(type, static_cast<std::size_t>(spec.length),
                    static_cast<std::size_t>(spec.length), "hash",
                    "give a smaller {hash: {length: N}} (only 32 keeps uniqueness)");
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        char hex[32];
        toHex(hash_.hash128(text.data(), text.size()), hex);
        out.append(hex, static_cast<std::size_t>(spec().length));
    }

  private:
    KeyedHash hash_;
};

class HashUuidTransform final : public Transform {
  public:
    HashUuidTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), hash_(key.hasherFor("hash")) {
        if (spec.length_given) {
            throw UsageError(
                "hash on a uuid column writes a whole uuid (all 128 bits); drop the length "
                "option");
        }
    }

    void apply(copy::ByteSpan in, std::string& out, Scratch&) const override {
        if (in.size() != 16) {
            badFieldLength(TypeKind::uuid, in.size(), 16);
        }
        unsigned char bytes[16];
        storeBigEndian(hash_.hash128(in.data(), in.size()), bytes);
        out.append(reinterpret_cast<const char*>(bytes), sizeof bytes);
    }

  private:
    KeyedHash hash_;
};

// A name list ordered by length (stably, so the order is fixed by the source), with how many
// names fit each length limit, so a pick for a short column needs no filtering per row.
class SortedNames {
  public:
    explicit SortedNames(std::span<const std::string_view> names)
        : names_(names.begin(), names.end()) {
        std::stable_sort(names_.begin(), names_.end(), [](std::string_view a, std::string_view b) {
            return countCharacters(a) < countCharacters(b);
        });
        for (const std::string_view name : names_) {
            const std::size_t chars = countCharacters(name);
            for (std::size_t limit = chars; limit < fitting_.size(); ++limit) {
                ++fitting_[limit];
            }
        }
    }

    // How many names have at most MAX_CHARS characters (-1: no limit); they come first.
    std::size_t countFitting(long max_chars) const {
        if (max_chars < 0) {
            return names_.size();
        }
        return fitting_[static_cast<std::size_t>(
            std::min<long>(max_chars, static_cast<long>(fitting_.size()) - 1))];
    }
    std::string_view operator[](std::size_t i) const { return names_[i]; }
    std::size_t shortest() const { return countCharacters(names_.front()); }

  private:
    std::vector<std::string_view> names_;
    std::array<std::size_t, 64> fitting_{};
};

const SortedNames& sortedFirstNames() {
    static const SortedNames names(firstNames());
    return names;
}

const SortedNames& sortedLastNames() {
    static const SortedNames names(lastNames());
    return names;
}

class NameTransform final : public TextTransform {
  public:
    NameTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), hash_(key.hasherFor(spec.name())) {
        const long limit = type.max_chars;
        const SortedNames& first = sortedFirstNames();
        const SortedNames& last = sortedLastNames();
        std::size_t shortest = 0;
        if (spec.kind == TransformKind::first_name) {
            count_ = first.countFitting(limit);
            shortest = first.shortest();
        } else if (spec.kind == TransformKind::last_name) {
            count_ = last.countFitting(limit);
            shortest = last.shortest();
        } else {
            // Leave room for a space and the shortest last name after the first name.
            count_ =
                first.countFitting(limit < 0 ? -1 : limit - 1 - static_cast<long>(last.shortest()));
            shortest = first.shortest() + 1 + last.shortest();
        }
        if (count_ == 0) {
            throw UsageError(spec.name() + " needs at least " + std::to_string(shortest) +
                             " characters but the column is " + describeType(type) +
                             "; use keep_first or set instead");
        }
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        if (spec().kind != TransformKind::full_name) {
            const SortedNames& names =
                spec().kind == TransformKind::first_name ? sortedFirstNames() : sortedLastNames();
            out.append(names[hash_.hash64(text.data(), text.size()) % count_]);
            return;
        }
        const Hash128 hash = hash_.hash128(text.data(), text.size());
        const std::string_view first = sortedFirstNames()[hash.high % count_];
        const long limit = columnType().max_chars;
        const long budget = limit < 0 ? -1 : limit - 1 - static_cast<long>(countCharacters(first));
        const SortedNames& last = sortedLastNames();
        out.append(first);
        out += ' ';
        out.append(last[hash.low % last.countFitting(budget)]);
    }

  private:
    KeyedHash hash_;
    std::size_t count_ = 0;  // names that fit the column (first names for full_name)
};

}  // namespace

// Alternating unbalanced Feistel rounds: each adds, digit by digit modulo 10, a keyed function
// of one half (with the tweak) to the other half. Each round is undone by subtracting, so the
// whole is a permutation of the 10^k digit strings of length k.
void DigitPermutation::permute(std::string& digits, std::string& scratch,
                               std::string_view tweak) const {
    const std::size_t count = digits.size();
    const std::size_t half = count / 2;
    // Round number, digit count, the source half, then the tweak; on the stack for usual
    // lengths. (Without a tweak the input is what `digits` has always hashed.)
    constexpr std::size_t prefix = 9;
    unsigned char stack[prefix + 64];
    unsigned char* input = stack;
    if (count - half + tweak.size() > sizeof stack - prefix) {
        scratch.resize(prefix + count - half + tweak.size());
        input = reinterpret_cast<unsigned char*>(scratch.data());
    }
    for (int shift = 56, i = 1; shift >= 0; shift -= 8, ++i) {
        input[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(count) >> shift);
    }
    for (int round = 0; round < rounds; ++round) {
        const bool left = round % 2 == 0;
        char* target = digits.data() + (left ? 0 : half);
        const std::size_t target_size = left ? half : count - half;
        if (target_size == 0) {
            continue;  // one digit: only the right half moves
        }
        const std::size_t source_size = left ? count - half : half;
        input[0] = static_cast<unsigned char>(round);
        std::memcpy(input + prefix, digits.data() + (left ? half : 0), source_size);
        if (!tweak.empty()) {
            std::memcpy(input + prefix + source_size, tweak.data(), tweak.size());
        }
        addDigits(target, target_size, hash_.hash128(input, prefix + source_size + tweak.size()));
    }
}

// Adds (mod 10) a digit stream drawn from HASH to TARGET, one digit per hash byte (byte mod
// 10: slightly uneven, which a Feistel round function may be, and with no chain of
// divisions); past 16 digits the stream goes on from hashes of the previous block.
void DigitPermutation::addDigits(char* target, std::size_t size, Hash128 hash) {
    unsigned char bytes[16];
    storeBigEndian(hash, bytes);
    std::uint64_t counter = 0;
    for (std::size_t done = 0; done < size; ++done) {
        if (done > 0 && done % sizeof bytes == 0) {
            const XXH128_hash_t next = XXH3_128bits_withSeed(bytes, sizeof bytes, ++counter);
            storeBigEndian({next.high64, next.low64}, bytes);
        }
        const unsigned sum = static_cast<unsigned>(target[done]) + bytes[done % sizeof bytes] % 10u;
        target[done] = static_cast<char>(sum >= 10 ? sum - 10 : sum);
    }
}

namespace {

// Replaces every ASCII digit and keeps every other character where it is. The digit string is
// permuted by a keyed Feistel network over base-10 digits, which is a bijection for each digit
// count: distinct inputs of the same layout can never collide, so `digits` keeps uniqueness
// exactly, not just with high probability.
class DigitsTransform final : public TextTransform {
  public:
    DigitsTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), permutation_(key.hasherFor("digits")) {}

    void rewrite(std::string_view text, std::string& out, Scratch& scratch) const override {
        const std::size_t start = out.size();
        out.append(text);
        std::string& digits = scratch.digits;
        digits.clear();
        for (const char c : text) {
            if (c >= '0' && c <= '9') {
                digits += static_cast<char>(c - '0');
            }
        }
        if (digits.empty()) {
            return;
        }
        permutation_.permute(digits, scratch.round_input);
        std::size_t next = 0;
        for (std::size_t i = start; i < out.size(); ++i) {
            if (out[i] >= '0' && out[i] <= '9') {
                out[i] = static_cast<char>('0' + digits[next++]);
            }
        }
    }

  private:
    DigitPermutation permutation_;
};

class KeepFirstTransform final : public TextTransform {
  public:
    KeepFirstTransform(const TransformSpec& spec, const ColumnType& type)
        : TextTransform(spec, type) {}

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (!isValidUtf8(text)) {
            throw FormatError(
                "a text value is not valid UTF-8, so keep_first cannot tell its characters "
                "apart; read the source with client_encoding UTF8");
        }
        std::size_t pos = 0;
        for (int kept = 0; pos < text.size() && kept < spec().keep; ++kept) {
            const auto lead = static_cast<unsigned char>(text[pos]);
            pos += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        }
        out.append(text.substr(0, pos));
        out.append(countCharacters(text.substr(pos)), mask_character);
    }
};

class ShiftDateTransform final : public Transform {
  public:
    ShiftDateTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), hash_(key.hasherFor("shift_date")) {}

    void apply(copy::ByteSpan in, std::string& out, Scratch&) const override {
        if (columnType().kind == TypeKind::date) {
            if (in.size() != 4) {
                badFieldLength(TypeKind::date, in.size(), 4);
            }
            const std::int32_t day = loadBigEndian32(in.data());
            if (day == date_minus_infinity || day == date_plus_infinity) {
                appendInt32(out, day);
                return;
            }
            const std::int64_t shift = offsetDays(in);
            std::int64_t shifted = day + shift;
            if (shifted < date_first_valid || shifted >= date_end_valid) {
                shifted = day - shift;  // near the ends of the range, shift the other way
            }
            if (shifted < date_first_valid || shifted >= date_end_valid) {
                shifted = day;
            }
            appendInt32(out, static_cast<std::int32_t>(shifted));
            return;
        }
        if (in.size() != 8) {
            badFieldLength(columnType().kind, in.size(), 8);
        }
        const std::int64_t time = loadBigEndian64(in.data());
        if (time == timestamp_minus_infinity || time == timestamp_plus_infinity) {
            appendInt64(out, time);
            return;
        }
        const std::int64_t delta = offsetDays(in) * microseconds_per_day;
        std::int64_t shifted = time;
        if (fits(time, delta)) {
            shifted = time + delta;
        } else if (fits(time, -delta)) {
            shifted = time - delta;
        }
        appendInt64(out, shifted);
    }

  private:
    // A keyed shift in [-days, -1] or [1, days]: never 0, so no value stays where it was.
    std::int64_t offsetDays(copy::ByteSpan in) const {
        const std::uint64_t days = static_cast<std::uint64_t>(spec().days);
        const std::uint64_t pick = hash_.hash64(in.data(), in.size()) % (2 * days);
        return pick < days ? -static_cast<std::int64_t>(pick + 1)
                           : static_cast<std::int64_t>(pick - days + 1);
    }

    // True when TIME + DELTA is a valid timestamp, computed without overflow.
    static bool fits(std::int64_t time, std::int64_t delta) {
        return delta >= 0 ? time >= timestamp_first_valid && time < timestamp_end_valid - delta
                          : time >= timestamp_first_valid - delta && time < timestamp_end_valid;
    }

    KeyedHash hash_;
};

class JsonTransform final : public Transform {
  public:
    JsonTransform(const TransformSpec& spec, const ColumnType& type)
        : Transform(spec, type), editor_(spec.json_edits) {}

    void apply(copy::ByteSpan in, std::string& out, Scratch& scratch) const override {
        if (columnType().kind == TypeKind::jsonb) {
            if (in.empty() || std::to_integer<char>(in[0]) != jsonb_version) {
                throw FormatError(
                    in.empty() ? std::string("a jsonb field is empty; its binary form starts "
                                             "with version byte 1")
                               : "a jsonb field has format version " +
                                     std::to_string(std::to_integer<int>(in[0])) +
                                     "; pgsluice reads version 1");
            }
            out += jsonb_version;
            editor_.edit(copy::asText(in.subspan(1)), out, scratch.json);
            return;
        }
        editor_.edit(copy::asText(in), out, scratch.json);
    }

  private:
    JsonEditor editor_;
};

}  // namespace

TypeSet acceptedTypes(TransformKind kind) {
    switch (kind) {
        case TransformKind::null_value:
            return TypeSet::all();
        case TransformKind::set:
            return {
                TypeKind::text,      TypeKind::varchar,     TypeKind::bpchar, TypeKind::name,
                TypeKind::citext,    TypeKind::json,        TypeKind::jsonb,  TypeKind::date,
                TypeKind::timestamp, TypeKind::timestamptz, TypeKind::int2,   TypeKind::int4,
                TypeKind::int8,      TypeKind::boolean,     TypeKind::uuid,   TypeKind::numeric};
        case TransformKind::hash:
            return {TypeKind::text,   TypeKind::varchar, TypeKind::bpchar, TypeKind::name,
                    TypeKind::citext, TypeKind::uuid,    TypeKind::bytea};
        case TransformKind::email:
        case TransformKind::first_name:
        case TransformKind::last_name:
        case TransformKind::full_name:
        case TransformKind::digits:
        case TransformKind::keep_first:
        case TransformKind::phone:
        case TransformKind::regex_replace:
        case TransformKind::lookup:
            return text_like_types;
        case TransformKind::shift_date:
            return {TypeKind::date, TypeKind::timestamp, TypeKind::timestamptz};
        case TransformKind::json:
            return {TypeKind::json, TypeKind::jsonb};
        case TransformKind::uuid:
            return {TypeKind::text, TypeKind::varchar, TypeKind::bpchar,
                    TypeKind::name, TypeKind::citext,  TypeKind::uuid};
        case TransformKind::ip:
            return {TypeKind::text,   TypeKind::varchar, TypeKind::bpchar, TypeKind::name,
                    TypeKind::citext, TypeKind::inet,    TypeKind::cidr};
        case TransformKind::noise:
            return {TypeKind::int2,    TypeKind::int4,   TypeKind::int8,
                    TypeKind::numeric, TypeKind::float4, TypeKind::float8};
    }
    return {};
}

TransformTraits traitsOf(const TransformSpec& spec) {
    TransformTraits traits;
    traits.accepted = acceptedTypes(spec.kind);
    traits.needs_salt = spec.needsSalt();
    traits.deterministic = true;  // no transform is random: joins and reruns must agree
    switch (spec.kind) {
        case TransformKind::null_value:
        case TransformKind::email:
        case TransformKind::digits:
        case TransformKind::phone:
        case TransformKind::uuid:
        case TransformKind::ip:
            traits.keeps_uniqueness = true;
            break;
        case TransformKind::hash:
            traits.keeps_uniqueness = spec.length == hash_full_length;
            break;
        default:
            traits.keeps_uniqueness = false;
            break;
    }
    return traits;
}

TransformTraits traitsOf(const TransformSpec& spec, const ColumnType& type) {
    TransformTraits traits = traitsOf(spec);
    if (spec.kind == TransformKind::hash && type.kind == TypeKind::bytea) {
        // On bytea, length counts bytes: the whole hash is 16 of them.
        traits.keeps_uniqueness = !spec.length_given || spec.length == hash_full_length / 2;
    }
    return traits;
}

std::unique_ptr<const Transform> makeTransform(const TransformSpec& spec, const ColumnType& type,
                                               const SaltKey& key) {
    if (!acceptedTypes(spec.kind).contains(type.kind)) {
        throw UsageError(spec.name() + " cannot rewrite a column of type " +
                         std::string(typeKindName(type.kind)) + "; it accepts " +
                         acceptedTypes(spec.kind).describe());
    }
    if (spec.needsSalt() && key.empty()) {
        throw UsageError(spec.name() + " needs a salt; set salt_env in the rules file");
    }
    switch (spec.kind) {
        case TransformKind::null_value:
            return std::make_unique<NullTransform>(spec, type);
        case TransformKind::set:
            return std::make_unique<SetTransform>(spec, type);
        case TransformKind::hash:
            if (type.kind == TypeKind::uuid) {
                return std::make_unique<HashUuidTransform>(spec, type, key);
            }
            if (type.kind == TypeKind::bytea) {
                return makeHashByteaTransform(spec, type, key);
            }
            return std::make_unique<HashTextTransform>(spec, type, key);
        case TransformKind::email:
            return std::make_unique<EmailTransform>(spec, type, key);
        case TransformKind::first_name:
        case TransformKind::last_name:
        case TransformKind::full_name:
            return std::make_unique<NameTransform>(spec, type, key);
        case TransformKind::digits:
            return std::make_unique<DigitsTransform>(spec, type, key);
        case TransformKind::keep_first:
            return std::make_unique<KeepFirstTransform>(spec, type);
        case TransformKind::shift_date:
            return std::make_unique<ShiftDateTransform>(spec, type, key);
        case TransformKind::json:
            if (!spec.json_paths.empty()) {
                return makeJsonPathsTransform(spec, type, key);
            }
            return std::make_unique<JsonTransform>(spec, type);
        case TransformKind::phone:
            return makePhoneTransform(spec, type, key);
        case TransformKind::uuid:
            return makeUuidTransform(spec, type, key);
        case TransformKind::ip:
            return makeIpTransform(spec, type, key);
        case TransformKind::regex_replace:
            return makeRegexTransform(spec, type);
        case TransformKind::lookup:
            return makeLookupTransform(spec, type, key);
        case TransformKind::noise:
            return makeNoiseTransform(spec, type, key);
    }
    throw Error("internal error: unknown transform kind");
}

}  // namespace pgsluice::sanitize
