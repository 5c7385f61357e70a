// `uuid` and `ip`: keyed permutations, so distinct values stay distinct.

#include <cstring>

#include "pgsluice/hex.hpp"
#include "pgsluice/sanitize/network.hpp"
#include "pgsluice/sanitize/permutation.hpp"
#include "transform_parts.hpp"

namespace pgsluice::sanitize::detail {

namespace {

constexpr std::uint64_t low62 = (std::uint64_t{1} << 62) - 1;

std::uint64_t loadWord(const unsigned char* p) {
    std::uint64_t word = 0;
    for (int i = 0; i < 8; ++i) {
        word = word << 8 | p[i];
    }
    return word;
}

// A keyed permutation of the 122 bits of a uuid outside its version nibble (bits 48-51) and
// the two leading variant bits (64-65): those six bits are kept, so a version 4 uuid stays a
// version 4 uuid, and for each value of them the other 122 bits are permuted, which makes the
// whole a bijection of the 2^128 uuids. The nil and the max uuid map to themselves; the others
// never map to them (cycle walking), so the mapping stays one-to-one.
class UuidCore {
  public:
    explicit UuidCore(const SaltKey& key) : permutation_(key.hasherFor("uuid")) {}

    void map(unsigned char* bytes) const {
        const std::uint64_t hi = loadWord(bytes);
        const std::uint64_t lo = loadWord(bytes + 8);
        if (special(hi, lo)) {
            return;
        }
        const std::uint64_t version = hi >> 12 & 0xF;
        const std::uint64_t variant = lo >> 62;
        const std::uint64_t tweak = version << 2 | variant;
        uint128 payload = uint128{(hi >> 16) << 12 | (hi & 0xFFF)} << 62 | (lo & low62);
        std::uint64_t out_hi = 0;
        std::uint64_t out_lo = 0;
        do {
            payload = permutation_.permute(payload, 122, tweak);
            const auto top = static_cast<std::uint64_t>(payload >> 62);  // 60 bits
            out_hi = (top >> 12) << 16 | version << 12 | (top & 0xFFF);
            out_lo = variant << 62 | (static_cast<std::uint64_t>(payload) & low62);
        } while (special(out_hi, out_lo));
        storeBigEndian(out_hi, bytes);
        storeBigEndian(out_lo, bytes + 8);
    }

  private:
    static bool special(std::uint64_t hi, std::uint64_t lo) {
        return (hi == 0 && lo == 0) || (hi == ~std::uint64_t{0} && lo == ~std::uint64_t{0});
    }

    BitPermutation permutation_;
};

class UuidBinaryTransform final : public Transform {
  public:
    UuidBinaryTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), core_(key) {}

    void apply(copy::ByteSpan in, std::string& out, Scratch&) const override {
        if (in.size() != 16) {
            badFieldLength(TypeKind::uuid, in.size(), 16);
        }
        unsigned char bytes[16];
        std::memcpy(bytes, in.data(), 16);
        core_.map(bytes);
        out.append(reinterpret_cast<const char*>(bytes), 16);
    }

  private:
    UuidCore core_;
};

// A uuid in text: 32 hex digits, optionally in braces, with a hyphen allowed after any group
// of four (as uuid_in reads them). The digits are replaced in place, so hyphens, braces and
// the case (upper case when the input has upper-case letters and no lower-case ones) stay.
class UuidTextTransform final : public TextTransform {
  public:
    UuidTextTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), core_(key) {}

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        std::size_t positions[32];
        unsigned char bytes[16] = {};
        if (!parse(text, positions, bytes)) {
            throw FormatError(
                "a value is not a uuid (32 hex digits, optionally in braces, with hyphens after "
                "groups of four); clean the column or rule it with another transform");
        }
        bool upper = false;
        bool lower = false;
        for (const char c : text) {
            upper = upper || (c >= 'A' && c <= 'F');
            lower = lower || (c >= 'a' && c <= 'f');
        }
        const char* digits = upper && !lower ? "0123456789ABCDEF" : "0123456789abcdef";
        core_.map(bytes);
        const std::size_t start = out.size();
        out.append(text);
        for (int i = 0; i < 32; ++i) {
            const unsigned nibble = i % 2 == 0 ? bytes[i / 2] >> 4 : bytes[i / 2] & 15u;
            out[start + positions[i]] = digits[nibble];
        }
    }

  private:
    static bool parse(std::string_view text, std::size_t* positions, unsigned char* bytes) {
        std::size_t begin = 0;
        std::size_t end = text.size();
        if (text.front() == '{') {
            if (text.size() < 2 || text.back() != '}') {
                return false;
            }
            ++begin;
            --end;
        }
        int count = 0;
        bool after_hyphen = false;
        for (std::size_t i = begin; i < end; ++i) {
            const char c = text[i];
            if (c == '-') {
                if (after_hyphen || count == 0 || count % 4 != 0 || count >= 32) {
                    return false;
                }
                after_hyphen = true;
                continue;
            }
            const int value = hexDigitValue(c);
            if (value < 0 || count == 32) {
                return false;
            }
            after_hyphen = false;
            positions[count] = i;
            bytes[count / 2] =
                static_cast<unsigned char>(count % 2 == 0 ? value << 4 : bytes[count / 2] | value);
            ++count;
        }
        return count == 32 && !after_hyphen;
    }

    UuidCore core_;
};

// The mapping of `ip`. Of an address's WIDTH bits (32 or 128) the first KEEP stay; the rest
// are permuted by a keyed permutation of that many bits, so distinct addresses stay distinct.
// A value with a mask shorter than its width whose host bits are all zero (a network, as cidr
// stores it) has only its network bits past KEEP permuted, so it stays a network; any other
// value has all bits past KEEP permuted and, by cycle walking, never lands on a zero host part,
// so the two kinds cannot collide. Text, inet and cidr values of one address and mask map
// alike.
class IpCore {
  public:
    IpCore(const SaltKey& key, int keep_v4, int keep_v6)
        : permutation_(key.hasherFor("ip")), keep_v4_(keep_v4), keep_v6_(keep_v6) {}

    void map(bool v6, unsigned char* bytes, int bits) const {
        const int width = v6 ? 128 : 32;
        const int size = width / 8;
        uint128 value = 0;
        for (int i = 0; i < size; ++i) {
            value = value << 8 | bytes[i];
        }
        const int keep = std::min(v6 ? keep_v6_ : keep_v4_, width);
        const uint128 host = lowBits(width - bits);
        const bool network = bits < width && (value & host) == 0;
        const int end = network ? bits : width;
        if (end > keep) {
            const std::uint64_t tweak = std::uint64_t{v6 ? 6u : 4u} << 16 |
                                        static_cast<std::uint64_t>(keep) << 8 |
                                        static_cast<std::uint64_t>(end);
            do {
                value = permuteRange(value, keep, end, width, tweak);
            } while (!network && bits < width && (value & host) == 0);
        }
        for (int i = size - 1; i >= 0; --i) {
            bytes[i] = static_cast<unsigned char>(value & 0xFF);
            value >>= 8;
        }
    }

  private:
    // VALUE with its bits FROM to END (counted from the most significant, END exclusive)
    // permuted.
    uint128 permuteRange(uint128 value, int from, int end, int width, std::uint64_t tweak) const {
        const int count = end - from;
        const int shift = width - end;
        const uint128 mask = lowBits(count) << shift;
        const uint128 part = (value & mask) >> shift;
        return (value & ~mask) | (permutation_.permute(part, count, tweak) << shift);
    }

    BitPermutation permutation_;
    int keep_v4_;
    int keep_v6_;
};

int keepV6(const TransformSpec& spec) {
    return spec.keep_prefix_v6 >= 0 ? spec.keep_prefix_v6 : spec.keep_prefix;
}

class IpTextTransform final : public TextTransform {
  public:
    IpTextTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), core_(key, spec.keep_prefix, keepV6(spec)) {
        requireFits(type, 15, 15, "ip",
                    "widen the column (15 characters hold every IPv4 address, 39 every IPv6 "
                    "one, plus the /mask)");
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        IpAddress address;
        if (!parseIpAddress(text, address)) {
            throw FormatError(
                "a value is not an IPv4 or IPv6 address (with an optional /mask); clean the "
                "column or rule it with another transform");
        }
        core_.map(address.v6, address.bytes, address.bits);
        const std::size_t start = out.size();
        appendIpAddress(address, out);
        const std::size_t written = out.size() - start;  // ASCII: characters = bytes
        if (columnType().max_chars >= 0 &&
            written > static_cast<std::size_t>(columnType().max_chars)) {
            throw FormatError("the rewritten address has " + std::to_string(written) +
                              " characters but the column is " + describeType(columnType()) +
                              "; widen the column");
        }
    }

  private:
    IpCore core_;
};

class IpBinaryTransform final : public Transform {
  public:
    IpBinaryTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), core_(key, spec.keep_prefix, keepV6(spec)) {}

    void apply(copy::ByteSpan in, std::string& out, Scratch&) const override {
        const std::string_view kind = typeKindName(columnType().kind);
        if (in.size() < 4) {
            throw FormatError("a " + std::string(kind) + " field has " + std::to_string(in.size()) +
                              " bytes; its binary form has 8 or 20");
        }
        const auto family = std::to_integer<unsigned>(in[0]);
        const auto bits = std::to_integer<int>(in[1]);
        const auto size = std::to_integer<std::size_t>(in[3]);
        const bool v6 = family == pg_af_inet6;
        if ((family != pg_af_inet && !v6) || size != (v6 ? 16u : 4u) || in.size() != 4 + size ||
            bits > (v6 ? 128 : 32)) {
            throw FormatError("a " + std::string(kind) + " field of " + std::to_string(in.size()) +
                              " bytes has family " + std::to_string(family) + ", " +
                              std::to_string(bits) + " mask bits and an address of " +
                              std::to_string(size) +
                              " bytes; its binary form is family 2 with 4 bytes (up to 32 bits) "
                              "or family 3 with 16 (up to 128 bits)");
        }
        unsigned char bytes[16];
        std::memcpy(bytes, in.data() + 4, size);
        if (columnType().kind == TypeKind::cidr) {
            const int width = v6 ? 128 : 32;
            for (int bit = bits; bit < width; ++bit) {
                if ((bytes[bit / 8] >> (7 - bit % 8) & 1) != 0) {
                    throw FormatError("a cidr field has bits set right of its /" +
                                      std::to_string(bits) + " mask");
                }
            }
        }
        core_.map(v6, bytes, bits);
        out.append(reinterpret_cast<const char*>(in.data()), 4);
        out.append(reinterpret_cast<const char*>(bytes), size);
    }

  private:
    IpCore core_;
};

}  // namespace

std::unique_ptr<const Transform> makeUuidTransform(const TransformSpec& spec,
                                                   const ColumnType& type, const SaltKey& key) {
    if (type.kind == TypeKind::uuid) {
        return std::make_unique<UuidBinaryTransform>(spec, type, key);
    }
    return std::make_unique<UuidTextTransform>(spec, type, key);
}

std::unique_ptr<const Transform> makeIpTransform(const TransformSpec& spec, const ColumnType& type,
                                                 const SaltKey& key) {
    if (type.kind == TypeKind::inet || type.kind == TypeKind::cidr) {
        return std::make_unique<IpBinaryTransform>(spec, type, key);
    }
    return std::make_unique<IpTextTransform>(spec, type, key);
}

}  // namespace pgsluice::sanitize::detail
