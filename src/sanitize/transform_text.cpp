// `phone`, `regex_replace`, `lookup`, and `hash` on bytea.

#include <re2/re2.h>

#include <algorithm>

#include "pgsluice/sanitize/phone.hpp"
#include "transform_parts.hpp"

namespace pgsluice::sanitize::detail {

namespace {

// Replaces the subscriber digits of a phone number and keeps what makes it look like a number
// of its country: the + or 00 and the country calling code (longest E.164 prefix; three digits
// when no assigned code matches), the first
// national digit (a mobile or area prefix such as Australia's 4), and after a national 0 (a
// trunk prefix: 06..., +44 (0)20...) the digit after it too. Numbers without + or 00 keep
// their first digit the same way. For +1 (NANP) the exchange's first digit is drawn from 2-9,
// as the numbering plan requires. Every other character stays where it is. Distinct numbers
// stay distinct: the rest of the digits go through a keyed permutation.
class PhoneTransform final : public TextTransform {
  public:
    PhoneTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), permutation_(key.hasherFor("phone")) {}

    void rewrite(std::string_view text, std::string& out, Scratch& scratch) const override {
        const std::size_t start = out.size();
        out.append(text);
        std::string& digits = scratch.digits;
        digits.clear();
        for (const char c : text) {
            if (c >= '0' && c <= '9') {
                digits += c;
            }
        }
        if (digits.empty()) {
            return;
        }
        // International: a + before the first digit ("+61 4...", "Tel. +1 ..."), or the
        // first two characters of the number are 00.
        const std::size_t lead = text.find_first_of("0123456789");
        const bool plus = text.substr(0, lead).find('+') != std::string_view::npos;
        const bool zero_zero = !plus && text.substr(lead).starts_with("00");
        const bool international = plus || zero_zero;
        const std::size_t first = zero_zero ? 2 : 0;  // where the number starts in DIGITS
        const std::size_t count = digits.size();
        std::size_t kept = 0;
        std::size_t code = 0;
        if (international) {
            code = first < count ? callingCodeLength(std::string_view(digits).substr(first)) : 0;
            if (code == 0) {
                code = std::min<std::size_t>(3, count - std::min(first, count));
            }
            kept = std::min(first + code, count);
        }
        if (kept < count) {
            const bool trunk = digits[kept] == '0';
            ++kept;
            if (trunk && kept < count) {
                ++kept;
            }
        }
        const std::size_t exchange =
            international && code == 1 && digits[first] == '1' ? first + 1 + 3 : std::string::npos;
        if (kept >= count) {
            return;
        }
        // The digits after the kept prefix are permuted (the Feistel network of `digits`),
        // with the prefix (its + or 00 as "+") as the tweak: for each prefix and length a
        // one-to-one mapping, so distinct numbers stay distinct, and the same number in
        // another layout gets the same digits. For +1 the exchange's first digit is cycled
        // until it is 2-9 again (or 0-1 again, for a number that had one), which keeps the
        // mapping one-to-one.
        std::string& tweak = scratch.work;
        tweak.assign(international ? "+" : "");
        tweak.append(digits, first, kept - first);
        std::string& tail = scratch.text;
        tail.clear();
        for (std::size_t i = kept; i < count; ++i) {
            tail += static_cast<char>(digits[i] - '0');
        }
        const bool walk = exchange != std::string::npos && exchange >= kept && exchange < count;
        const bool valid_exchange = walk && digits[exchange] >= '2';
        do {
            permutation_.permute(tail, scratch.round_input, tweak);
        } while (walk && (tail[exchange - kept] >= 2) != valid_exchange);
        for (std::size_t i = kept; i < count; ++i) {
            digits[i] = static_cast<char>('0' + tail[i - kept]);
        }
        std::size_t next = 0;
        for (std::size_t i = start; i < out.size(); ++i) {
            if (out[i] >= '0' && out[i] <= '9') {
                out[i] = digits[next++];
            }
        }
    }

  private:
    DigitPermutation permutation_;
};

RE2::Options regexOptions() {
    RE2::Options options;
    options.set_log_errors(false);  // errors are reported as rules-file problems
    return options;
}

// Every non-overlapping match of an RE2 pattern replaced, as RE2::GlobalReplace does, but
// appended straight to the output.
class RegexTransform final : public TextTransform {
  public:
    static constexpr int max_groups = 10;  // \0 to \9

    RegexTransform(const TransformSpec& spec, const ColumnType& type)
        : TextTransform(spec, type),
          regex_(spec.pattern, regexOptions()),
          rewrite_(spec.replacement) {
        if (!regex_.ok()) {
            throw UsageError("regex_replace pattern does not compile: " + regex_.error());
        }
        std::string error;
        if (!regex_.CheckRewriteString(rewrite_, &error)) {
            throw UsageError("regex_replace replacement: " + error);
        }
        groups_ = 1 + RE2::MaxSubmatch(rewrite_);
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        const std::size_t start = out.size();
        re2::StringPiece groups[max_groups];
        const char* p = text.data();
        const char* end = text.data() + text.size();
        const char* last_end = nullptr;
        bool replaced = false;
        while (p <= end) {
            if (!regex_.Match(text, static_cast<std::size_t>(p - text.data()), text.size(),
                              RE2::UNANCHORED, groups, groups_)) {
                break;
            }
            if (p < groups[0].data()) {
                out.append(p, static_cast<std::size_t>(groups[0].data() - p));
            }
            if (groups[0].data() == last_end && groups[0].empty()) {
                // No empty match right where the last one ended: step over one character
                // (at the end there is none left, and no pointer may go past it).
                if (p == end) {
                    break;
                }
                const std::size_t step = characterLength(p, end);
                out.append(p, step);
                p += step;
                continue;
            }
            regex_.Rewrite(&out, rewrite_, groups, groups_);
            p = groups[0].data() + groups[0].size();
            last_end = p;
            replaced = true;
        }
        if (!replaced) {
            out.resize(start);
            out.append(text);
        } else if (p < end) {
            out.append(p, static_cast<std::size_t>(end - p));
        }
        // Too long for character varying(n), character(n) or name: cut, never mid-character.
        const std::size_t fitting =
            truncateToFit(std::string_view(out).substr(start), columnType()).size();
        out.resize(start + fitting);
    }

  private:
    static std::size_t characterLength(const char* p, const char* end) {
        if (p >= end) {
            return 0;
        }
        const auto lead = static_cast<unsigned char>(*p);
        const std::size_t length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        return std::min(length, static_cast<std::size_t>(end - p));
    }

    RE2 regex_;
    std::string rewrite_;
    int groups_ = 1;
};

// A keyed pick from the user's list.
class LookupTransform final : public TextTransform {
  public:
    LookupTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : TextTransform(spec, type), hash_(key.hasherFor("lookup")) {
        if (spec.lookup_values.empty()) {
            throw UsageError("the lookup list " + spec.lookup_file + " has no values");
        }
        const std::string* longest = &spec.lookup_values.front();
        const std::string* widest = longest;  // in bytes, for name
        for (const std::string& value : spec.lookup_values) {
            if (countCharacters(value) > countCharacters(*longest)) {
                longest = &value;
            }
            if (value.size() > widest->size()) {
                widest = &value;
            }
        }
        const std::string advice = "shorten the values of " + spec.lookup_file +
                                   " or widen the column (the longest is \"" + *longest + "\")";
        requireFits(type, countCharacters(*longest), widest->size(), "lookup", advice);
    }

    void rewrite(std::string_view text, std::string& out, Scratch&) const override {
        if (text.empty()) {
            return;
        }
        const std::vector<std::string>& values = spec().lookup_values;
        out.append(values[hash_.hash64(text.data(), text.size()) % values.size()]);
    }

  private:
    KeyedHash hash_;
};

// The bytes of the keyed 128-bit hash (the same hash `hash` writes in hex for the same bytes
// in a text column), or their first `length`.
class HashByteaTransform final : public Transform {
  public:
    HashByteaTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type), hash_(key.hasherFor("hash")) {
        length_ = spec.length_given ? static_cast<std::size_t>(spec.length) : 16;
        if (length_ > 16) {
            throw UsageError(
                "hash on a bytea column writes bytes: at most 16 (the whole 128-bit hash); give "
                "{hash: {length: N}} with N from 1 to 16, or just hash");
        }
    }

    void apply(copy::ByteSpan in, std::string& out, Scratch&) const override {
        if (in.empty()) {
            return;  // an empty bytea stays empty, as '' does in text
        }
        unsigned char bytes[16];
        storeBigEndian(hash_.hash128(in.data(), in.size()), bytes);
        out.append(reinterpret_cast<const char*>(bytes), length_);
    }

  private:
    KeyedHash hash_;
    std::size_t length_ = 16;
};

}  // namespace

std::unique_ptr<const Transform> makePhoneTransform(const TransformSpec& spec,
                                                    const ColumnType& type, const SaltKey& key) {
    return std::make_unique<PhoneTransform>(spec, type, key);
}

std::unique_ptr<const Transform> makeRegexTransform(const TransformSpec& spec,
                                                    const ColumnType& type) {
    return std::make_unique<RegexTransform>(spec, type);
}

std::unique_ptr<const Transform> makeLookupTransform(const TransformSpec& spec,
                                                     const ColumnType& type, const SaltKey& key) {
    return std::make_unique<LookupTransform>(spec, type, key);
}

std::unique_ptr<const Transform> makeHashByteaTransform(const TransformSpec& spec,
                                                        const ColumnType& type,
                                                        const SaltKey& key) {
    return std::make_unique<HashByteaTransform>(spec, type, key);
}

}  // namespace pgsluice::sanitize::detail
