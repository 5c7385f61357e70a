// Unit tests of the sanitiser: rules file parsing, type handling, every transform on the binary
// forms of the types it accepts, the check against a catalogue, the row rewriter and the rules
// hash.
//
// Binary forms are built here by hand (big-endian integers, days and microseconds since
// 2000-01-01 as PostgreSQL's *_send functions write them), not with the code under test.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "big_endian.hpp"
#include "error_of.hpp"
#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/copy/binary_writer.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/binary_form.hpp"
#include "pgsluice/sanitize/json_edit.hpp"
#include "pgsluice/sanitize/names.hpp"
#include "pgsluice/sanitize/row_rewriter.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/stream_rewriter.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/types.hpp"
#include "pgsluice/sanitize/validate.hpp"
#include "transform_fixtures.hpp"

// --- allocation counting ----------------------------------------------------------------------
// A weak replacement of operator new that counts calls while a test asks it to. Weak, so that
// another test file of the same binary may replace operator new too; allocationsCounted() then
// tells the no-allocation tests to skip rather than pass without measuring (as under ASan).

namespace {
std::atomic<bool> counting_allocations{false};
std::atomic<long> allocation_count{0};
}  // namespace

// AddressSanitizer brings its own operator new and delete; leave them alone there.
#if !defined(__SANITIZE_ADDRESS__)
__attribute__((weak)) void* operator new(std::size_t size) {
    if (counting_allocations.load(std::memory_order_relaxed)) {
        allocation_count.fetch_add(1, std::memory_order_relaxed);
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

__attribute__((weak)) void operator delete(void* p) noexcept {
    std::free(p);
}

__attribute__((weak)) void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
#endif

namespace pgsluice::sanitize {
namespace {

using pgsluice::testing::be16;
using pgsluice::testing::be32;
using pgsluice::testing::be64;
using pgsluice::testing::make;
using pgsluice::testing::otherKey;
using pgsluice::testing::run;
using pgsluice::testing::specOf;
using pgsluice::testing::testKey;

using namespace std::string_literals;

// Counts the allocations F makes.
template <class F>
long allocationsDuring(F&& f) {
    allocation_count = 0;
    counting_allocations = true;
    f();
    counting_allocations = false;
    return allocation_count.load();
}

bool allocationsCounted() {
    const long count = allocationsDuring([] {
        auto* volatile probe = new int(1);
        delete probe;
    });
    return count == 1;
}

// --- helpers ----------------------------------------------------------------------------------

using test::errorOf;
using test::formatError;
using test::usageError;

std::int32_t load32(std::string_view s) {
    return loadBigEndian32(reinterpret_cast<const std::byte*>(s.data()));
}

std::int64_t load64(std::string_view s) {
    return loadBigEndian64(reinterpret_cast<const std::byte*>(s.data()));
}

std::size_t chars(std::string_view text) {
    return countCharacters(text);
}

// --- types ------------------------------------------------------------------------------------

TEST(SanitizeTypes, ClassifiesFormatTypeAndTypname) {
    EXPECT_EQ(classifyType("text"), (ColumnType{TypeKind::text, -1}));
    EXPECT_EQ(classifyType("character varying(255)"), (ColumnType{TypeKind::varchar, 255}));
    EXPECT_EQ(classifyType("character varying"), (ColumnType{TypeKind::varchar, -1}));
    EXPECT_EQ(classifyType("varchar"), (ColumnType{TypeKind::varchar, -1}));
    EXPECT_EQ(classifyType("character(10)"), (ColumnType{TypeKind::bpchar, 10}));
    EXPECT_EQ(classifyType("bpchar"), (ColumnType{TypeKind::bpchar, -1}));
    EXPECT_EQ(classifyType("name"), (ColumnType{TypeKind::name, -1}));
    EXPECT_EQ(classifyType("citext"), (ColumnType{TypeKind::citext, -1}));
    EXPECT_EQ(classifyType("public.citext"), (ColumnType{TypeKind::citext, -1}));
    EXPECT_EQ(classifyType("\"ext schema\".citext"), (ColumnType{TypeKind::citext, -1}));
    EXPECT_EQ(classifyType("jsonb").kind, TypeKind::jsonb);
    EXPECT_EQ(classifyType("json").kind, TypeKind::json);
    EXPECT_EQ(classifyType("date").kind, TypeKind::date);
    EXPECT_EQ(classifyType("timestamp without time zone").kind, TypeKind::timestamp);
    EXPECT_EQ(classifyType("timestamp(3) without time zone").kind, TypeKind::timestamp);
    EXPECT_EQ(classifyType("timestamp with time zone").kind, TypeKind::timestamptz);
    EXPECT_EQ(classifyType("timestamp(0) with time zone").kind, TypeKind::timestamptz);
    EXPECT_EQ(classifyType("timestamptz").kind, TypeKind::timestamptz);
    EXPECT_EQ(classifyType("smallint").kind, TypeKind::int2);
    EXPECT_EQ(classifyType("integer").kind, TypeKind::int4);
    EXPECT_EQ(classifyType("bigint").kind, TypeKind::int8);
    EXPECT_EQ(classifyType("boolean").kind, TypeKind::boolean);
    EXPECT_EQ(classifyType("uuid").kind, TypeKind::uuid);
}

TEST(SanitizeTypes, ArraysInternalCharAndUnknownTypesAreOther) {
    EXPECT_EQ(classifyType("text[]").kind, TypeKind::other);
    EXPECT_EQ(classifyType("character varying(20)[]").kind, TypeKind::other);
    EXPECT_EQ(classifyType("\"char\"").kind, TypeKind::other);
    EXPECT_EQ(classifyType("char").kind, TypeKind::other);
    EXPECT_EQ(classifyType("public.my_domain").kind, TypeKind::other);
    EXPECT_EQ(classifyType("numeric(10,2)").kind, TypeKind::numeric);
    EXPECT_EQ(classifyType("numeric(10,2)").precision, 10);
    EXPECT_EQ(classifyType("bytea").kind, TypeKind::bytea);
}

TEST(SanitizeTypes, TypeSetsDescribeThemselves) {
    EXPECT_EQ(text_like_types.describe(), "text, character varying, character, name, citext");
    EXPECT_EQ(TypeSet::all().describe(), "every type");
    EXPECT_TRUE(TypeSet::all().contains(TypeKind::other));
}

// --- binary forms and constants ---------------------------------------------------------------

TEST(SanitizeBinaryForm, Utf8Validation) {
    EXPECT_TRUE(isValidUtf8("plain ascii"));
    EXPECT_TRUE(isValidUtf8("Zoë Åberg 日本 🎉"));
    EXPECT_FALSE(isValidUtf8("\xC3"));              // truncated
    EXPECT_FALSE(isValidUtf8("\xC0\xAF"));          // overlong
    EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(isValidUtf8("\xFF"));
    EXPECT_EQ(countCharacters("Zoë 🎉"), 5u);
}

TEST(SanitizeBinaryForm, DaysSince2000) {
    EXPECT_EQ(daysSince2000(2000, 1, 1), 0);
    EXPECT_EQ(daysSince2000(1999, 12, 31), -1);
    EXPECT_EQ(daysSince2000(2000, 3, 1), 60);  // 2000 is a leap year
    EXPECT_EQ(daysSince2000(1970, 1, 1), -10957);
    EXPECT_EQ(daysSince2000(2024, 2, 29), 8825);
}

TEST(SanitizeBinaryForm, ConstantsOfEveryEncodableType) {
    EXPECT_EQ(encodeConstant({TypeKind::text}, "!"), "!");
    EXPECT_EQ(encodeConstant({TypeKind::citext}, "Zoë"), "Zoë");
    EXPECT_EQ(encodeConstant({TypeKind::bpchar, 4}, "ab"), "ab  ");
    EXPECT_EQ(encodeConstant({TypeKind::bpchar, 4}, "ë"), "ë   ");  // characters, not bytes
    EXPECT_EQ(encodeConstant({TypeKind::varchar, 3}, "abc"), "abc");
    EXPECT_EQ(encodeConstant({TypeKind::name}, "postgres"), "postgres");
    EXPECT_EQ(encodeConstant({TypeKind::json}, "{\"a\": 1}"), "{\"a\": 1}");
    EXPECT_EQ(encodeConstant({TypeKind::jsonb}, "{}"), std::string("\x01{}"));
    EXPECT_EQ(encodeConstant({TypeKind::int2}, "-2"), be16(-2));
    EXPECT_EQ(encodeConstant({TypeKind::int4}, "42"), be32(42));
    EXPECT_EQ(encodeConstant({TypeKind::int8}, "+9000000000"), be64(9000000000));
    EXPECT_EQ(encodeConstant({TypeKind::boolean}, "true"), std::string(1, '\1'));
    EXPECT_EQ(encodeConstant({TypeKind::boolean}, "OFF"), std::string(1, '\0'));
    EXPECT_EQ(encodeConstant({TypeKind::uuid}, "00112233-4455-6677-8899-aabbccddeeff"),
              "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"s);
    EXPECT_EQ(encodeConstant({TypeKind::date}, "2000-01-02"), be32(1));
    EXPECT_EQ(encodeConstant({TypeKind::date}, "1999-12-31"), be32(-1));
    EXPECT_EQ(encodeConstant({TypeKind::date}, "infinity"), be32(date_plus_infinity));
    EXPECT_EQ(encodeConstant({TypeKind::date}, "-infinity"), be32(date_minus_infinity));
    EXPECT_EQ(encodeConstant({TypeKind::timestamp}, "2000-01-01 00:00:01.5"), be64(1500000));
    EXPECT_EQ(encodeConstant({TypeKind::timestamp}, "2000-01-02"), be64(86400000000));
    EXPECT_EQ(encodeConstant({TypeKind::timestamptz}, "2000-01-01 02:00:00+02"), be64(0));
    EXPECT_EQ(encodeConstant({TypeKind::timestamptz}, "2000-01-01T00:00:00Z"), be64(0));
    EXPECT_EQ(encodeConstant({TypeKind::timestamptz}, "2000-01-01 00:00"), be64(0));
    EXPECT_EQ(encodeConstant({TypeKind::timestamptz}, "-infinity"), be64(timestamp_minus_infinity));
}

TEST(SanitizeBinaryForm, ConstantsThatDoNotFitAreRefusedWithAdvice) {
    EXPECT_EQ(usageError([] { encodeConstant({TypeKind::int2}, "40000"); }),
              "\"40000\" is not a smallint; write a whole number in its range");
    EXPECT_EQ(usageError([] {
                  encodeConstant({TypeKind::varchar, 2}, "abc");
              }),
              "\"abc\" has 3 characters but the column is character varying(2); use a shorter "
              "constant");
    EXPECT_NE(
        usageError([] { encodeConstant({TypeKind::date}, "2023-02-29"); }).find("write YYYY-MM-DD"),
        std::string::npos);
    EXPECT_NE(usageError([] {
                  encodeConstant({TypeKind::timestamp}, "2023-01-01 25:00");
              }).find("is not a timestamp"),
              std::string::npos);
    EXPECT_NE(usageError([] {
                  encodeConstant({TypeKind::jsonb}, "{nope");
              }).find("is not a JSON document"),
              std::string::npos);
    EXPECT_NE(usageError([] { encodeConstant({TypeKind::uuid}, "xyz"); }).find("is not a uuid"),
              std::string::npos);
    EXPECT_NE(usageError([] {
                  encodeConstant({TypeKind::boolean}, "maybe");
              }).find("write true or false"),
              std::string::npos);
    EXPECT_NE(usageError([] { encodeConstant({TypeKind::other}, "1"); }).find("use null"),
              std::string::npos);
}

// --- keyed hashing ----------------------------------------------------------------------------

TEST(SanitizeSalt, ShortSaltRefusedWithoutQuotingIt) {
    const std::string message = usageError([] { SaltKey::fromSalt("hunter2"); });
    EXPECT_EQ(message,
              "the salt has 7 bytes; use at least 16 random bytes, e.g. the output of `openssl "
              "rand -hex 32`");
    EXPECT_EQ(message.find("hunter2"), std::string::npos);
}

TEST(SanitizeSalt, PurposesAndSaltsGiveIndependentHashes) {
    const KeyedHash email = testKey().hasherFor("email");
    const KeyedHash email_again = testKey().hasherFor("email");
    const KeyedHash hash = testKey().hasherFor("hash");
    const KeyedHash other = otherKey().hasherFor("email");
    const std::string_view input = "alice@example.com";
    EXPECT_EQ(email.hash64(input.data(), input.size()),
              email_again.hash64(input.data(), input.size()));
    EXPECT_NE(email.hash64(input.data(), input.size()), hash.hash64(input.data(), input.size()));
    EXPECT_NE(email.hash64(input.data(), input.size()), other.hash64(input.data(), input.size()));
}

TEST(SanitizeSalt, LoadsFromTheEnvironmentVariableTheRulesName) {
    const Rules rules = parseRules(
        "version: 1\nsalt_env: PGSLUICE_TEST_SALT\ntables:\n  public.t:\n    c: email\n", "r.yaml");
    ::unsetenv("PGSLUICE_TEST_SALT");
    EXPECT_EQ(
        usageError([&] { loadSaltKey(rules); }),
        "r.yaml:2: the environment variable PGSLUICE_TEST_SALT is not set; rules using email "
        "need the salt it holds: export PGSLUICE_TEST_SALT with the same secret as in earlier runs "
        "(or a new one of at least 16 random bytes)");
    ::setenv("PGSLUICE_TEST_SALT", "too short", 1);
    const std::string short_message = usageError([&] { loadSaltKey(rules); });
    EXPECT_TRUE(short_message.starts_with("r.yaml:2: in PGSLUICE_TEST_SALT: the salt has 9 bytes"))
        << short_message;
    EXPECT_EQ(short_message.find("too short"), std::string::npos);
    ::setenv("PGSLUICE_TEST_SALT", "pgsluice unit test salt 0123456789", 1);
    const SaltKey key = loadSaltKey(rules);
    ::unsetenv("PGSLUICE_TEST_SALT");
    EXPECT_FALSE(key.empty());
    EXPECT_EQ(run("email", "text", "a@b.c", key), run("email", "text", "a@b.c"));
}

TEST(SanitizeSalt, MissingSaltEnvIsAnErrorOnlyWhenARuleNeedsIt) {
    const Rules keyed = parseRules("version: 1\ntables:\n  t:\n    a: null\n    b: digits\n", "r");
    EXPECT_EQ(
        usageError([&] { loadSaltKey(keyed); }),
        "r:5: rules using digits need a salt, but the rules file has no salt_env; add `salt_env: "
        "PGSLUICE_SALT` and export a secret of at least 16 random bytes in it");
    const Rules unkeyed =
        parseRules("version: 1\ntables:\n  t:\n    a: null\n    b: {set: x}\n", "r");
    EXPECT_TRUE(loadSaltKey(unkeyed).empty());
}

// --- email ------------------------------------------------------------------------------------

const std::regex email_shape("user_[0-9a-f]{32}@example\\.invalid");

TEST(SanitizeEmail, DeterministicValidAddressInAReservedDomain) {
    const std::string out = run("email", "text", "Alice.Smith@example.com");
    EXPECT_TRUE(std::regex_match(out, email_shape)) << out;
    // A second transform object, as another table or another run would build.
    EXPECT_EQ(run("email", "character varying(254)", "Alice.Smith@example.com"), out);
    EXPECT_NE(run("email", "text", "alice.smith@example.com"), out);  // case is kept apart
}

TEST(SanitizeEmail, GoldenValueStaysTheSameAcrossVersions) {
    // Pins the derivation (XXH3_generateSecret, purpose tag, hex layout): a change here would
    // break joins between data sanitised before and after an upgrade.
    EXPECT_EQ(run("email", "text", "alice@example.com"),
              "user_24b73474f09d1a7b18b3ce9c4aa3124b@example.invalid");
}

TEST(SanitizeSalt, GoldenValuesOfEveryKeyedTransform) {
    // Same reason as above: outputs must not drift between pgsluice builds or xxHash versions.
    EXPECT_EQ(run("hash", "text", "alice@example.com"), "62e8cc2e052ae0f6828e8ccda348026b");
    EXPECT_EQ(run("first_name", "text", "Margaret"), "Omar");
    EXPECT_EQ(run("last_name", "text", "Thatcher"), "Fontaine");
    EXPECT_EQ(run("full_name", "text", "Margaret Thatcher"), "Oliver Ferreira");
    EXPECT_EQ(run("digits", "text", "+1 (555) 010-9999"), "+7 (744) 603-4792");
    EXPECT_EQ(load32(run("{shift_date: 30}", "date", be32(8825))), 8838);
}

TEST(SanitizeEmail, DifferentSaltDifferentAddress) {
    EXPECT_NE(run("email", "text", "alice@example.com", testKey()),
              run("email", "text", "alice@example.com", otherKey()));
}

TEST(SanitizeEmail, UniqueOnAMillionDistinctInputs) {
    const auto transform = make("email", "text");
    Scratch scratch;
    std::string out;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    constexpr int count = 1000000;
    seen.reserve(count);
    std::string input;
    for (int i = 0; i < count; ++i) {
        input = "person" + std::to_string(i) + "@example.com";
        out.clear();
        transform->apply(copy::asBytes(input), out, scratch);
        ASSERT_EQ(out.size(), static_cast<std::size_t>(email_length));
        seen.emplace_back(std::stoull(out.substr(5, 16), nullptr, 16),
                          std::stoull(out.substr(21, 16), nullptr, 16));
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST(SanitizeEmail, EmptyStaysEmptyAndMultiByteInputGivesAscii) {
    EXPECT_EQ(run("email", "text", ""), "");
    const std::string out = run("email", "text", "jösé@exämple.com");
    EXPECT_TRUE(std::regex_match(out, email_shape)) << out;
}

TEST(SanitizeEmail, AllTextLikeTypesAndBpcharPadding) {
    const std::string plain = run("email", "text", "bob@example.org");
    EXPECT_EQ(run("email", "citext", "bob@example.org"), plain);
    EXPECT_EQ(run("email", "name", "bob@example.org"), plain);
    // character(60) stores the value padded; the padding is not part of the address.
    const std::string padded =
        run("email", "character(60)", "bob@example.org" + std::string(45, ' '));
    EXPECT_EQ(padded, plain + std::string(60 - email_length, ' '));
    EXPECT_EQ(run("email", "bpchar", "bob@example.org   "), plain);
}

TEST(SanitizeEmail, RefusesColumnsTooShortForTheAddress) {
    EXPECT_EQ(usageError([] { make("email", "character varying(40)"); }),
              "email writes 53 characters but the column is character varying(40); widen the "
              "column or use {hash: {length: N}}");
    EXPECT_NE(usageError([] {
                  make("email", "integer");
              }).find("email cannot rewrite a column of type integer; it accepts text"),
              std::string::npos);
}

// --- hash -------------------------------------------------------------------------------------

TEST(SanitizeHash, HexOfTheKeyedHashWithOptionalLength) {
    const std::string full = run("hash", "text", "123-45-6789");
    EXPECT_TRUE(std::regex_match(full, std::regex("[0-9a-f]{32}"))) << full;
    const std::string short_hash = run("{hash: {length: 12}}", "text", "123-45-6789");
    EXPECT_EQ(short_hash, full.substr(0, 12));
    EXPECT_EQ(run("hash", "text", "123-45-6789"), full);
    EXPECT_NE(run("hash", "text", "123-45-6789", otherKey()), full);
    EXPECT_EQ(run("hash", "text", ""), "");
    EXPECT_EQ(run("hash", "character(40)", "123-45-6789  "), full + std::string(8, ' '));
    // Same input, different transform: unrelated outputs.
    EXPECT_EQ(run("email", "text", "123-45-6789").find(full), std::string::npos);
}

TEST(SanitizeHash, UniqueOnAMillionDistinctInputs) {
    const auto transform = make("hash", "text");
    Scratch scratch;
    std::string out;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    constexpr int count = 1000000;
    seen.reserve(count);
    std::string input;
    for (int i = 0; i < count; ++i) {
        input = std::to_string(i);
        out.clear();
        transform->apply(copy::asBytes(input), out, scratch);
        ASSERT_EQ(out.size(), 32u);
        seen.emplace_back(std::stoull(out.substr(0, 16), nullptr, 16),
                          std::stoull(out.substr(16, 16), nullptr, 16));
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

TEST(SanitizeHash, UuidColumnsGetAWholeUuid) {
    const std::string uuid = "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"s;
    const std::string out = run("hash", "uuid", uuid);
    EXPECT_EQ(out.size(), 16u);
    EXPECT_NE(out, uuid);
    EXPECT_EQ(run("hash", "uuid", uuid), out);
    EXPECT_NE(run("hash", "uuid", uuid, otherKey()), out);
    EXPECT_EQ(formatError([] { run("hash", "uuid", "short"); }),
              "a uuid field has 5 bytes; its binary form has 16");
    EXPECT_EQ(usageError([] { make("{hash: {length: 8}}", "uuid"); }),
              "hash on a uuid column writes a whole uuid (all 128 bits); drop the length option");
}

TEST(SanitizeHash, LengthMustFitTheColumn) {
    EXPECT_NO_THROW(make("{hash: {length: 10}}", "character varying(10)"));
    EXPECT_EQ(usageError([] { make("hash", "character varying(10)"); }),
              "hash writes 32 characters but the column is character varying(10); give a smaller "
              "{hash: {length: N}} (only 32 keeps uniqueness)");
}

// --- names ------------------------------------------------------------------------------------

bool contains(std::span<const std::string_view> list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

TEST(SanitizeNames, ListsAreValidShortAndDistinct) {
    for (const auto list : {firstNames(), lastNames()}) {
        std::set<std::string_view> distinct(list.begin(), list.end());
        EXPECT_EQ(distinct.size(), list.size());
        for (const std::string_view name : list) {
            EXPECT_TRUE(isValidUtf8(name)) << name;
            EXPECT_LE(chars(name), 12u) << name;
        }
    }
    for (const std::string_view name : firstNames()) {
        EXPECT_EQ(name.find(' '), std::string_view::npos) << name;  // full_name splits on it
    }
}

TEST(SanitizeNames, DeterministicPicksFromTheBuiltInLists) {
    const std::string first = run("first_name", "text", "Margaret");
    EXPECT_TRUE(contains(firstNames(), first)) << first;
    EXPECT_EQ(run("first_name", "character varying(100)", "Margaret"), first);
    const std::string last = run("last_name", "text", "Thatcher");
    EXPECT_TRUE(contains(lastNames(), last)) << last;
    const std::string full = run("full_name", "text", "Margaret Thatcher");
    const std::size_t space = full.find(' ', 1);
    ASSERT_NE(space, std::string::npos);
    EXPECT_TRUE(contains(firstNames(), full.substr(0, space))) << full;
    EXPECT_TRUE(contains(lastNames(), full.substr(space + 1))) << full;
    EXPECT_EQ(run("first_name", "text", ""), "");
}

TEST(SanitizeNames, SaltChangesThePicksAndInputsSpreadOverTheList) {
    const auto a = make("first_name", "text", testKey());
    const auto b = make("first_name", "text", otherKey());
    int differ = 0;
    std::set<std::string> used;
    for (int i = 0; i < 10000; ++i) {
        const std::string input = "person " + std::to_string(i);
        const std::string out = run(*a, input);
        used.insert(out);
        differ += i < 200 && out != run(*b, input);
    }
    EXPECT_GT(differ, 180);  // 1 in 128 may agree by chance
    EXPECT_EQ(used.size(), firstNames().size());
}

TEST(SanitizeNames, ShortColumnsGetNamesThatFitAndPadding) {
    const auto transform = make("full_name", "character varying(9)");
    for (int i = 0; i < 2000; ++i) {
        const std::string out = run(*transform, "someone " + std::to_string(i));
        EXPECT_LE(chars(out), 9u) << out;
        EXPECT_TRUE(isValidUtf8(out)) << out;
    }
    const std::string padded = run("last_name", "character(15)", "Smith          ");
    EXPECT_EQ(chars(padded), 15u);
    EXPECT_EQ(stripBlankPadding(padded), run("last_name", "text", "Smith"));
    EXPECT_EQ(usageError([] { make("full_name", "character varying(3)"); }),
              "full_name needs at least 5 characters but the column is character varying(3); "
              "use keep_first or set instead");
}

TEST(SanitizeNames, MultiByteNamesStayValid) {
    const auto transform = make("full_name", "text");
    bool saw_multibyte = false;
    for (int i = 0; i < 5000; ++i) {
        const std::string out = run(*transform, std::to_string(i));
        ASSERT_TRUE(isValidUtf8(out)) << out;
        saw_multibyte = saw_multibyte || out.size() != chars(out);
    }
    EXPECT_TRUE(saw_multibyte);
}

// --- digits -----------------------------------------------------------------------------------

TEST(SanitizeDigits, EveryDigitReplacedEverythingElseKept) {
    const std::string input = "+1 (555) 010-9999";
    const std::string out = run("digits", "text", input);
    ASSERT_EQ(out.size(), input.size());
    int changed = 0;
    for (std::size_t i = 0; i < input.size(); ++i) {
        const bool digit = input[i] >= '0' && input[i] <= '9';
        EXPECT_EQ(out[i] >= '0' && out[i] <= '9', digit) << out;
        if (!digit) {
            EXPECT_EQ(out[i], input[i]) << out;
        }
        changed += digit && out[i] != input[i];
    }
    EXPECT_GE(changed, 5) << out;  // about 9 in 10 digits differ
    EXPECT_EQ(run("digits", "text", input), out);
    EXPECT_NE(run("digits", "text", input, otherKey()), out);
}

TEST(SanitizeDigits, SameDigitsInAnotherLayoutGetTheSameDigits) {
    const std::string plain = run("digits", "text", "5550109999");
    EXPECT_EQ(run("digits", "text", "555-010-9999"),
              plain.substr(0, 3) + "-" + plain.substr(3, 3) + "-" + plain.substr(6));
}

TEST(SanitizeDigits, NoDigitsEmptyAndMultiByteTextPassThrough) {
    EXPECT_EQ(run("digits", "text", "no digits here"), "no digits here");
    EXPECT_EQ(run("digits", "text", ""), "");
    const std::string out = run("digits", "text", "Tél : 06 12 34 56 78 — ☎");
    EXPECT_TRUE(isValidUtf8(out));
    EXPECT_TRUE(out.starts_with("Tél : "));
    EXPECT_TRUE(out.ends_with(" — ☎"));
    EXPECT_EQ(run("digits", "character(12)", "555 1234    "),
              run("digits", "text", "555 1234") + "    ");
}

TEST(SanitizeDigits, IsAPermutationOfEveryDigitStringOfALength) {
    // All 10^6 six-digit strings map to all 10^6 six-digit strings: exactly injective.
    const auto transform = make("digits", "text");
    std::vector<bool> hit(1000000, false);
    Scratch scratch;
    std::string out;
    char input[7];
    for (int i = 0; i < 1000000; ++i) {
        std::snprintf(input, sizeof input, "%06d", i);
        out.clear();
        transform->apply(copy::asBytes(std::string_view(input, 6)), out, scratch);
        const int value = std::stoi(out);
        ASSERT_FALSE(hit[static_cast<std::size_t>(value)]) << input << " -> " << out;
        hit[static_cast<std::size_t>(value)] = true;
    }
    for (const std::string_view one : {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
        out = run(*transform, one);
        EXPECT_EQ(out.size(), 1u);
    }
    std::set<std::string> singles;
    for (char c = '0'; c <= '9'; ++c) {
        singles.insert(run(*transform, std::string(1, c)));
    }
    EXPECT_EQ(singles.size(), 10u);
}

TEST(SanitizeDigits, UniqueOnAMillionDistinctPhoneNumbers) {
    const auto transform = make("digits", "text");
    std::vector<std::string> outs;
    outs.reserve(1000000);
    char input[32];
    for (int i = 0; i < 1000000; ++i) {
        std::snprintf(input, sizeof input, "+1 (555) %03d-%04d", i / 10000, i % 10000);
        outs.push_back(run(*transform, input));
    }
    std::sort(outs.begin(), outs.end());
    EXPECT_EQ(std::adjacent_find(outs.begin(), outs.end()), outs.end());
}

TEST(SanitizeDigits, LongDigitStrings) {
    const std::string input(200, '7');
    const std::string out = run("digits", "text", input);
    EXPECT_EQ(out.size(), 200u);
    EXPECT_EQ(out.find_first_not_of("0123456789"), std::string::npos);
    EXPECT_GT(std::count(out.begin(), out.end(), '7'), 0);
    EXPECT_LT(std::count(out.begin(), out.end(), '7'), 60);
    EXPECT_EQ(run("digits", "text", input), out);
}

// --- keep_first -------------------------------------------------------------------------------

TEST(SanitizeKeepFirst, KeepsCharactersNotBytes) {
    EXPECT_EQ(run("{keep_first: 2}", "text", "Alexander"), "Al*******");
    EXPECT_EQ(run("{keep_first: 3}", "text", "Zoë Åberg"), "Zoë******");
    EXPECT_EQ(run("{keep_first: 1}", "text", "🎉🎉🎉"), "🎉**");
    EXPECT_EQ(run("{keep_first: 2}", "text", "日本語"), "日本*");
    EXPECT_EQ(run("{keep_first: 0}", "text", "abc"), "***");
    EXPECT_EQ(run("{keep_first: 10}", "text", "short"), "short");
    EXPECT_EQ(run("{keep_first: 2}", "text", ""), "");
    const std::string out = run("{keep_first: 4}", "text", "Ærøskøbing");
    EXPECT_TRUE(isValidUtf8(out));
    EXPECT_EQ(chars(out), chars("Ærøskøbing"));
}

TEST(SanitizeKeepFirst, PaddingIsNotMaskedAndInvalidUtf8IsRefused) {
    EXPECT_EQ(run("{keep_first: 1}", "character(6)", "ab    "), "a*    ");
    EXPECT_EQ(formatError([] { run("{keep_first: 1}", "text", "ab\xC3"); }),
              "a text value is not valid UTF-8, so keep_first cannot tell its characters apart; "
              "read the source with client_encoding UTF8");
}

// --- shift_date -------------------------------------------------------------------------------

TEST(SanitizeShiftDate, DatesMoveByOneToNDaysDeterministically) {
    const auto transform = make("{shift_date: 30}", "date");
    std::set<std::int64_t> shifts;
    for (int day = -5000; day < 5000; ++day) {
        const std::string out = run(*transform, be32(day));
        ASSERT_EQ(out.size(), 4u);
        const std::int64_t shift = std::int64_t{load32(out)} - day;
        ASSERT_GE(shift, -30);
        ASSERT_LE(shift, 30);
        ASSERT_NE(shift, 0);
        shifts.insert(shift);
    }
    EXPECT_EQ(shifts.size(), 60u);  // every non-zero shift occurs
    EXPECT_EQ(run(*transform, be32(8825)), run("{shift_date: 30}", "date", be32(8825)));
    int differ = 0;
    for (int day = 0; day < 100; ++day) {
        differ +=
            run(*transform, be32(day)) != run("{shift_date: 30}", "date", be32(day), otherKey());
    }
    EXPECT_GT(differ, 90);
}

TEST(SanitizeShiftDate, InfinityAndRangeEndsStayValid) {
    EXPECT_EQ(run("{shift_date: 30}", "date", be32(date_plus_infinity)), be32(date_plus_infinity));
    EXPECT_EQ(run("{shift_date: 30}", "date", be32(date_minus_infinity)),
              be32(date_minus_infinity));
    for (int i = 0; i < 50; ++i) {
        const std::int32_t first =
            load32(run("{shift_date: 30}", "date", be32(date_first_valid + i)));
        EXPECT_GE(first, date_first_valid);
        const std::int32_t last =
            load32(run("{shift_date: 30}", "date", be32(date_end_valid - 1 - i)));
        EXPECT_LT(last, date_end_valid);
    }
    EXPECT_EQ(formatError([] { run("{shift_date: 3}", "date", be64(0)); }),
              "a date field has 8 bytes; its binary form has 4");
}

TEST(SanitizeShiftDate, TimestampsKeepTheirTimeOfDay) {
    for (const std::string type : {"timestamp without time zone", "timestamp with time zone"}) {
        const auto transform = make("{shift_date: 7}", type);
        const std::int64_t noonish = 757479845678901;  // 2024-01-01 03:04:05.678901
        const std::string out = run(*transform, be64(noonish));
        ASSERT_EQ(out.size(), 8u);
        const std::int64_t delta = load64(out) - noonish;
        EXPECT_EQ(delta % microseconds_per_day, 0) << type;
        EXPECT_NE(delta, 0);
        EXPECT_LE(std::abs(delta / microseconds_per_day), 7);
        EXPECT_EQ(run(*transform, be64(timestamp_plus_infinity)), be64(timestamp_plus_infinity));
        EXPECT_EQ(run(*transform, be64(timestamp_minus_infinity)), be64(timestamp_minus_infinity));
        const std::int64_t near_end = timestamp_end_valid - 1;
        EXPECT_LT(load64(run(*transform, be64(near_end))), timestamp_end_valid);
        EXPECT_GE(load64(run(*transform, be64(timestamp_first_valid))), timestamp_first_valid);
        EXPECT_EQ(formatError([&] { run(*transform, be32(0)); }),
                  "a " + std::string(typeKindName(classifyType(type).kind)) +
                      " field has 4 bytes; its binary form has 8");
    }
}

// --- set and null -----------------------------------------------------------------------------

TEST(SanitizeSet, WritesTheConstantInTheColumnsBinaryForm) {
    EXPECT_EQ(run("{set: \"!\"}", "text", "secret"), "!");
    EXPECT_EQ(run("{set: \"!\"}", "character(3)", "abc"), "!  ");
    EXPECT_EQ(run("{set: 0}", "integer", be32(12345)), be32(0));
    EXPECT_EQ(run("{set: 7}", "bigint", be64(1)), be64(7));
    EXPECT_EQ(run("{set: 7}", "smallint", be16(1)), be16(7));
    EXPECT_EQ(run("{set: 7}", "text", "x"), "7");
    EXPECT_EQ(run("{set: false}", "boolean", "\1"), std::string(1, '\0'));
    EXPECT_EQ(run("{set: 1970-01-01}", "date", be32(5)), be32(-10957));
    EXPECT_EQ(run("{set: \"2000-01-01 00:00:00Z\"}", "timestamp with time zone", be64(5)), be64(0));
    EXPECT_EQ(run("{set: '{\"redacted\": true}'}", "jsonb", "\1{}"),
              std::string("\1{\"redacted\": true}"));
    EXPECT_EQ(run("{set: '[]'}", "json", "{}"), "[]");
    EXPECT_EQ(run("{set: 00000000-0000-0000-0000-000000000000}", "uuid", std::string(16, 'x')),
              std::string(16, '\0'));
    EXPECT_NE(usageError([] { make("{set: abc}", "integer"); }).find("is not a integer"),
              std::string::npos);
}

// --- json_remove / json_set -------------------------------------------------------------------

std::string editJson(const std::string& yaml, std::string_view document,
                     const std::string& type = "json") {
    return run(yaml, type, document);
}

TEST(SanitizeJson, RemovesTopLevelKeysWhereverTheyAre) {
    const std::string rule = "{json_remove: [ip]}";
    EXPECT_EQ(editJson(rule, R"({"a": 1, "ip": "10.0.0.1", "b": [1, 2]})"),
              R"({"a": 1, "b": [1, 2]})");
    // Removing leading members keeps the layout jsonb prints, so a sanitised jsonb value hashes
    // the same as what the target stores (verify --rules).
    EXPECT_EQ(editJson(rule, R"({"ip": "10.0.0.1", "a": 1})"), R"({"a": 1})");
    EXPECT_EQ(editJson(rule, R"({"a": 1, "ip": "10.0.0.1"})"), R"({"a": 1})");
    EXPECT_EQ(editJson(rule, R"({"ip": "10.0.0.1"})"), R"({})");
    EXPECT_EQ(editJson(rule, R"({ "ip" : {"deep": [1, {"x": "}"}]} , "z": null })"),
              R"({ "z": null })");
    EXPECT_EQ(editJson(rule, R"({"ip": 1, "ip": 2, "k": 3})"), R"({"k": 3})");  // duplicates
    EXPECT_EQ(editJson(rule, R"({"\u0069p": 1, "k": 3})"), R"({"k": 3})");      // escaped key
    EXPECT_EQ(editJson(rule, R"({"x": {"ip": 1, "k": 2}, "ip": 3, "y": 4})"),
              R"({"x": {"ip": 1, "k": 2}, "y": 4})");
    EXPECT_EQ(editJson(rule, R"({"a": "ip", "b": {"ip": 1}})"), R"({"a": "ip", "b": {"ip": 1}})");
}

TEST(SanitizeJson, UntouchedDocumentsComeOutByteForByte) {
    const std::string rule = "{json_remove: [ip, card.number]}";
    for (const std::string_view document :
         {R"({"a":1,"b":{"c":[1,2,{"ip":3}]},"s":"Zoë \"q\" }{"})", R"([{"ip": 1}])", "\"ip\"",
          "null", "42", "  {\n  \"x\" : true\n}  ", "{}", R"({"card": "not an object"})",
          R"({"card": {"brand": "visa"}})"}) {
        EXPECT_EQ(editJson(rule, document), document);
    }
}

TEST(SanitizeJson, DottedPathsReachIntoNestedObjects) {
    EXPECT_EQ(editJson("{json_remove: [card.number]}",
                       R"({"card": {"number": "4111111111111111", "brand": "visa"}, "n": 1})"),
              R"({"card": {"brand": "visa"}, "n": 1})");
    EXPECT_EQ(editJson("{json_remove: [a.b.c]}", R"({"a": {"b": {"c": 1, "d": 2}}})"),
              R"({"a": {"b": {"d": 2}}})");
}

TEST(SanitizeJson, SetReplacesExistingValuesOnly) {
    const std::string rule = R"({json_set: {"card.number": "XXXX", name: "Jane Doe", n: 0}})";
    EXPECT_EQ(editJson(rule, R"({"name": "Zoë", "card": {"number": "4111"}, "n": [1]})"),
              R"({"name": "Jane Doe", "card": {"number": "XXXX"}, "n": 0})");
    EXPECT_EQ(editJson(rule, R"({"other": 1})"), R"({"other": 1})");  // nothing added
    EXPECT_EQ(editJson("{json_set: {a: {x: [1, true, null]}}}", R"({"a": 5})"),
              R"({"a": {"x":[1,true,null]}})");
}

TEST(SanitizeJson, RemoveAndSetCombine) {
    EXPECT_EQ(editJson("{json_remove: [ip], json_set: {user.email: redacted}}",
                       R"({"ip": "1.1.1.1", "user": {"email": "a@b.c", "id": 7}})"),
              R"({"user": {"email": "redacted", "id": 7}})");
}

TEST(SanitizeJson, JsonbKeepsItsVersionByte) {
    const std::string out =
        editJson("{json_remove: [ip]}", std::string("\1") + R"({"a": 1, "ip": "x"})", "jsonb");
    EXPECT_EQ(out, std::string("\1") + R"({"a": 1})");
    EXPECT_EQ(formatError([] { editJson("{json_remove: [ip]}", "\2{}", "jsonb"); }),
              "a jsonb field has format version 2; pgsluice reads version 1");
    EXPECT_NE(formatError([] { editJson("{json_remove: [ip]}", "", "jsonb"); }).find("empty"),
              std::string::npos);
}

TEST(SanitizeJson, MalformedJsonIsAFormatError) {
    EXPECT_EQ(formatError([] { editJson("{json_remove: [ip]}", R"({"ip": "unterminated)"); }),
              "malformed JSON at byte 7: unterminated string");
    EXPECT_NE(formatError([] { editJson("{json_remove: [ip]}", R"({"a" 1})"); }).find("':'"),
              std::string::npos);
    EXPECT_NE(
        formatError([] { editJson("{json_remove: [ip]}", R"({"a": [1, 2)"); }).find("unterminated"),
        std::string::npos);
}

TEST(SanitizeJson, DeepNestingOffThePathNeedsNoStack) {
    const std::string deep =
        "{\"keep\": " + std::string(200000, '[') + std::string(200000, ']') + ", \"ip\": 1}";
    const std::string out = editJson("{json_remove: [ip]}", deep);
    EXPECT_EQ(out, deep.substr(0, deep.size() - 10) + "}");
}

// --- rules file -------------------------------------------------------------------------------

const std::string design_example = R"(version: 1
salt_env: PGSLUICE_SALT          # key for deterministic transforms; never stored
exclude_table_data:              # schema and indexes copied, rows not
  - public.notifications_abstractemail
  - public.post_office_*
tables:
  public.accounts_user:
    email: email                 # user_<keyed hash>@example.invalid, unique-preserving
    first_name: first_name       # deterministic pick from a built-in list
    last_name: last_name
    phone: digits                # every digit replaced, format kept, deterministic
    password: {set: "!"}         # constant
  public.payments_payment:
    meta: {json_remove: [ip]}
  "*.*":                         # patterns apply to every matching table
    ssn: null
after:                           # SQL run on the target when all is loaded
  - UPDATE wagtailcore_site SET hostname = 'staging.example.org'
)";

TEST(SanitizeRules, ParsesTheDesignExampleWithLines) {
    const Rules rules = parseRules(design_example, "rules.yaml");
    EXPECT_EQ(rules.version, 1);
    EXPECT_EQ(rules.salt_env, "PGSLUICE_SALT");
    EXPECT_EQ(rules.salt_env_line, 2);
    ASSERT_EQ(rules.exclude_table_data.size(), 2u);
    EXPECT_EQ(rules.exclude_table_data[1].pattern, "public.post_office_*");
    EXPECT_EQ(rules.exclude_table_data[1].line, 5);
    ASSERT_EQ(rules.tables.size(), 3u);
    EXPECT_EQ(rules.tables[0].pattern, "public.accounts_user");
    EXPECT_EQ(rules.tables[0].line, 7);
    EXPECT_FALSE(rules.tables[0].wildcard);
    ASSERT_EQ(rules.tables[0].columns.size(), 5u);
    EXPECT_EQ(rules.tables[0].columns[3].column, "phone");
    EXPECT_EQ(rules.tables[0].columns[3].transform.kind, TransformKind::digits);
    EXPECT_EQ(rules.tables[0].columns[3].line, 11);
    EXPECT_EQ(rules.tables[0].columns[4].transform.kind, TransformKind::set);
    EXPECT_EQ(rules.tables[0].columns[4].transform.constant, "!");
    const TransformSpec& meta = rules.tables[1].columns[0].transform;
    EXPECT_EQ(meta.kind, TransformKind::json);
    ASSERT_EQ(meta.json_edits.size(), 1u);
    EXPECT_EQ(meta.json_edits[0].path, "ip");
    EXPECT_TRUE(meta.json_edits[0].remove);
    EXPECT_EQ(rules.tables[2].pattern, "*.*");
    EXPECT_TRUE(rules.tables[2].wildcard);
    EXPECT_EQ(rules.tables[2].columns[0].transform.kind, TransformKind::null_value);
    EXPECT_EQ(rules.tables[2].columns[0].line, 16);
    ASSERT_EQ(rules.after.size(), 1u);
    EXPECT_EQ(rules.after[0].sql, "UPDATE wagtailcore_site SET hostname = 'staging.example.org'");
    EXPECT_EQ(rules.after[0].line, 18);
    EXPECT_TRUE(rules.needsSalt());
}

TEST(SanitizeRules, EveryTransformFormParses) {
    EXPECT_EQ(specOf("null").kind, TransformKind::null_value);
    EXPECT_EQ(specOf("~").kind, TransformKind::null_value);
    EXPECT_EQ(specOf("\"null\"").kind, TransformKind::null_value);
    EXPECT_EQ(specOf("hash").length, 32);
    EXPECT_FALSE(specOf("hash").length_given);
    EXPECT_EQ(specOf("{hash: {length: 16}}").length, 16);
    EXPECT_EQ(specOf("{hash: {}}").length, 32);
    EXPECT_EQ(specOf("email").kind, TransformKind::email);
    EXPECT_EQ(specOf("first_name").kind, TransformKind::first_name);
    EXPECT_EQ(specOf("last_name").kind, TransformKind::last_name);
    EXPECT_EQ(specOf("full_name").kind, TransformKind::full_name);
    EXPECT_EQ(specOf("digits").kind, TransformKind::digits);
    EXPECT_EQ(specOf("{keep_first: 2}").keep, 2);
    EXPECT_EQ(specOf("{shift_date: 30}").days, 30);
    EXPECT_EQ(specOf("{set: \"\"}").constant, "");
    EXPECT_EQ(specOf("{json_remove: ip}").json_edits.size(), 1u);
    const TransformSpec set = specOf("{json_set: {\"a.b\": x, n: 1, f: 1.5, t: true, s: \"1\"}}");
    ASSERT_EQ(set.json_edits.size(), 5u);
    EXPECT_EQ(set.json_edits[0].value, "\"x\"");
    EXPECT_EQ(set.json_edits[1].value, "1");
    EXPECT_EQ(set.json_edits[2].value, "1.5");
    EXPECT_EQ(set.json_edits[3].value, "true");
    EXPECT_EQ(set.json_edits[4].value, "\"1\"");
    EXPECT_EQ(specOf("{json_remove: [a], json_set: {b: 1}}").name(), "json_remove/json_set");
}

TEST(SanitizeRules, CanonicalForms) {
    EXPECT_EQ(specOf("null").canonical(), "null");
    EXPECT_EQ(specOf("{set: 'say \"hi\"'}").canonical(), R"({set: "say \"hi\""})");
    EXPECT_EQ(specOf("{hash: {length: 16}}").canonical(), "{hash: {length: 16}}");
    EXPECT_EQ(specOf("{ keep_first : 2 }").canonical(), "{keep_first: 2}");
    EXPECT_EQ(specOf("{json_set: {b: 1}, json_remove: [z, a]}").canonical(),
              R"({json_remove: ["a", "z"], json_set: {"b": 1}})");
}

std::string rulesError(const std::string& text) {
    return usageError([&] { parseRules(text, "rules.yaml"); });
}

TEST(SanitizeRules, UnknownKeysRejectedWithTheirLine) {
    EXPECT_EQ(rulesError("version: 1\nsalt_env: S\ntabels:\n  t: {c: null}\n"),
              "rules.yaml:3: unknown key \"tabels\" (did you mean tables?); the top-level keys "
              "are version, salt_env, exclude_table_data, tables, after, keep, strict, subset and "
              "virtual_foreign_keys");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {hash: {lenght: 4}}\n"),
              "rules.yaml:4: column \"c\": unknown hash option \"lenght\"; hash takes only length");
    EXPECT_EQ(
        rulesError("version: 1\ntables:\n  t:\n    a: null\n    c: emial\n"),
        "rules.yaml:5: column \"c\": unknown transform \"emial\" (did you mean email?); the "
        "transforms are null, set, hash, email, first_name, last_name, full_name, digits, phone, "
        "keep_first, shift_date, noise, uuid, ip, regex_replace, lookup, json, json_remove, "
        "json_set");
    EXPECT_EQ(
        rulesError("version: 1\ntables:\n  t:\n    c: {scramble: 2}\n"),
        "rules.yaml:4: column \"c\": unknown transform \"scramble\"; the transforms are null, "
        "set, hash, email, first_name, last_name, full_name, digits, phone, keep_first, "
        "shift_date, noise, uuid, ip, regex_replace, lookup, json, json_remove, json_set");
}

TEST(SanitizeRules, VersionIsRequiredAndMustBeOne) {
    EXPECT_EQ(rulesError("tables:\n  t: {c: null}\n"),
              "rules.yaml:1: version is missing; add `version: 1` at the top of the file");
    EXPECT_EQ(rulesError("# comment\nversion: 2\n"),
              "rules.yaml:2: unsupported version \"2\"; this pgsluice reads rules files of "
              "version 1: write `version: 1`");
    EXPECT_EQ(rulesError(""),
              "rules.yaml:1: the rules file is empty; it needs at least `version: 1`");
    EXPECT_EQ(rulesError("- a\n- b\n"),
              "rules.yaml:1: the rules file must be a mapping with the keys version, salt_env, "
              "exclude_table_data, tables, after, keep, strict, subset and virtual_foreign_keys");
}

TEST(SanitizeRules, OptionsOutOfRange) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {keep_first: two}\n"),
              "rules.yaml:4: column \"c\": keep_first (characters kept) must be a whole number "
              "from 0 to 1000000");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {shift_date: 0}\n"),
              "rules.yaml:4: column \"c\": shift_date (largest shift in days) must be a whole "
              "number from 1 to 36500");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {hash: {length: 33}}\n"),
              "rules.yaml:4: column \"c\": hash length (hex digits of the 128-bit hash) must be a "
              "whole number from 1 to 32");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: keep_first\n"),
              "rules.yaml:4: column \"c\": keep_first needs an option; write it as {keep_first: "
              "2}");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {email: x}\n"),
              "rules.yaml:4: column \"c\": email takes no options; write just email");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {hash: 16}\n"),
              "rules.yaml:4: column \"c\": hash options are a mapping: write {hash: {length: 16}}, "
              "or just hash for all 32 hex digits");
}

TEST(SanitizeRules, SetNullAndEmptyValues) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {set: null}\n"),
              "rules.yaml:4: column \"c\": {set: null} is written `null`; it sets the column to "
              "NULL (quote it, {set: \"null\"}, for the text null)");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c:\n    d: email\n"),
              "rules.yaml:4: column \"c\": no transform given; write one such as null, email or "
              "{set: \"x\"}");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {email: null, set: x}\n"),
              "rules.yaml:4: column \"c\": give one transform per column; only json, json_remove "
              "and json_set may be combined");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {json_remove: [a], set: x}\n"),
              "rules.yaml:4: column \"c\": \"set\" cannot be combined with json, json_remove "
              "or json_set; give one transform per column");
}

TEST(SanitizeRules, DuplicatesAreCaught) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: email\n    c: null\n"),
              "rules.yaml:5: column \"c\" of \"t\": the \"c\" appears again (first at line 4); "
              "keep one of them");
    EXPECT_EQ(
        rulesError("version: 1\ntables:\n  t: {c: email}\n  t: {d: email}\n"),
        "rules.yaml:4: table pattern \"t\" appears again (first at line 3); keep one of them");
    EXPECT_EQ(rulesError("version: 1\nversion: 1\n"),
              "rules.yaml:2: top-level key \"version\" appears again (first at line 1); keep one "
              "of them");
}

TEST(SanitizeRules, YamlSyntaxErrorsHaveTheirLine) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t: {c: [email\n  u: {}\n"),
              "rules.yaml:4: not valid YAML: end of sequence flow not found; fix the syntax "
              "(docs/rules.md has a complete example)");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: email\n   d: null\n"),
              "rules.yaml:5: not valid YAML: end of map not found; fix the syntax (docs/rules.md "
              "has a complete example)");
    EXPECT_EQ(rulesError("version: 1\n\t- x\n"),
              "rules.yaml:2: not valid YAML: illegal tab when looking for indentation; fix the "
              "syntax (docs/rules.md has a complete example)");
}

TEST(SanitizeRules, PatternsAreCheckedEarly) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  public.a+b:\n    c: null\n"),
              "rules.yaml:3: pattern \"public.a+b\": \"+\" is a regular-expression character "
              "there, which pgsluice does not support in patterns (only * and ?); to match it "
              "literally, put the name in double quotes, e.g. '\"a+b\"'");
    EXPECT_EQ(rulesError("version: 1\nexclude_table_data:\n  - db.public.t\n"),
              "rules.yaml:3: pattern \"db.public.t\" names a database; rules name tables as "
              "schema.table, so drop the database part");
    EXPECT_EQ(rulesError("version: 1\nexclude_table_data: public.t\n"),
              "rules.yaml:2: exclude_table_data must be a list of table patterns, one per line as "
              "`- public.post_office_*`");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  public.t:\n"),
              "rules.yaml:3: table pattern \"public.t\" needs column rules under it, such as "
              "`email: email`");
}

TEST(SanitizeRules, SaltEnvMustBeAVariableNameAndIsNeverEchoed) {
    const std::string message = rulesError("version: 1\nsalt_env: \"s3cr3t value!\"\n");
    EXPECT_EQ(message,
              "rules.yaml:2: salt_env must name an environment variable (letters, digits and _, "
              "such as PGSLUICE_SALT), not hold the salt itself; export the salt in that variable");
    EXPECT_EQ(message.find("s3cr3t"), std::string::npos);
}

TEST(SanitizeRules, JsonPathsAreChecked) {
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {json_remove: [a..b]}\n"),
              "rules.yaml:4: column \"c\": JSON path \"a..b\" is not a dotted list of keys such "
              "as card.number");
    EXPECT_EQ(rulesError("version: 1\ntables:\n  t:\n    c: {json_remove: [card], json_set: "
                         "{card.number: x}}\n"),
              "rules.yaml:4: column \"c\": JSON paths \"card\" and \"card.number\" overlap; keep "
              "one of them");
}

TEST(SanitizeRules, AfterMustBeAListOfStatements) {
    EXPECT_EQ(
        rulesError("version: 1\nafter: UPDATE t SET x = 1\n"),
        "rules.yaml:2: after must be a list of SQL statements, one per line as `- UPDATE ...`");
    EXPECT_EQ(rulesError("version: 1\nafter:\n  - UPDATE t SET x = 1\n  - {a: b}\n"),
              "rules.yaml:4: each after entry must be one SQL statement as text");
}

TEST(SanitizeRules, EveryProblemIsReportedAtOnce) {
    EXPECT_EQ(
        rulesError("version: 3\ntables:\n  t:\n    a: emial\n    b: {keep_first: -1}\n"
                   "bogus: 1\n"),
        "rules.yaml:1: unsupported version \"3\"; this pgsluice reads rules files of version "
        "1: write `version: 1`\n"
        "rules.yaml:4: column \"a\": unknown transform \"emial\" (did you mean email?); the "
        "transforms are null, set, hash, email, first_name, last_name, full_name, digits, phone, "
        "keep_first, shift_date, noise, uuid, ip, regex_replace, lookup, json, json_remove, "
        "json_set\n"
        "rules.yaml:5: column \"b\": keep_first (characters kept) must be a whole number "
        "from 0 to 1000000\n"
        "rules.yaml:6: unknown key \"bogus\"; the top-level keys are version, salt_env, "
        "exclude_table_data, tables, after, keep, strict, subset and virtual_foreign_keys");
}

TEST(SanitizeRules, ReadsFilesAndNamesThemInMessages) {
    const std::string path = ::testing::TempDir() + "sanitize_rules_test.yaml";
    {
        std::ofstream file(path);
        file << "version: 1\ntables:\n  t:\n    c: nope\n";
    }
    EXPECT_TRUE(usageError([&] { parseRulesFile(path); }).starts_with(path + ":4: column \"c\""));
    {
        std::ofstream file(path);
        file << design_example;
    }
    EXPECT_EQ(parseRulesFile(path).tables.size(), 3u);
    std::remove(path.c_str());
    EXPECT_TRUE(usageError([&] {
                    parseRulesFile(path);
                }).starts_with("cannot read the rules file " + path + ": No such file"));
}

// --- rules hash -------------------------------------------------------------------------------

TEST(SanitizeRulesHash, IgnoresLayoutAndOrderButNotContent) {
    const Rules a = parseRules(design_example, "a.yaml");
    const Rules b = parseRules(R"(
# the same rules, written differently
version: 1
salt_env: OTHER_SALT_VARIABLE
tables:
  "*.*": {ssn: ~}
  public.payments_payment: {meta: {json_remove: ["ip"]}}
  public.accounts_user:
    password: {set: '!'}
    phone: "digits"
    last_name: last_name
    first_name: first_name
    email: email
exclude_table_data: [public.post_office_*, public.notifications_abstractemail]
after: ["UPDATE wagtailcore_site SET hostname = 'staging.example.org'"]
)",
                               "b.yaml");
    EXPECT_EQ(rulesHash(a), rulesHash(b));
    EXPECT_TRUE(std::regex_match(rulesHash(a), std::regex("[0-9a-f]{32}")));
    std::string changed = design_example;
    changed.replace(changed.find("{set: \"!\"}"), 10, "{set: \"?\"}");
    EXPECT_NE(rulesHash(parseRules(changed, "c.yaml")), rulesHash(a));
    EXPECT_EQ(normalizedRules(a).find("PGSLUICE_SALT"), std::string::npos);
}

// --- validation against the catalogue ---------------------------------------------------------

CatalogColumn col(std::string name, std::string type, bool not_null = false, bool unique = false) {
    return CatalogColumn{std::move(name), std::move(type), not_null, unique, false};
}

std::vector<CatalogTable> sampleCatalog() {
    return {
        {"public",
         "accounts_user",
         true,
         true,
         {col("id", "integer", true, true), col("email", "character varying(254)", true, true),
          col("first_name", "character varying(150)", true),
          col("last_name", "character varying(150)", true), col("phone", "text"),
          col("password", "character varying(128)", true), col("ssn", "text")}},
        {"public",
         "payments_payment",
         true,
         true,
         {col("id", "bigint", true, true), col("meta", "jsonb"), col("amount", "numeric(10,2)")}},
        {"public", "notifications_abstractemail", true, true, {col("id", "integer", true, true)}},
        {"hr", "employee", false, true, {col("ssn", "character(11)"), col("born", "date")}},
    };
}

SanitizePlan check(const std::string& rules_text,
                   const std::vector<CatalogTable>& catalog = sampleCatalog()) {
    return validateRules(parseRules(rules_text, "rules.yaml"), catalog, testKey());
}

std::string checkError(const std::string& rules_text,
                       const std::vector<CatalogTable>& catalog = sampleCatalog()) {
    return usageError([&] { check(rules_text, catalog); });
}

TEST(SanitizeValidate, DesignExamplePlan) {
    const SanitizePlan plan = check(design_example);
    ASSERT_EQ(plan.tables.size(), 3u);
    const TableSanitizer* users = plan.find("public", "accounts_user");
    ASSERT_NE(users, nullptr);
    EXPECT_EQ(users->table_index, 0u);
    EXPECT_EQ(users->column_count, 7);
    ASSERT_EQ(users->columns.size(), 6u);  // five named, plus ssn from "*.*"
    EXPECT_EQ(users->columns[0].index, 1);
    EXPECT_EQ(users->columns[0].name, "email");
    EXPECT_EQ(users->columns[0].line, 8);
    EXPECT_EQ(users->columns[5].name, "ssn");
    EXPECT_EQ(users->columns[5].line, 16);
    EXPECT_TRUE(users->columns[5].transform->outputsNull());
    const TableSanitizer* payments = plan.find("public", "payments_payment");
    ASSERT_NE(payments, nullptr);
    ASSERT_EQ(payments->columns.size(), 1u);  // "*.*" ssn skipped: no such column
    EXPECT_EQ(payments->columns[0].index, 1);
    const TableSanitizer* employee = plan.find("hr", "employee");
    ASSERT_NE(employee, nullptr);
    EXPECT_EQ(employee->columns[0].name, "ssn");
    EXPECT_EQ(plan.find("public", "notifications_abstractemail"), nullptr);
    EXPECT_TRUE(plan.warnings.empty());
}

TEST(SanitizeValidate, TablesThatMatchNothing) {
    EXPECT_EQ(checkError("version: 1\ntables:\n  public.acounts_user:\n    email: null\n"),
              "rules.yaml:3: table pattern \"public.acounts_user\" matches no table in the "
              "source; check the spelling (names match as in pg_dump -t: unquoted letters fold "
              "to lower case, and a name without a schema finds only tables on the search path)");
    const SanitizePlan plan = check("version: 1\ntables:\n  audit.*:\n    email: null\n");
    EXPECT_TRUE(plan.tables.empty());
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_EQ(plan.warnings[0],
              "rules.yaml:3: table pattern \"audit.*\" matches no table in the source");
    // Without a schema, only visible tables match, as with pg_dump -t.
    EXPECT_NE(
        checkError("version: 1\ntables:\n  employee:\n    ssn: null\n").find("matches no table"),
        std::string::npos);
    EXPECT_EQ(check("version: 1\ntables:\n  ACCOUNTS_USER:\n    ssn: null\n").tables.size(), 1u);
}

TEST(SanitizeValidate, MissingColumnsAreErrorsForExactNamesOnly) {
    EXPECT_EQ(checkError("version: 1\ntables:\n  public.accounts_user:\n    emial: null\n"),
              "rules.yaml:4: table public.accounts_user has no column \"emial\" (its columns: "
              "id, email, first_name, last_name, phone, password, ssn); fix the name, which must "
              "match exactly, case included");
    const SanitizePlan plan = check("version: 1\ntables:\n  public.*:\n    phone: null\n");
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.tables[0].name, "accounts_user");
}

TEST(SanitizeValidate, TypesMustBeAccepted) {
    EXPECT_EQ(checkError("version: 1\nsalt_env: S\ntables:\n  public.payments_payment:\n"
                         "    amount: digits\n"),
              "rules.yaml:5: digits cannot rewrite public.payments_payment.amount of type "
              "numeric(10,2); it accepts text, character varying, character, name, citext (null "
              "accepts every type)");
    EXPECT_NO_THROW(check("version: 1\ntables:\n  public.payments_payment:\n    amount: null\n"));
    EXPECT_NO_THROW(
        check("version: 1\nsalt_env: S\ntables:\n  hr.employee:\n"
              "    born: {shift_date: 10}\n    ssn: digits\n"));
}

TEST(SanitizeValidate, NullNeedsANullableColumn) {
    EXPECT_EQ(checkError("version: 1\ntables:\n  public.accounts_user:\n    password: null\n"),
              "rules.yaml:4: null on public.accounts_user.password, which is NOT NULL; use set "
              "or a transform that keeps a value");
    auto catalog = sampleCatalog();
    catalog[0].columns[6].unique = true;
    EXPECT_NO_THROW(
        check("version: 1\ntables:\n  public.accounts_user:\n    ssn: null\n", catalog));
    catalog[0].columns[6].nulls_not_distinct = true;
    EXPECT_EQ(checkError("version: 1\ntables:\n  public.accounts_user:\n    ssn: null\n", catalog),
              "rules.yaml:4: null on public.accounts_user.ssn, which a NULLS NOT DISTINCT unique "
              "index covers: two NULLs would collide; use email, digits or hash");
}

TEST(SanitizeValidate, UniqueColumnsNeedUniquenessKeepingTransforms) {
    EXPECT_EQ(checkError("version: 1\ntables:\n  public.accounts_user:\n    email: {set: x}\n"),
              "rules.yaml:4: {set: \"x\"} on public.accounts_user.email, which a primary key or "
              "unique index covers: it can map distinct values to one; use a transform that "
              "keeps uniqueness (email, digits, phone, uuid, ip, hash at its full length, null)");
    EXPECT_NE(checkError("version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n"
                         "    email: {hash: {length: 16}}\n")
                  .find("rules.yaml:5: {hash: {length: 16}} on public.accounts_user.email"),
              std::string::npos);
    EXPECT_NO_THROW(
        check("version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n"
              "    email: hash\n"));
    EXPECT_NO_THROW(
        check("version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n"
              "    email: digits\n"));
}

TEST(SanitizeValidate, OptionsMustFitTheColumn) {
    auto catalog = sampleCatalog();
    catalog[0].columns[1].type_name = "character varying(40)";
    EXPECT_EQ(checkError("version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n"
                         "    email: email\n",
                         catalog),
              "rules.yaml:5: public.accounts_user.email: email writes 53 characters but the "
              "column is character varying(40); widen the column or use {hash: {length: N}}");
    EXPECT_EQ(
        checkError("version: 1\ntables:\n  public.payments_payment:\n    meta: {set: nope}\n"),
        "rules.yaml:4: public.payments_payment.meta: \"nope\" is not a JSON document; "
        "write one such as '{}' or '\"x\"'");
}

TEST(SanitizeValidate, ExactNamesOverrideWildcardsAndDisagreementsAreErrors) {
    const SanitizePlan plan = check(
        "version: 1\nsalt_env: S\ntables:\n  \"*.*\":\n    ssn: null\n  hr.employee:\n"
        "    ssn: digits\n");
    const TableSanitizer* employee = plan.find("hr", "employee");
    ASSERT_NE(employee, nullptr);
    EXPECT_EQ(employee->columns[0].transform->spec().kind, TransformKind::digits);
    EXPECT_EQ(employee->columns[0].line, 7);
    EXPECT_EQ(plan.find("public", "accounts_user")->columns[0].transform->spec().kind,
              TransformKind::null_value);
    EXPECT_EQ(checkError("version: 1\nsalt_env: S\ntables:\n  \"*.*\":\n    ssn: null\n"
                         "  \"hr.*\":\n    ssn: digits\n"),
              "rules.yaml:7: hr.employee.ssn is ruled twice: digits here (pattern \"hr.*\") and "
              "null at line 5 (pattern \"*.*\"); keep one, or rule the table by its exact name, "
              "which overrides wildcard patterns");
    // Agreeing rules are fine.
    EXPECT_NO_THROW(
        check("version: 1\ntables:\n  \"*.*\":\n    ssn: null\n  \"hr.*\":\n"
              "    ssn: null\n"));
}

TEST(SanitizeValidate, EveryProblemAtOnceInLineOrder) {
    const std::string message = checkError(
        "version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n"
        "    password: null\n    nope: email\n  public.missing:\n    x: null\n"
        "  public.payments_payment:\n    amount: email\n");
    EXPECT_EQ(message,
              "rules.yaml:5: null on public.accounts_user.password, which is NOT NULL; use set "
              "or a transform that keeps a value\n"
              "rules.yaml:6: table public.accounts_user has no column \"nope\" (its columns: id, "
              "email, first_name, last_name, phone, password, ssn); fix the name, which must "
              "match exactly, case included\n"
              "rules.yaml:7: table pattern \"public.missing\" matches no table in the source; "
              "check the spelling (names match as in pg_dump -t: unquoted letters fold to lower "
              "case, and a name without a schema finds only tables on the search path)\n"
              "rules.yaml:10: email cannot rewrite public.payments_payment.amount of type "
              "numeric(10,2); it accepts text, character varying, character, name, citext (null "
              "accepts every type)");
}

TEST(SanitizeValidate, RuledTablesMustMoveAsBinary) {
    auto catalog = sampleCatalog();
    catalog[3].binary_copy = false;
    EXPECT_NE(checkError("version: 1\ntables:\n  hr.employee:\n    ssn: null\n", catalog)
                  .find("rules.yaml:4: hr.employee has a column of a composite"),
              std::string::npos);
}

TEST(SanitizeValidate, CitextFromAnotherSchemaIsText) {
    std::vector<CatalogTable> catalog{
        {"app", "people", true, true, {col("email", "extensions.citext", true, true)}}};
    const SanitizePlan plan =
        check("version: 1\nsalt_env: S\ntables:\n  app.people:\n    email: email\n", catalog);
    ASSERT_EQ(plan.tables.size(), 1u);
    EXPECT_EQ(plan.tables[0].columns[0].transform->columnType().kind, TypeKind::citext);
}

// --- row rewriter -----------------------------------------------------------------------------

using Value = std::optional<std::string>;

std::string row(const std::vector<Value>& fields) {
    std::string out;
    copy::BinaryWriter writer(out);
    writer.beginRow(static_cast<int>(fields.size()));
    for (const Value& field : fields) {
        if (field) {
            writer.appendField(std::string_view(*field));
        } else {
            writer.appendNull();
        }
    }
    return out;
}

std::vector<Value> fieldsOf(std::string_view bytes) {
    std::vector<Value> out;
    for (const copy::Field& field : copy::RowView(copy::asBytes(bytes))) {
        out.push_back(field.is_null ? Value{} : Value{std::string(field.text())});
    }
    return out;
}

const std::string users_rules =
    "version: 1\nsalt_env: S\ntables:\n  public.accounts_user:\n    email: email\n"
    "    phone: digits\n    ssn: null\n    password: {set: \"!\"}\n";

TEST(SanitizeRowRewriter, RewritesRuledFieldsAndPassesTheRestThrough) {
    const SanitizePlan plan = check(users_rules);
    RowRewriter rewriter(*plan.find("public", "accounts_user"));
    const std::vector<Value> input{be32(7), "ann@example.com", "Ann",        "Lee",
                                   Value{}, "pbkdf2$secret",   "123-45-6789"};
    std::string out = "prefix";
    rewriter.rewrite(copy::asBytes(row(input)), out, 1);
    ASSERT_TRUE(out.starts_with("prefix"));
    const std::vector<Value> fields = fieldsOf(std::string_view(out).substr(6));
    ASSERT_EQ(fields.size(), 7u);
    EXPECT_EQ(fields[0], input[0]);
    EXPECT_EQ(fields[1], run("email", "text", "ann@example.com"));
    EXPECT_EQ(fields[2], input[2]);
    EXPECT_EQ(fields[3], input[3]);
    EXPECT_EQ(fields[4], Value{});  // NULL phone stays NULL under digits
    EXPECT_EQ(fields[5], "!");
    EXPECT_EQ(fields[6], Value{});  // null rule
}

TEST(SanitizeRowRewriter, RowWithoutRuledValuesIsByteForByteExceptRules) {
    const SanitizePlan plan = check(users_rules);
    RowRewriter rewriter(*plan.find("public", "accounts_user"));
    const std::string input = row({be32(1), Value{}, "", "", Value{}, Value{}, Value{}});
    std::string out;
    rewriter.rewrite(copy::asBytes(input), out);
    EXPECT_EQ(out, input);  // NULLs stay NULL, empty strings stay empty
}

TEST(SanitizeRowRewriter, RunsOfUntouchedFieldsAroundRuledOnes) {
    std::vector<CatalogTable> catalog{{"public",
                                       "t",
                                       true,
                                       true,
                                       {col("a", "text"), col("b", "text"), col("c", "text"),
                                        col("d", "text"), col("e", "text")}}};
    const std::vector<Value> input{"first", Value{}, "", "fourth", "fifth"};
    for (const std::string ruled : {"a", "b", "c", "e"}) {
        const SanitizePlan plan =
            check("version: 1\ntables:\n  public.t:\n    " + ruled + ": {set: X}\n", catalog);
        RowRewriter rewriter(plan.tables.at(0));
        std::string out;
        rewriter.rewrite(copy::asBytes(row(input)), out);
        std::vector<Value> expected = input;
        const auto at = static_cast<std::size_t>(ruled[0] - 'a');
        expected[at] = input[at] ? Value{"X"} : Value{};
        EXPECT_EQ(fieldsOf(out), expected) << ruled;
    }
    // A table whose rules all dropped out copies rows unchanged.
    const TableSanitizer unruled{0, "public", "t", 5, {}};
    RowRewriter identity(unruled);
    std::string out;
    identity.rewrite(copy::asBytes(row(input)), out);
    EXPECT_EQ(out, row(input));
}

// Collects a stream, and how large a single write was at most.
class CollectingSink : public copy::ChunkSink {
  public:
    void write(std::string_view chunk) override {
        bytes += chunk;
        ++writes;
    }
    void finish() override { finished = true; }
    std::string bytes;
    int writes = 0;
    bool finished = false;
};

TEST(SanitizeRowRewriter, HugeUntouchedValuesGoStraightToTheNextSink) {
    std::vector<CatalogTable> catalog{
        {"public", "t", true, true, {col("big", "text"), col("small", "text")}}};
    const SanitizePlan plan =
        check("version: 1\ntables:\n  public.t:\n    small: {set: X}\n", catalog);
    const std::string big(5 << 20, 'b');  // untouched, over RowRewriter::pass_through_bytes
    std::string stream;
    {
        copy::BinaryWriter writer(stream);
        writer.writeHeader();
    }
    stream += row({big, "secret"});
    stream += row({"short", "secret"});
    {
        copy::BinaryWriter writer(stream);
        writer.writeTrailer();
    }
    CollectingSink sink;
    SanitizingSink sanitize(plan.tables.at(0), sink);
    sanitize.write(stream);
    sanitize.finish();
    EXPECT_TRUE(sink.finished);
    // The same stream as a whole-row rewrite gives, with the ruled values replaced.
    std::string expected;
    {
        copy::BinaryWriter writer(expected);
        writer.writeHeader();
    }
    expected += row({big, "X"});
    expected += row({"short", "X"});
    {
        copy::BinaryWriter writer(expected);
        writer.writeTrailer();
    }
    EXPECT_EQ(sink.bytes.size(), expected.size());
    EXPECT_TRUE(sink.bytes == expected);
    // The huge value went on as a write of its own, not through the batch buffer.
    EXPECT_GE(sink.writes, 3);
}

TEST(SanitizeRowRewriter, MalformedRowsAndFieldsNameTableColumnAndRow) {
    std::vector<CatalogTable> catalog{
        {"public", "events", true, true, {col("id", "integer"), col("at", "date")}}};
    const SanitizePlan plan = check(
        "version: 1\nsalt_env: S\ntables:\n  public.events:\n    at: {shift_date: 5}\n", catalog);
    RowRewriter rewriter(plan.tables.at(0));
    std::string out;
    EXPECT_EQ(formatError([&] {
                  rewriter.rewrite(copy::asBytes(row({be32(1), "xx"})), out, 12);
              }),
              "table public.events, column at, row 12: shift_date: a date field has 2 bytes; its "
              "binary form has 4");
    out.clear();
    EXPECT_NE(
        formatError([&] { rewriter.rewrite(copy::asBytes(row({be32(1)})), out, 13); }).find("13"),
        std::string::npos);
}

// The allocations of 50 passes of `rewriter` over `rows`, after one pass to let its scratch
// buffers grow.
long allocationsRewritingOnceWarm(RowRewriter& rewriter, const std::vector<std::string>& rows) {
    std::string out;
    out.reserve(1 << 16);
    for (const std::string& r : rows) {
        rewriter.rewrite(copy::asBytes(r), out);
    }
    return allocationsDuring([&] {
        for (int pass = 0; pass < 50; ++pass) {
            for (const std::string& r : rows) {
                out.clear();
                rewriter.rewrite(copy::asBytes(r), out);
            }
        }
    });
}

TEST(SanitizeRowRewriter, AllocatesNothingPerRowOnceWarm) {
    if (!allocationsCounted()) {
        GTEST_SKIP() << "operator new is replaced elsewhere in this binary; cannot count";
    }
    std::vector<CatalogTable> catalog{
        {"public",
         "people",
         true,
         true,
         {col("id", "integer"), col("email", "text"), col("first", "text"), col("last", "text"),
          col("full", "character(30)"), col("phone", "text"), col("pw", "text"),
          col("note", "text"), col("born", "date"), col("seen", "timestamptz"),
          col("meta", "jsonb"), col("token", "text"), col("ssn", "text"), col("key", "uuid")}}};
    const SanitizePlan plan = check(
        "version: 1\nsalt_env: S\ntables:\n  public.people:\n    email: email\n"
        "    first: first_name\n    last: last_name\n    full: full_name\n    phone: digits\n"
        "    pw: {set: \"!\"}\n    note: {keep_first: 3}\n    born: {shift_date: 30}\n"
        "    seen: {shift_date: 2}\n    meta: {json_remove: [ip], json_set: {\"a.b\": 1}}\n"
        "    token: {hash: {length: 20}}\n    ssn: null\n    key: hash\n",
        catalog);
    RowRewriter rewriter(plan.tables.at(0));
    std::vector<std::string> rows;
    for (int i = 0; i < 64; ++i) {
        const std::string n = std::to_string(i);
        rows.push_back(
            row({be32(i), "user" + n + "@example.com", "Ann" + n, "Lée" + n,
                 "Ann Lee " + n + std::string(30 - 8 - n.size(), ' '), "+1 (555) 010-" + n, "pw",
                 "a note about " + n, be32(i * 37), be64(i * 1000000007LL),
                 "\1{\"ip\": \"10.0.0." + n + "\", \"a\": {\"b\": 2}}", "tok" + n, "123-45-" + n,
                 std::string(16, static_cast<char>(i))}));
    }
    EXPECT_EQ(allocationsRewritingOnceWarm(rewriter, rows), 0);
}

TEST(SanitizeRowRewriter, TheNewTransformsAllocateNothingPerRowOnceWarm) {
    if (!allocationsCounted()) {
        GTEST_SKIP() << "operator new is replaced elsewhere in this binary; cannot count";
    }
    std::vector<CatalogTable> catalog{
        {"public",
         "people",
         true,
         true,
         {col("phone", "text"), col("ext", "uuid"), col("ext_text", "text"), col("addr", "inet"),
          col("addr_text", "text"), col("amount", "numeric(12,2)"),
          col("score", "double precision"), col("visits", "integer"), col("avatar", "bytea"),
          col("profile", "jsonb"), col("note", "text"), col("balance", "numeric(12,2)")}}};
    const SanitizePlan plan = check(
        "version: 1\nsalt_env: S\ntables:\n  public.people:\n    phone: phone\n    ext: uuid\n"
        "    ext_text: uuid\n    addr: {ip: {keep_prefix: 8}}\n    addr_text: ip\n"
        "    amount: {noise: {percent: 10}}\n    score: {noise: {percent: 10}}\n"
        "    visits: {noise: {percent: 10}}\n    avatar: hash\n"
        "    profile: {json: {\"user.email\": email, \"phones.*\": phone, amount: {noise: "
        "{percent: 5}}}}\n"
        "    note: {regex_replace: {pattern: '([0-9]{4})-([0-9]{4})', replacement: 'XXXX-\\2'}}\n"
        "    balance: {set: \"0.5\"}\n",
        catalog);
    RowRewriter rewriter(plan.tables.at(0));
    std::vector<std::string> rows;
    for (int i = 0; i < 64; ++i) {
        const std::string n = std::to_string(i);
        const std::string cents = std::to_string(1000 + i);
        rows.push_back(row(
            {"+61 4" + std::to_string(10000000 + i), std::string(16, static_cast<char>(i + 1)),
             "a0eebc99-9c0b-4ef8-bb6d-6bb9bd3800" + std::to_string(10 + i),
             std::string("\2\40\0\4", 4) + be32(0x0A000000 + i), "192.168.0." + n,
             be16(2) + be16(0) + be16(0) + be16(2) + be16(static_cast<std::int16_t>(1 + i)) +
                 be16(5000),
             be64(0x4059000000000000LL + i), be32(1000 + i), "avatar bytes " + n,
             "\1{\"user\": {\"email\": \"u" + n + "@example.com\"}, \"phones\": [\"+44 20 7946 " +
                 cents + "\"], \"amount\": " + n + ".25}",
             "card 4111-" + cents + " on file", be16(0) + be16(0) + be16(0) + be16(2)}));
    }
    EXPECT_EQ(allocationsRewritingOnceWarm(rewriter, rows), 0);
}

}  // namespace
}  // namespace pgsluice::sanitize
