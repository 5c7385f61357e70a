// `noise`: keyed multiplicative noise for integers, numeric and floats.

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/numeric.hpp"
#include "transform_parts.hpp"

namespace pgsluice::sanitize::detail {

namespace {

__extension__ typedef __int128 int128;

std::uint32_t load32u(const std::byte* p) {
    return static_cast<std::uint32_t>(loadBigEndian32(p));
}

std::uint64_t load64u(const std::byte* p) {
    return static_cast<std::uint64_t>(loadBigEndian64(p));
}

class NoiseTransform final : public Transform {
  public:
    NoiseTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), core_(key, spec.percent) {}

    void apply(copy::ByteSpan in, std::string& out, Scratch& scratch) const override {
        switch (columnType().kind) {
            case TypeKind::int2:
                if (in.size() != 2) {
                    badFieldLength(TypeKind::int2, in.size(), 2);
                }
                appendInt16(out,
                            static_cast<std::int16_t>(core_.noiseInteger(
                                static_cast<std::int16_t>(std::to_integer<unsigned>(in[0]) << 8 |
                                                          std::to_integer<unsigned>(in[1])),
                                std::numeric_limits<std::int16_t>::min(),
                                std::numeric_limits<std::int16_t>::max())));
                return;
            case TypeKind::int4:
                if (in.size() != 4) {
                    badFieldLength(TypeKind::int4, in.size(), 4);
                }
                appendInt32(
                    out, static_cast<std::int32_t>(core_.noiseInteger(
                             loadBigEndian32(in.data()), std::numeric_limits<std::int32_t>::min(),
                             std::numeric_limits<std::int32_t>::max())));
                return;
            case TypeKind::int8:
                if (in.size() != 8) {
                    badFieldLength(TypeKind::int8, in.size(), 8);
                }
                appendInt64(out, core_.noiseInteger(loadBigEndian64(in.data()),
                                                    std::numeric_limits<std::int64_t>::min(),
                                                    std::numeric_limits<std::int64_t>::max()));
                return;
            case TypeKind::float4: {
                if (in.size() != 4) {
                    badFieldLength(TypeKind::float4, in.size(), 4);
                }
                const auto value = static_cast<double>(std::bit_cast<float>(load32u(in.data())));
                const auto noisy =
                    static_cast<float>(core_.noiseDouble(value, std::numeric_limits<float>::max()));
                appendInt32(out, static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(noisy)));
                return;
            }
            case TypeKind::float8: {
                if (in.size() != 8) {
                    badFieldLength(TypeKind::float8, in.size(), 8);
                }
                const double noisy = core_.noiseDouble(std::bit_cast<double>(load64u(in.data())),
                                                       std::numeric_limits<double>::max());
                appendInt64(out, static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(noisy)));
                return;
            }
            default:
                break;
        }
        Decimal& value = scratch.decimal;
        decodeNumeric(in, value);
        core_.noiseDecimal(value, scratch);
        clampToPrecision(value, scratch.text);
        appendNumeric(value, out);
    }

  private:
    // numeric(p,s) holds magnitudes up to (10^p - 1) × 10^-s: beyond it the load would fail.
    void clampToPrecision(Decimal& value, std::string& limit) const {
        const ColumnType& type = columnType();
        if (type.precision < 0 || value.special()) {
            return;
        }
        const long nines = value.scale >= type.scale
                               ? type.precision
                               : static_cast<long>(type.precision) - (type.scale - value.scale);
        limit.assign(static_cast<std::size_t>(std::max(nines, 0L)), '9');
        if (value.scale > type.scale && nines > 0) {
            limit.append(static_cast<std::size_t>(value.scale - type.scale), '0');
        }
        if (compareMagnitudes(value.digits, limit) > 0) {
            value.digits.assign(limit);
            if (value.digits.empty()) {
                value.sign = numeric_positive;
            }
        }
    }

    NoiseCore core_;
};

}  // namespace

NoiseCore::NoiseCore(const SaltKey& key, int percent)
    : hash_(key.hasherFor("noise")), percent_(percent) {}

std::int64_t NoiseCore::pick(const void* data, std::size_t size) const noexcept {
    const std::uint64_t hash = hash_.hash64(data, size);
    return static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(2 * resolution + 1)) -
           resolution;
}

void NoiseCore::noiseDecimal(Decimal& value, Scratch& scratch) const {
    if (value.special() || value.zero()) {
        return;
    }
    scratch.text.clear();
    appendDecimalText(value, scratch.text);
    const std::int64_t k = pick(scratch.text.data(), scratch.text.size());
    const auto factor =
        static_cast<std::uint64_t>(percent_) * static_cast<std::uint64_t>(k < 0 ? -k : k);
    scaleMagnitude(value.digits, factor, k >= 0, scratch.work);
    if (value.digits.empty()) {
        value.sign = numeric_positive;
    }
}

std::int64_t NoiseCore::noiseInteger(std::int64_t value, std::int64_t min, std::int64_t max) const {
    if (value == 0) {
        return 0;
    }
    char text[24];
    const auto [end, error] = std::to_chars(text, text + sizeof text, value);
    (void)error;
    const std::int64_t k = pick(text, static_cast<std::size_t>(end - text));
    const int128 magnitude = value < 0 ? -static_cast<int128>(value) : static_cast<int128>(value);
    const int128 product = magnitude * percent_ * (k < 0 ? -k : k);
    constexpr int128 unit = int128{100} * resolution;  // 10^8
    int128 delta = product / unit;
    if ((product % unit) * 2 >= unit) {
        ++delta;  // half away from zero
    }
    const int128 changed = k >= 0 ? magnitude + delta : magnitude - delta;
    const int128 result = value < 0 ? -changed : changed;
    return result < min ? min : result > max ? max : static_cast<std::int64_t>(result);
}

double NoiseCore::noiseDouble(double value, double limit) const {
    if (std::isnan(value) || std::isinf(value) || value == 0) {
        return value;
    }
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(value);
    unsigned char key[8];
    storeBigEndian(bits, key);
    const std::int64_t k = pick(key, sizeof key);
    const double factor = 1.0 + static_cast<double>(percent_) * static_cast<double>(k) / 1e8;
    const double result = value * factor;
    if (result > limit) {
        return limit;
    }
    if (result < -limit) {
        return -limit;
    }
    return result;
}

std::string_view truncateToFit(std::string_view text, const ColumnType& type) noexcept {
    std::size_t end = text.size();
    if (type.max_chars >= 0) {
        std::size_t chars = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
                if (chars == static_cast<std::size_t>(type.max_chars)) {
                    end = i;
                    break;
                }
                ++chars;
            }
        }
    }
    if (type.kind == TypeKind::name && end > static_cast<std::size_t>(name_max_bytes)) {
        end = static_cast<std::size_t>(name_max_bytes);
        while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
            --end;  // do not cut a character
        }
    }
    return text.substr(0, end);
}

std::unique_ptr<const Transform> makeNoiseTransform(const TransformSpec& spec,
                                                    const ColumnType& type, const SaltKey& key) {
    return std::make_unique<NoiseTransform>(spec, type, key);
}

}  // namespace pgsluice::sanitize::detail
