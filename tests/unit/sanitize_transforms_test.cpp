// Unit tests of the transforms of issue 14: phone, uuid, ip, regex_replace, lookup, json paths,
// noise, set on numeric and hash on bytea. Like sanitize_test.cpp, binary forms are built here
// by hand (inet_send, uuid_send, numeric_send, float8send as PostgreSQL writes them), not with
// the code under test, except where a test checks a round trip of that code itself.

#include <gtest/gtest.h>
#include <re2/re2.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "big_endian.hpp"
#include "error_of.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/network.hpp"
#include "pgsluice/sanitize/numeric.hpp"
#include "pgsluice/sanitize/permutation.hpp"
#include "pgsluice/sanitize/phone.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/types.hpp"
#include "pgsluice/sanitize/validate.hpp"
#include "transform_fixtures.hpp"

namespace pgsluice::sanitize {
namespace {

using pgsluice::testing::be16;
using pgsluice::testing::be32;
using pgsluice::testing::be64;
using pgsluice::testing::make;
using pgsluice::testing::otherKey;
using pgsluice::testing::rulesText;
using pgsluice::testing::run;
using pgsluice::testing::specOf;
using pgsluice::testing::testKey;

// --- helpers ----------------------------------------------------------------------------------

using test::errorOf;
using test::formatError;
using test::usageError;

std::string rulesError(const std::string& yaml) {
    return usageError([&] { parseRules(rulesText(yaml), "rules.yaml"); });
}

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (const int b : list) {
        out += static_cast<char>(b);
    }
    return out;
}

std::uint32_t get32(std::string_view s, std::size_t at = 0) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        v = v << 8 | static_cast<unsigned char>(s[at + i]);
    }
    return v;
}

std::uint64_t get64(std::string_view s) {
    return std::uint64_t{get32(s)} << 32 | get32(s, 4);
}

std::uint16_t get16(std::string_view s, std::size_t at) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(s[at]) << 8 |
                                      static_cast<unsigned char>(s[at + 1]));
}

// numeric_send's form, written by hand: ndigits, weight, sign, dscale, base-10000 digits.
std::string numericBinary(int weight, std::uint16_t sign, int dscale,
                          std::initializer_list<int> digits) {
    std::string out = be16(static_cast<std::uint16_t>(digits.size())) +
                      be16(static_cast<std::uint16_t>(static_cast<std::int16_t>(weight))) +
                      be16(sign) + be16(static_cast<std::uint16_t>(dscale));
    for (const int d : digits) {
        out += be16(static_cast<std::uint16_t>(d));
    }
    return out;
}

// The value of numeric_send's form as a long double, and its dscale (reads the form by hand).
long double numericValue(std::string_view form, int* dscale = nullptr) {
    const int ndigits = get16(form, 0);
    const auto weight = static_cast<std::int16_t>(get16(form, 2));
    long double value = 0;
    for (int i = 0; i < ndigits; ++i) {
        value += get16(form, 8 + 2 * static_cast<std::size_t>(i)) *
                 std::pow(10000.0L, static_cast<long double>(weight - i));
    }
    if (dscale != nullptr) {
        *dscale = get16(form, 6);
    }
    return get16(form, 4) == numeric_negative ? -value : value;
}

std::string digitsOf(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            out += c;
        }
    }
    return out;
}

// Every non-digit character of TEXT, with digits as '#': the layout a phone number keeps.
std::string layoutOf(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= '0' && c <= '9') {
            c = '#';
        }
    }
    return out;
}

// A file in the test's temporary directory holding TEXT; its absolute path.
std::string writeTempFile(const std::string& name, const std::string& text) {
    const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                       ("pgsluice_transforms_" + std::to_string(::getpid())) / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
}

// --- golden values ----------------------------------------------------------------------------

TEST(SanitizeNewTransforms, GoldenValuesStayTheSameAcrossVersions) {
    // As SanitizeSalt.GoldenValuesOfEveryKeyedTransform: a change here would break joins
    // between data sanitised before and after an upgrade.
    EXPECT_EQ(run("phone", "text", "+61 400 000 001"), "+61 467 921 154");
    EXPECT_EQ(run("uuid", "text", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
              "4f6b8dac-f3be-486d-8bee-cafd78e58b2b");
    EXPECT_EQ(run("ip", "text", "192.168.1.10"), "76.47.92.6");
    EXPECT_EQ(run("ip", "text", "2001:db8::1"), "fce8:aa9a:ca42:b2e3:1b34:c25b:37e3:1df0");
    EXPECT_EQ(get32(run("{noise: {percent: 10}}", "integer", be32(123456))), 120397u);
}

// --- phone ------------------------------------------------------------------------------------

TEST(SanitizePhone, CallingCodesByLongestAssignedPrefix) {
    EXPECT_EQ(callingCodeLength("12125550100"), 1u);
    EXPECT_EQ(callingCodeLength("74951234567"), 1u);
    EXPECT_EQ(callingCodeLength("61400000001"), 2u);
    EXPECT_EQ(callingCodeLength("442079460958"), 2u);
    EXPECT_EQ(callingCodeLength("353871234567"), 3u);
    EXPECT_EQ(callingCodeLength("8801712345678"), 3u);
    EXPECT_EQ(callingCodeLength("999123"), 0u);  // unassigned
    EXPECT_EQ(callingCodeLength(""), 0u);
}

TEST(SanitizePhone, KeepsCountryCodeLengthAndPunctuation) {
    const std::string out = run("phone", "text", "+61 400 000 001");
    EXPECT_EQ(layoutOf(out), layoutOf("+61 400 000 001"));
    EXPECT_TRUE(out.starts_with("+61 4")) << out;  // country and mobile prefix kept
    EXPECT_NE(out, "+61 400 000 001");
    // The same number in another layout or with 00 gets the same digits.
    EXPECT_EQ(digitsOf(run("phone", "text", "+61400000001")), digitsOf(out));
    EXPECT_EQ(digitsOf(run("phone", "text", "0061 400 000 001")), "00" + digitsOf(out));
    EXPECT_EQ(run("phone", "character varying(20)", "+61 400 000 001"), out);
    // A trunk 0 keeps the digit after it: +44 (0)20 stays London.
    const std::string london = run("phone", "text", "+44 (0)20 7946 0958");
    EXPECT_TRUE(london.starts_with("+44 (0)2")) << london;
    EXPECT_EQ(layoutOf(london), layoutOf("+44 (0)20 7946 0958"));
    // National numbers keep their first digit, and the one after a trunk 0.
    const std::string national = run("phone", "text", "0412 345 678");
    EXPECT_TRUE(national.starts_with("04")) << national;
    EXPECT_EQ(layoutOf(national), "#### ### ###");
    // Unassigned code: three digits kept.
    EXPECT_TRUE(run("phone", "text", "+999 1234 5678").starts_with("+999 1")) << "+999";
}

TEST(SanitizePhone, DeterministicKeyedAndUnique) {
    EXPECT_EQ(run("phone", "text", "+33 6 12 34 56 78"),
              run("phone", "citext", "+33 6 12 34 56 78"));
    EXPECT_NE(run("phone", "text", "+33 6 12 34 56 78"),
              run("phone", "text", "+33 6 12 34 56 78", otherKey()));
    // A permutation of the digits after the kept prefix: 10^6 numbers of one prefix and layout
    // give 10^6 distinct numbers, of that prefix and layout again.
    const auto transform = make("phone", "text");
    Scratch scratch;
    std::string out;
    std::vector<std::string> outputs;
    outputs.reserve(1000000);
    for (int i = 0; i < 1000000; ++i) {
        const std::string in = "+61 4" + std::to_string(10000000 + i).substr(2);  // 8 digits
        out.clear();
        transform->apply(copy::asBytes(in), out, scratch);
        ASSERT_TRUE(out.starts_with("+61 4")) << out;
        ASSERT_EQ(out.size(), in.size());
        outputs.push_back(out);
    }
    std::sort(outputs.begin(), outputs.end());
    EXPECT_EQ(std::adjacent_find(outputs.begin(), outputs.end()), outputs.end());
}

TEST(SanitizePhone, NanpExchangeStartsWithTwoToNine) {
    const auto transform = make("phone", "text");
    std::set<std::string> outputs;
    for (int i = 0; i < 20000; ++i) {
        // Exchanges 200-999 are valid; 0xx and 1xx are not, and stay so (one-to-one).
        const int exchange = i % 1000;
        char in[32];
        std::snprintf(in, sizeof in, "+1 (212) %03d-%04d", exchange, i / 10);
        const std::string out = run(*transform, in);
        ASSERT_EQ(layoutOf(out), "+# (###) ###-####") << out;
        ASSERT_TRUE(out.starts_with("+1 (2")) << out;
        ASSERT_EQ(out[9] >= '2', exchange >= 200) << in << " -> " << out;
        outputs.insert(out);
    }
    EXPECT_EQ(outputs.size(), 20000u);
}

TEST(SanitizePhone, ValuesWithoutANumberPassThrough) {
    // Decided: a value with no digits ("n/a", "unknown") names nobody and stays as it is; so
    // does one with no digit past the kept prefix. NULL stays NULL (the rewriter's job).
    EXPECT_EQ(run("phone", "text", "n/a"), "n/a");
    EXPECT_EQ(run("phone", "text", ""), "");
    EXPECT_EQ(run("phone", "text", "+61 4"), "+61 4");
    const std::string text = run("phone", "text", "Tél. +33 6 12 34 56 78 (soir)");
    EXPECT_TRUE(text.starts_with("Tél. +33 6 ")) << text;
    EXPECT_TRUE(text.ends_with(" (soir)")) << text;
    EXPECT_EQ(run("phone", "character(20)", "+61 400 000 001     "),
              run("phone", "text", "+61 400 000 001") + "     ");
}

TEST(SanitizePhone, TypesAndRules) {
    EXPECT_EQ(usageError([] { make("phone", "integer"); }),
              "phone cannot rewrite a column of type integer; it accepts text, character "
              "varying, character, name, citext");
    EXPECT_EQ(rulesError("{phone: 3}"),
              "rules.yaml:5: column \"c\": phone takes no options; write just phone");
    EXPECT_EQ(specOf("phone").canonical(), "phone");
    EXPECT_TRUE(traitsOf(specOf("phone")).keeps_uniqueness);
}

// --- uuid -------------------------------------------------------------------------------------

const std::string v4_uuid = bytes({0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b,
                                   0xb9, 0xbd, 0x38, 0x0a, 0x11});

TEST(SanitizeUuid, BinaryKeepsVersionAndVariant) {
    const std::string out = run("uuid", "uuid", v4_uuid);
    ASSERT_EQ(out.size(), 16u);
    EXPECT_NE(out, v4_uuid);
    EXPECT_EQ(static_cast<unsigned char>(out[6]) >> 4, 4u);  // version 4
    EXPECT_EQ(static_cast<unsigned char>(out[8]) >> 6, 2u);  // RFC 4122 variant
    EXPECT_EQ(run("uuid", "uuid", v4_uuid), out);
    EXPECT_NE(run("uuid", "uuid", v4_uuid, otherKey()), out);
    const std::string nil(16, '\0');
    const std::string max(16, '\xff');
    EXPECT_EQ(run("uuid", "uuid", nil), nil);
    EXPECT_EQ(run("uuid", "uuid", max), max);
    EXPECT_EQ(formatError([] { run("uuid", "uuid", std::string(15, 'x')); }),
              "a uuid field has 15 bytes; its binary form has 16");
}

TEST(SanitizeUuid, UniqueOnManyRandomAndSequentialUuids) {
    const auto transform = make("uuid", "uuid");
    std::mt19937_64 random(7);
    std::set<std::string> outputs;
    constexpr int count = 100000;
    for (int i = 0; i < count; ++i) {
        std::string in = be64(random()) + be64(random());
        if (i % 2 == 0) {
            in = std::string(12, '\0') + be32(static_cast<std::uint32_t>(i));  // sequential
        }
        outputs.insert(run(*transform, in));
    }
    EXPECT_EQ(outputs.size(), static_cast<std::size_t>(count));
}

TEST(SanitizeUuid, PermutationIsABijectionAtEveryWidth) {
    const BitPermutation permutation(testKey().hasherFor("test"));
    for (const int width : {1, 2, 3, 8, 13}) {
        std::set<uint128> images;
        for (uint128 v = 0; v < (uint128{1} << width); ++v) {
            const uint128 image = permutation.permute(v, width, 5);
            ASSERT_LT(image, uint128{1} << width);
            images.insert(image);
        }
        EXPECT_EQ(images.size(), std::size_t{1} << width) << width;
    }
    std::mt19937_64 random(3);
    for (const int width : {32, 64, 65, 122, 128}) {
        for (int i = 0; i < 1000; ++i) {
            const uint128 v = (uint128{random()} << 64 | random()) & lowBits(width);
            const uint128 image = permutation.permute(v, width, 1);
            ASSERT_EQ(image & lowBits(width), image);
            ASSERT_EQ(permutation.invert(image, width, 1), v) << width;
        }
    }
}

TEST(SanitizeUuid, TextKeepsLayoutCaseAndMatchesTheUuidColumn) {
    const std::string out = run("uuid", "text", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    EXPECT_TRUE(std::regex_match(
        out, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
        << out;
    // The same uuid in a uuid column and in a text column maps alike, so joins still match.
    const std::string binary = run("uuid", "uuid", v4_uuid);
    std::string hex;
    for (const char c : binary) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += digits[static_cast<unsigned char>(c) >> 4];
        hex += digits[static_cast<unsigned char>(c) & 15];
    }
    EXPECT_EQ(digitsOf(out).size() + 0, digitsOf(out).size());
    std::string plain = out;
    plain.erase(std::remove(plain.begin(), plain.end(), '-'), plain.end());
    EXPECT_EQ(plain, hex);
    const std::string upper = run("uuid", "text", "{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}");
    EXPECT_TRUE(std::regex_match(
        upper, std::regex("\\{[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}\\}")))
        << upper;
    std::string upper_plain = upper.substr(1, upper.size() - 2);
    upper_plain.erase(std::remove(upper_plain.begin(), upper_plain.end(), '-'), upper_plain.end());
    std::transform(upper_plain.begin(), upper_plain.end(), upper_plain.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    EXPECT_EQ(upper_plain, hex);
    EXPECT_EQ(run("uuid", "text", ""), "");
}

TEST(SanitizeUuid, TextThatIsNoUuidIsAFormatErrorWithoutTheValue) {
    for (const std::string bad :
         {"n/a", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
          "{a0eebc999c0b4ef8bb6d6bb9bd380a11", "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
          "a0eebc99--9c0b4ef8bb6d6bb9bd380a11"}) {
        const std::string message = formatError([&] { run("uuid", "text", bad); });
        EXPECT_EQ(message,
                  "a value is not a uuid (32 hex digits, optionally in braces, with hyphens after "
                  "groups of four); clean the column or rule it with another transform")
            << bad;
    }
}

TEST(SanitizeUuid, TypesAndTraits) {
    EXPECT_EQ(usageError([] { make("uuid", "bigint"); }),
              "uuid cannot rewrite a column of type bigint; it accepts text, character varying, "
              "character, name, citext, uuid");
    EXPECT_TRUE(traitsOf(specOf("uuid")).keeps_uniqueness);
    EXPECT_TRUE(traitsOf(specOf("uuid")).needs_salt);
}

// --- ip ---------------------------------------------------------------------------------------

// inet_send's form: family, bits, is_cidr, address length, address.
std::string inetBinary(bool v6, int bits, bool is_cidr, const std::string& address) {
    return bytes({v6 ? 3 : 2, bits, is_cidr ? 1 : 0, static_cast<int>(address.size())}) + address;
}

TEST(SanitizeIp, InetKeepsFamilyMaskAndPrefix) {
    const std::string in = inetBinary(false, 32, false, bytes({192, 168, 1, 10}));
    const std::string out = run("ip", "inet", in);
    ASSERT_EQ(out.size(), 8u);
    EXPECT_EQ(out.substr(0, 4), in.substr(0, 4));
    EXPECT_NE(out, in);
    EXPECT_EQ(run("ip", "inet", in), out);
    EXPECT_NE(run("ip", "inet", in, otherKey()), out);
    const std::string kept = run("{ip: {keep_prefix: 16}}", "inet", in);
    EXPECT_EQ(kept.substr(0, 6), in.substr(0, 6));
    EXPECT_NE(kept, in);
    const std::string v6 =
        inetBinary(true, 128, false,
                   bytes({0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
    const std::string v6_out = run("{ip: {keep_prefix: 8, keep_prefix_v6: 64}}", "inet", v6);
    ASSERT_EQ(v6_out.size(), 20u);
    EXPECT_EQ(v6_out.substr(0, 12), v6.substr(0, 12));  // header and the /64 network
    EXPECT_NE(v6_out, v6);
}

TEST(SanitizeIp, UniqueWithinAFamily) {
    // keep_prefix 16 on every address of 10.7.0.0/16: a permutation of that network.
    const auto transform = make("{ip: {keep_prefix: 16}}", "inet");
    std::set<std::string> outputs;
    for (int i = 0; i < 65536; ++i) {
        const std::string out =
            run(*transform, inetBinary(false, 32, false, bytes({10, 7, i >> 8, i & 0xFF})));
        ASSERT_EQ(out.substr(0, 6), bytes({2, 32, 0, 4, 10, 7}));
        outputs.insert(out);
    }
    EXPECT_EQ(outputs.size(), 65536u);
    const auto all = make("ip", "inet");
    std::set<std::string> v6;
    std::mt19937_64 random(11);
    for (int i = 0; i < 50000; ++i) {
        v6.insert(run(*all, inetBinary(true, 128, false, be64(random()) + be64(i))));
    }
    EXPECT_EQ(v6.size(), 50000u);
}

TEST(SanitizeIp, NetworksStayNetworksAndHostsStayHosts) {
    const auto cidr = make("ip", "cidr");
    const auto inet = make("ip", "inet");
    for (int i = 1; i < 256; ++i) {
        const std::string network = run(*cidr, inetBinary(false, 16, true, bytes({10, i, 0, 0})));
        ASSERT_EQ(network[1], 16);
        ASSERT_EQ(network.substr(6, 2), std::string(2, '\0')) << i;  // host bits zero
        // A host address with a mask (inet 10.i.0.1/16) never loses its host part.
        const std::string host = run(*inet, inetBinary(false, 16, false, bytes({10, i, 0, 1})));
        ASSERT_NE(host.substr(6, 2), std::string(2, '\0')) << i;
    }
    EXPECT_EQ(formatError([&] {
                  run(*cidr, inetBinary(false, 16, true, bytes({10, 1, 0, 1})));
              }),
              "a cidr field has bits set right of its /16 mask");
    EXPECT_NE(formatError([&] {
                  run(*inet, bytes({9, 32, 0, 4, 1, 2, 3, 4}));
              }).find("has family 9"),
              std::string::npos);
    EXPECT_EQ(formatError([&] {
                  run(*inet, bytes({2, 32}));
              }),
              "a inet field has 2 bytes; its binary form has 8 or 20");
    EXPECT_NE(formatError([&] {
                  run(*inet, bytes({2, 33, 0, 4, 1, 2, 3, 4}));
              }).find("33 mask"),
              std::string::npos);
}

TEST(SanitizeIp, TextMatchesTheInetColumn) {
    const std::string text = run("ip", "text", "192.168.1.10");
    const std::string binary =
        run("ip", "inet", inetBinary(false, 32, false, bytes({192, 168, 1, 10})));
    IpAddress parsed;
    ASSERT_TRUE(parseIpAddress(text, parsed)) << text;
    EXPECT_FALSE(parsed.v6);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(parsed.bytes), 4), binary.substr(4));
    const std::string network = run("ip", "text", "10.1.0.0/16");
    ASSERT_TRUE(parseIpAddress(network, parsed)) << network;
    EXPECT_EQ(parsed.bits, 16);
    EXPECT_EQ(parsed.bytes[2], 0);
    EXPECT_EQ(parsed.bytes[3], 0);
    const std::string v6 = run("{ip: {keep_prefix_v6: 32}}", "text", "2001:DB8::1");
    EXPECT_TRUE(v6.starts_with("2001:db8:")) << v6;
    ASSERT_TRUE(parseIpAddress(v6, parsed));
    EXPECT_TRUE(parsed.v6);
    EXPECT_EQ(run("ip", "text", ""), "");
    EXPECT_EQ(formatError([] { run("ip", "text", "n/a"); }),
              "a value is not an IPv4 or IPv6 address (with an optional /mask); clean the column "
              "or rule it with another transform");
    EXPECT_EQ(usageError([] { make("ip", "character varying(10)"); }),
              "ip writes 15 characters but the column is character varying(10); widen the column "
              "(15 characters hold every IPv4 address, 39 every IPv6 one, plus the /mask)");
}

TEST(SanitizeIp, ParsesAndPrintsAddresses) {
    auto canonical = [](std::string_view text) {
        IpAddress address;
        if (!parseIpAddress(text, address)) {
            return std::string("invalid");
        }
        std::string out;
        appendIpAddress(address, out);
        return out;
    };
    EXPECT_EQ(canonical("1.2.3.4"), "1.2.3.4");
    EXPECT_EQ(canonical("010.0.0.1/8"), "10.0.0.1/8");
    EXPECT_EQ(canonical("2001:0DB8:0:0:0:0:0:1"), "2001:db8::1");
    EXPECT_EQ(canonical("1:0:0:1:0:0:0:1"), "1:0:0:1::1");
    EXPECT_EQ(canonical("::"), "::");
    EXPECT_EQ(canonical("::1"), "::1");
    EXPECT_EQ(canonical("1::"), "1::");
    EXPECT_EQ(canonical("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
    EXPECT_EQ(canonical("1:2:3:4:5:6:7:8/64"), "1:2:3:4:5:6:7:8/64");
    for (const char* bad :
         {"1.2.3", "1.2.3.256", "1.2.3.4.5", "1.2.3.4/33", "1.2.3.4/", ":::", "1::2::3",
          "1:2:3:4:5:6:7:8:9", "12345::", "1:2", "::g", "1.2.3.4/+8", ":1::", "1:"}) {
        EXPECT_EQ(canonical(bad), "invalid") << bad;
    }
}

TEST(SanitizeIp, RulesOptions) {
    EXPECT_EQ(specOf("{ip: {keep_prefix: 16}}").keep_prefix, 16);
    EXPECT_EQ(specOf("{ip: {keep_prefix: 8, keep_prefix_v6: 48}}").canonical(),
              "{ip: {keep_prefix: 8, keep_prefix_v6: 48}}");
    EXPECT_EQ(rulesError("{ip: {keep_prefix: 33}}"),
              "rules.yaml:5: column \"c\": ip keep_prefix (leading address bits kept) must be a "
              "whole number from 0 to 32");
    EXPECT_NE(rulesError("{ip: {prefix: 3}}").find("unknown ip option \"prefix\""),
              std::string::npos);
    EXPECT_TRUE(traitsOf(specOf("ip"), classifyType("inet")).keeps_uniqueness);
}

// --- regex_replace ----------------------------------------------------------------------------

TEST(SanitizeRegex, ReplacesEveryMatchWithGroups) {
    EXPECT_EQ(run("{regex_replace: {pattern: '[0-9]', replacement: '#'}}", "text", "a1b22"),
              "a#b##");
    EXPECT_EQ(run(R"({regex_replace: {pattern: '([a-z]+)@([a-z.]+)', replacement: 'x@\2'}})",
                  "text", "mail bob@example.org or eve@test.net"),
              "mail x@example.org or x@test.net");
    EXPECT_EQ(run(R"({regex_replace: {pattern: '(\d{3})-(\d{4})', replacement: '\2-\1 (\0)'}})",
                  "text", "call 555-0100"),
              "call 0100-555 (555-0100)");
    EXPECT_EQ(run("{regex_replace: {pattern: 'x', replacement: 'y'}}", "text", "abc"), "abc");
    EXPECT_EQ(run("{regex_replace: {pattern: 'x', replacement: 'y'}}", "text", ""), "");
    EXPECT_EQ(run("{regex_replace: {pattern: 'secret', replacement: ''}}", "text", "a secret b"),
              "a  b");
}

TEST(SanitizeRegex, AgreesWithRe2GlobalReplace) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"x*", "-"},     {"a|", "<\\0>"}, {"(b*)", "[\\1]"}, {"\\b", "|"},      {"é", "e"},
        {"[0-9]+", "N"}, {"^", ">"},      {"$", "<"},        {"(?i)ABC", "abc"}};
    const std::vector<std::string> inputs = {"",       "abc",       "aaa",   "bab b",
                                             "café é", "a1b22c333", "ABCabc"};
    for (const auto& [pattern, replacement] : cases) {
        const auto transform = make(
            "{regex_replace: {pattern: '" + pattern + "', replacement: '" + replacement + "'}}",
            "text");
        for (const std::string& input : inputs) {
            std::string expected = input;
            RE2::GlobalReplace(&expected, RE2(pattern), replacement);
            if (input.empty()) {
                expected = "";  // '' stays '' (documented)
            }
            EXPECT_EQ(run(*transform, input), expected) << pattern << " on " << input;
        }
    }
}

TEST(SanitizeRegex, BadPatternsAndReplacementsAreRulesErrorsWithTheLine) {
    EXPECT_EQ(rulesError("{regex_replace: {pattern: '(', replacement: x}}"),
              "rules.yaml:5: column \"c\": regex_replace pattern \"(\" does not compile: missing "
              "): ( (RE2 syntax: github.com/google/re2/wiki/Syntax)");
    EXPECT_EQ(rulesError(R"({regex_replace: {pattern: '(a)', replacement: '\2'}})"),
              "rules.yaml:5: column \"c\": regex_replace replacement \"\\2\": Rewrite schema "
              "requests 2 matches, but the regexp only has 1 parenthesized subexpressions; groups "
              "are written \\1 to \\9 (\\0 is the whole match, \\\\ a backslash)");
    EXPECT_NE(rulesError("{regex_replace: {pattern: a}}").find("needs a non-empty pattern"),
              std::string::npos);
    EXPECT_NE(rulesError("{regex_replace: {pattern: '', replacement: b}}")
                  .find("needs a non-empty pattern"),
              std::string::npos);
    EXPECT_NE(rulesError("{regex_replace: {patern: a, replacement: b}}")
                  .find("unknown regex_replace option \"patern\""),
              std::string::npos);
    EXPECT_EQ(rulesError("regex_replace"),
              "rules.yaml:5: column \"c\": regex_replace needs an option; write it as "
              "{regex_replace: {pattern: \"[0-9]\", replacement: \"#\"}}");
    // And a rules error is exit 2 before anything is touched: UsageError.
}

TEST(SanitizeRegex, OutputIsCutToTheColumnAndPaddedForCharacter) {
    EXPECT_EQ(
        run("{regex_replace: {pattern: 'a', replacement: 'ééé'}}", "character varying(5)", "abc"),
        "ééébc");
    EXPECT_EQ(
        run("{regex_replace: {pattern: 'a', replacement: 'ééé'}}", "character varying(4)", "abc"),
        "éééb");
    EXPECT_EQ(run("{regex_replace: {pattern: 'b', replacement: ''}}", "character(4)", "abc "),
              "ac  ");
    EXPECT_FALSE(traitsOf(specOf("{regex_replace: {pattern: a, replacement: b}}")).needs_salt);
    EXPECT_EQ(usageError([] { make("{regex_replace: {pattern: a, replacement: b}}", "jsonb"); }),
              "regex_replace cannot rewrite a column of type jsonb; it accepts text, character "
              "varying, character, name, citext");
}

// --- lookup -----------------------------------------------------------------------------------

TEST(SanitizeLookup, DeterministicKeyedPickFromTheList) {
    const std::string file =
        writeTempFile("cities.txt", "# cities\nParis\n\n  Lyon  \nNice\nLille\n");
    const std::string rule = "{lookup: " + file + "}";
    const TransformSpec spec = specOf(rule);
    EXPECT_EQ(spec.lookup_values, (std::vector<std::string>{"Paris", "Lyon", "Nice", "Lille"}));
    EXPECT_EQ(specOf("{lookup: {file: " + file + "}}").lookup_values, spec.lookup_values);
    const auto transform = make(rule, "text");
    std::set<std::string> picked;
    int moved_by_salt = 0;
    const auto other = make(rule, "text", otherKey());
    for (int i = 0; i < 200; ++i) {
        const std::string in = "Town " + std::to_string(i);
        const std::string out = run(*transform, in);
        ASSERT_NE(std::find(spec.lookup_values.begin(), spec.lookup_values.end(), out),
                  spec.lookup_values.end())
            << out;
        ASSERT_EQ(run(*make(rule, "citext"), in), out);
        picked.insert(out);
        moved_by_salt += run(*other, in) != out;
    }
    EXPECT_EQ(picked.size(), 4u);
    EXPECT_GT(moved_by_salt, 100);
    EXPECT_EQ(run(*transform, ""), "");
    EXPECT_EQ(run(rule, "character(8)", "Paris   ").size(), 8u);
    EXPECT_NE(spec.lookup_digest,
              specOf("{lookup: " + writeTempFile("b.txt", "Paris\n") + "}").lookup_digest);
}

TEST(SanitizeLookup, MissingEmptyAndUnfitListsAreRefused) {
    const std::string missing = writeTempFile("x", "") + ".does-not-exist";
    EXPECT_EQ(rulesError("{lookup: " + missing + "}"),
              "rules.yaml:5: column \"c\": cannot read the lookup list " + missing +
                  ": No such file or directory; the path is relative to the rules file's "
                  "directory");
    const std::string empty = writeTempFile("empty.txt", "# only a comment\n\n   \n");
    EXPECT_EQ(rulesError("{lookup: " + empty + "}"),
              "rules.yaml:5: column \"c\": the lookup list " + empty +
                  " has no values (empty lines and # comments are skipped); put one value per "
                  "line in it");
    const std::string latin1 = writeTempFile("latin1.txt", "Paris\nN\xEEmes\n");
    EXPECT_EQ(rulesError("{lookup: " + latin1 + "}"),
              "rules.yaml:5: column \"c\": line 2 of the lookup list " + latin1 +
                  " is not valid UTF-8; save the list as UTF-8 text");
    EXPECT_NE(rulesError("lookup").find("lookup needs an option"), std::string::npos);
    const std::string long_names = writeTempFile("long.txt", "Paris\nSaint-Rémy-de-Provence\n");
    EXPECT_EQ(usageError([&] { make("{lookup: " + long_names + "}", "character varying(10)"); }),
              "lookup writes 22 characters but the column is character varying(10); shorten the "
              "values of " +
                  long_names +
                  " or widen the column (the longest is "
                  "\"Saint-Rémy-de-Provence\")");
    EXPECT_FALSE(traitsOf(specOf("{lookup: " + long_names + "}")).keeps_uniqueness);
}

// --- json paths -------------------------------------------------------------------------------

std::string emailOf(std::string_view address) {
    return run("email", "text", address);
}

TEST(SanitizeJsonPaths, EmailInsideJsonEqualsTheColumnsFake) {
    const std::string doc =
        R"({"a": {"email": "bob@example.org", "n": 1}, "b": "bob@example.org"})";
    const std::string expected = R"({"a": {"email": ")" + emailOf("bob@example.org") +
                                 R"(", "n": 1}, "b": "bob@example.org"})";
    EXPECT_EQ(run(R"({json: {"a.email": email}})", "json", doc), expected);
    EXPECT_EQ(run(R"({json: {"a.email": email}})", "jsonb", "\x01" + doc), "\x01" + expected);
    // JSONPath's "$." prefix names the same path.
    EXPECT_EQ(run(R"({json: {"$.a.email": email}})", "json", doc), expected);
    // Escapes are decoded first: bob\u0040example.org is bob@example.org.
    EXPECT_EQ(run(R"({json: {"e": email}})", "json", R"({"e": "bob\u0040example.org"})"),
              R"({"e": ")" + emailOf("bob@example.org") + R"("})");
    // Non-string values stay; a missing path changes nothing.
    EXPECT_EQ(run(R"({json: {"e": email}})", "json", R"({"e": 12, "f": "x"})"),
              R"({"e": 12, "f": "x"})");
    EXPECT_EQ(run(R"({json: {"a.b.c": email}})", "json", R"({"a": "scalar"})"),
              R"({"a": "scalar"})");
    EXPECT_EQ(run(R"({json: {"a": email}})", "json", R"("top-level string")"),
              R"("top-level string")");
}

TEST(SanitizeJsonPaths, StarReachesArrayElementsAndObjectMembers) {
    const std::string doc =
        R"({"events": [{"email": "a@x.org"}, {"email": "b@x.org", "k": 2}, 7], )"
        R"("phones": {"home": "+61 400 000 001", "work": "+61 400 000 002"}})";
    const std::string out =
        run(R"({json: {"events.*.email": email, "phones.*": phone}})", "jsonb", "\x01" + doc);
    const std::string expected =
        "\x01"
        R"({"events": [{"email": ")" +
        emailOf("a@x.org") + R"("}, {"email": ")" + emailOf("b@x.org") +
        R"(", "k": 2}, 7], "phones": {"home": ")" + run("phone", "text", "+61 400 000 001") +
        R"(", "work": ")" + run("phone", "text", "+61 400 000 002") + R"("}})";
    EXPECT_EQ(out, expected);
    // A root array, and `*` next to a literal key at the same level.
    EXPECT_EQ(run(R"({json: {"*.email": email}})", "json", R"([{"email": "a@x.org"}])"),
              R"([{"email": ")" + emailOf("a@x.org") + R"("}])");
    EXPECT_EQ(
        run(R"({json: {"*.e": email, "x.f": email}})", "json",
            R"({"x": {"e": "a@x.org", "f": "b@x.org"}})"),
        R"({"x": {"e": ")" + emailOf("a@x.org") + R"(", "f": ")" + emailOf("b@x.org") + R"("}})");
}

TEST(SanitizeJsonPaths, NullNoiseDigitsAndCombinedEdits) {
    EXPECT_EQ(run(R"({json: {"ssn": null}})", "json", R"({"ssn": "123", "x": 1})"),
              R"({"ssn": null, "x": 1})");
    const std::string noisy = run(R"({json: {"price": {noise: {percent: 10}}}})", "json",
                                  R"({"price": 100.50, "name": "x"})");
    const double price = std::stod(noisy.substr(10));
    EXPECT_GE(price, 90.45);
    EXPECT_LE(price, 110.55);
    EXPECT_TRUE(
        std::regex_match(noisy, std::regex(R"(\{"price": [0-9]+\.[0-9]{2}, "name": "x"\})")))
        << noisy;
    EXPECT_EQ(run(R"({json: {"p": {noise: {percent: 10}}}})", "json", R"({"p": "100"})"),
              R"({"p": "100"})");  // noise touches numbers only
    // digits on a number keeps a number unless it gains a leading zero.
    const std::string digits = run(R"({json: {"n": digits}})", "json", R"({"n": 4155550100})");
    EXPECT_TRUE(std::regex_match(digits, std::regex(R"(\{"n": ([1-9][0-9]{9}|"[0-9]{10}")\})")))
        << digits;
    EXPECT_EQ(run(R"({json: {"a": email}, json_remove: [b]})", "json",
                  R"({"a": "x@y.z", "b": 1, "c": 2})"),
              R"({"a": ")" + emailOf("x@y.z") + R"(", "c": 2})");
}

TEST(SanitizeJsonPaths, LayoutEscapesAndUnchangedStrings) {
    // Whitespace around keys and values stays; the output is escaped as JSON needs.
    EXPECT_EQ(run(R"({json: {"a": email}})", "json", "{ \"a\" :\n \"x@y.z\" }"),
              "{ \"a\" :\n \"" + emailOf("x@y.z") + "\" }");
    EXPECT_EQ(run(R"({json: {"a": {regex_replace: {pattern: 'b', replacement: '"\\'}}}})", "json",
                  R"({"a": "abc"})"),
              R"({"a": "a\"\\c"})");
    // A string the inner transform leaves as it is keeps its own spelling, escapes included
    // (an unpaired surrogate escape, legal in json, is not turned into invalid UTF-8).
    EXPECT_EQ(run(R"({json: {"a": phone}})", "json", R"({"a": "n\/a \ud83d"})"),
              R"({"a": "n\/a \ud83d"})");
    EXPECT_EQ(run(R"({json: {"a": {regex_replace: {pattern: n, replacement: N}}}})", "json",
                  R"({"a": "n \ud83d"})"),
              "{\"a\": \"N \xEF\xBF\xBD\"}");  // U+FFFD, valid UTF-8
    // Arrays of arrays: `*.*` reaches the inner elements, `*` alone stops at the inner arrays.
    EXPECT_EQ(run(R"({json: {"*.*": email}})", "json", R"([["x@y.z"], "x@y.z"])"),
              R"([[")" + emailOf("x@y.z") + R"("], "x@y.z"])");
    EXPECT_EQ(run(R"({json: {"*": email}})", "json", R"([["x@y.z"], {"e": "x@y.z"}])"),
              R"([["x@y.z"], {"e": "x@y.z"}])");
}

TEST(SanitizeJsonPaths, RulesChecks) {
    EXPECT_EQ(rulesError(R"({json: {"a": {shift_date: 3}}})"),
              "rules.yaml:5: column \"c\": json path \"a\": shift_date cannot rewrite values "
              "inside JSON; there a transform sees a string's text (or a number's) as a text "
              "value: use a text transform, noise (numbers) or null");
    EXPECT_EQ(rulesError(R"({json: {"a*b": email}})"),
              "rules.yaml:5: column \"c\": JSON path \"a*b\": * stands alone for every element "
              "or key of a level (events.*.email); it cannot be part of a key");
    EXPECT_EQ(rulesError(R"({json: {"a": email, "a.b": email}})"),
              "rules.yaml:5: column \"c\": JSON paths \"a\" and \"a.b\" overlap; keep one of them");
    EXPECT_EQ(rulesError(R"({json: {"*.b": email, "a.b": hash}})"),
              "rules.yaml:5: column \"c\": JSON paths \"*.b\" and \"a.b\" overlap; keep one of "
              "them");
    EXPECT_NE(rulesError(R"({json: {"a..b": email}})").find("is not a dotted list of keys"),
              std::string::npos);
    EXPECT_NE(rulesError(R"({json: {"$": email}})").find("is not a dotted list of keys"),
              std::string::npos);
    EXPECT_EQ(specOf(R"({json: {"$.a.email": email}})").json_paths.at(0).path, "a.email");
    EXPECT_TRUE(specOf(R"({json: {"a": email}})").needsSalt());
    EXPECT_FALSE(specOf(R"({json: {"a": null}})").needsSalt());
    EXPECT_EQ(usageError([] { make(R"({json: {"a": email}})", "text"); }),
              "json cannot rewrite a column of type text; it accepts json, jsonb");
    EXPECT_NE(formatError([] {
                  run(R"({json: {"a": email}})", "json", R"({"a": )");
              }).find("malformed JSON"),
              std::string::npos);
}

// --- noise ------------------------------------------------------------------------------------

TEST(SanitizeNoise, IntegersWithinThePercentAndClamped) {
    const auto int4 = make("{noise: {percent: 10}}", "integer");
    int changed = 0;
    for (std::int32_t v = -5000; v <= 5000; v += 7) {
        const auto out =
            static_cast<std::int32_t>(get32(run(*int4, be32(static_cast<std::uint32_t>(v)))));
        ASSERT_LE(std::abs(out - v), std::abs(v) / 10 + 1) << v;
        ASSERT_EQ(out < 0, v < 0) << v;
        changed += out != v;
    }
    EXPECT_GT(changed, 1000);
    EXPECT_EQ(get32(run(*int4, be32(0))), 0u);
    EXPECT_EQ(run(*int4, be32(1234)), run("{noise: {percent: 10}}", "integer", be32(1234)));
    EXPECT_NE(run(*int4, be32(123456)),
              run("{noise: {percent: 10}}", "integer", be32(123456), otherKey()));
    const auto int2 = make("{noise: {percent: 100}}", "smallint");
    for (int v = 32000; v <= 32767; ++v) {
        const std::string out = run(*int2, be16(static_cast<std::uint16_t>(v)));
        ASSERT_EQ(out.size(), 2u);
        ASSERT_GE(static_cast<std::int16_t>(get16(out, 0)), 0) << v;  // clamped, not wrapped
    }
    const std::string big = run("{noise: {percent: 50}}", "bigint", be64(INT64_MAX));
    EXPECT_LE(get64(big), static_cast<std::uint64_t>(INT64_MAX));
    EXPECT_EQ(formatError([] { run("{noise: {percent: 10}}", "integer", "abc"); }),
              "a integer field has 3 bytes; its binary form has 4");
}

TEST(SanitizeNoise, NumericKeepsScaleAndStaysInRange) {
    const auto transform = make("{noise: {percent: 10}}", "numeric(12,2)");
    // 1234.50: weight 0, digits 1234 5000, dscale 2.
    const std::string in = numericBinary(0, numeric_positive, 2, {1234, 5000});
    int dscale = -1;
    const std::string out = run(*transform, in);
    const long double value = numericValue(out, &dscale);
    EXPECT_EQ(dscale, 2);
    EXPECT_GE(value, 1234.50L * 0.9L - 0.005L);
    EXPECT_LE(value, 1234.50L * 1.1L + 0.005L);
    EXPECT_NE(out, in);
    EXPECT_EQ(run(*transform, in), out);
    // Negative, small, NaN, zero with its scale.
    const std::string negative = run(*transform, numericBinary(0, numeric_negative, 2, {12, 3400}));
    EXPECT_LT(numericValue(negative), 0);
    const std::string nan = numericBinary(0, numeric_nan, 0, {});
    EXPECT_EQ(run(*transform, nan), nan);
    const std::string zero = numericBinary(0, numeric_positive, 2, {});
    EXPECT_EQ(run(*transform, zero), zero);
    // numeric(5,2) holds at most 999.99: noise never goes past it.
    const auto narrow = make("{noise: {percent: 100}}", "numeric(5,2)");
    for (int cents = 99000; cents <= 99999; cents += 3) {
        const std::string v =
            numericBinary(0, numeric_positive, 2, {cents / 100, cents % 100 * 100});
        ASSERT_LE(numericValue(run(*narrow, v)), 999.99L + 1e-9L) << cents;
    }
    EXPECT_NE(formatError([] {
                  run("{noise: {percent: 10}}", "numeric", std::string(7, '\0'));
              }).find("a numeric field has 7 bytes"),
              std::string::npos);
}

TEST(SanitizeNoise, FloatsWithinThePercent) {
    const auto float8 = make("{noise: {percent: 5}}", "double precision");
    const auto float4 = make("{noise: {percent: 5}}", "real");
    for (double v = -1000.25; v < 1000; v += 13.37) {
        const double out =
            std::bit_cast<double>(get64(run(*float8, be64(std::bit_cast<std::uint64_t>(v)))));
        ASSERT_LE(std::abs(out - v), std::abs(v) * 0.05 * (1 + 1e-12)) << v;
        const auto f = static_cast<float>(v);
        const float out4 =
            std::bit_cast<float>(get32(run(*float4, be32(std::bit_cast<std::uint32_t>(f)))));
        ASSERT_LE(std::abs(out4 - f), std::abs(f) * 0.0501f) << v;
    }
    for (const double special :
         {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 0.0}) {
        const std::string in = be64(std::bit_cast<std::uint64_t>(special));
        EXPECT_EQ(run(*float8, in), in);
    }
    const std::string huge =
        run(*float8, be64(std::bit_cast<std::uint64_t>(std::numeric_limits<double>::max())));
    EXPECT_TRUE(std::isfinite(std::bit_cast<double>(get64(huge))));
}

TEST(SanitizeNoise, NumericBinaryRoundTrips) {
    // decodeNumeric + appendNumeric give back numeric_send's exact bytes.
    for (const std::string& form :
         {numericBinary(0, numeric_positive, 2, {1234, 5000}),
          numericBinary(-1, numeric_positive, 2, {500}), numericBinary(1, numeric_negative, 0, {1}),
          numericBinary(2, numeric_positive, 6, {12, 3456, 7890, 1200}),
          numericBinary(-2, numeric_positive, 8, {12}), numericBinary(0, numeric_positive, 0, {7}),
          numericBinary(0, numeric_plus_infinity, 0, {}),
          numericBinary(0, numeric_positive, 3, {})}) {
        Decimal value;
        decodeNumeric(copy::asBytes(form), value);
        std::string out;
        appendNumeric(value, out);
        EXPECT_EQ(out, form);
    }
    Decimal value;
    ASSERT_TRUE(parseDecimal("-0012.50", value));
    std::string text;
    appendDecimalText(value, text);
    EXPECT_EQ(text, "-12.50");
    ASSERT_TRUE(parseDecimal("1.5e3", value));
    text.clear();
    appendDecimalText(value, text);
    EXPECT_EQ(text, "1500");
    std::string digits = "1000";
    std::string work;
    scaleMagnitude(digits, 5000000, true, work);  // +5%
    EXPECT_EQ(digits, "1050");
    scaleMagnitude(digits, 100000000, false, work);  // -100%
    EXPECT_EQ(digits, "");
}

TEST(SanitizeNoise, TypesAndRules) {
    EXPECT_EQ(usageError([] { make("{noise: {percent: 10}}", "text"); }),
              "noise cannot rewrite a column of type text; it accepts smallint, integer, bigint, "
              "numeric, real, double precision");
    EXPECT_EQ(rulesError("{noise: {percent: 0}}"),
              "rules.yaml:5: column \"c\": noise percent (largest change) must be a whole number "
              "from 1 to 100");
    EXPECT_EQ(rulesError("noise"),
              "rules.yaml:5: column \"c\": noise needs an option; write it as {noise: {percent: "
              "10}}");
    EXPECT_EQ(specOf("{noise: {percent: 10}}").canonical(), "{noise: {percent: 10}}");
    EXPECT_FALSE(traitsOf(specOf("{noise: {percent: 10}}")).keeps_uniqueness);
}

// --- set on numeric, hash on bytea -------------------------------------------------------------

TEST(SanitizeSetNumeric, WritesTheConstantAtTheColumnsScale) {
    EXPECT_EQ(run("{set: \"12.5\"}", "numeric(12,2)", "whatever"),
              numericBinary(0, numeric_positive, 2, {12, 5000}));
    EXPECT_EQ(run("{set: \"-0.05\"}", "numeric", "x"),
              numericBinary(-1, numeric_negative, 2, {500}));
    EXPECT_EQ(run("{set: \"0\"}", "numeric(12,2)", "x"), numericBinary(0, numeric_positive, 2, {}));
    EXPECT_EQ(run("{set: \"NaN\"}", "numeric", "x"), numericBinary(0, numeric_nan, 0, {}));
    EXPECT_EQ(usageError([] { make("{set: \"12.345\"}", "numeric(12,2)"); }),
              "\"12.345\" has 3 digits after the point but the column is numeric(12,2); write at "
              "most 2");
    EXPECT_NE(usageError([] {
                  make("{set: \"12345678901\"}", "numeric(12,2)");
              }).find("too large for the column numeric(12,2)"),
              std::string::npos);
    EXPECT_NE(usageError([] { make("{set: \"abc\"}", "numeric"); }).find("is not a numeric"),
              std::string::npos);
}

TEST(SanitizeHashBytea, SixteenBytesOfTheTextHash) {
    const std::string in = bytes({0xde, 0xad, 0xbe, 0xef, 0x00, 0x01});
    const std::string out = run("hash", "bytea", in);
    ASSERT_EQ(out.size(), 16u);
    std::string hex;
    for (const char c : out) {
        static constexpr char digits[] = "0123456789abcdef";
        hex += digits[static_cast<unsigned char>(c) >> 4];
        hex += digits[static_cast<unsigned char>(c) & 15];
    }
    EXPECT_EQ(hex, run("hash", "text", in));  // the same hash hash writes in a text column
    EXPECT_EQ(run("{hash: {length: 8}}", "bytea", in), out.substr(0, 8));
    EXPECT_NE(run("hash", "bytea", in, otherKey()), out);
    EXPECT_EQ(run("hash", "bytea", ""), "");
    EXPECT_EQ(usageError([] { make("{hash: {length: 20}}", "bytea"); }),
              "hash on a bytea column writes bytes: at most 16 (the whole 128-bit hash); give "
              "{hash: {length: N}} with N from 1 to 16, or just hash");
    EXPECT_TRUE(traitsOf(specOf("hash"), classifyType("bytea")).keeps_uniqueness);
    EXPECT_TRUE(traitsOf(specOf("{hash: {length: 16}}"), classifyType("bytea")).keeps_uniqueness);
    EXPECT_FALSE(traitsOf(specOf("{hash: {length: 8}}"), classifyType("bytea")).keeps_uniqueness);
}

TEST(SanitizeValidateNewTransforms, UniqueColumnsByTypeAwareTraits) {
    const std::vector<CatalogTable> catalog{
        {"public",
         "t",
         true,
         true,
         {CatalogColumn{"digest", "bytea", true, true, false},
          CatalogColumn{"ext", "uuid", true, true, false},
          CatalogColumn{"addr", "inet", false, true, false},
          CatalogColumn{"mobile", "text", false, true, false}}}};
    auto check = [&](const std::string& column_rules) {
        return validateRules(
            parseRules("version: 1\nsalt_env: S\ntables:\n  public.t:\n" + column_rules,
                       "rules.yaml"),
            catalog, testKey());
    };
    // 16 bytes on bytea is the whole hash: unique columns keep it.
    EXPECT_NO_THROW(check("    digest: {hash: {length: 16}}\n    ext: uuid\n    addr: ip\n"));
    EXPECT_EQ(usageError([&] { check("    digest: {hash: {length: 8}}\n"); }),
              "rules.yaml:5: {hash: {length: 8}} on public.t.digest, which a primary key or unique "
              "index covers: it can map distinct values to one; use a transform that keeps "
              "uniqueness (email, digits, phone, uuid, ip, hash at its full length, null)");
    EXPECT_NO_THROW(check("    mobile: phone\n"));
    EXPECT_NE(usageError([&] {
                  check("    mobile: {regex_replace: {pattern: '[0-9]', replacement: '#'}}\n");
              }).find("on public.t.mobile, which a primary key or unique index covers"),
              std::string::npos);
}

}  // namespace
}  // namespace pgsluice::sanitize
