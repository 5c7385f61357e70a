// Throughput of the sanitiser: each transform on realistic values, and the row rewriter on a
// realistic 8-column row with 3 ruled columns against a pass-through copy of the same rows.
//
// Items are values (transforms) or rows (rewriter); bytes are input bytes. Every benchmark
// cycles through a few thousand distinct values built once, so the hash inputs vary as they
// would in a real table.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pgsluice/copy/binary_writer.hpp"
#include "pgsluice/sanitize/row_rewriter.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::sanitize {
namespace {

constexpr int value_count = 4096;

std::string bigEndian(std::uint64_t value, int bytes) {
    std::string out(static_cast<std::size_t>(bytes), '\0');
    for (int i = bytes - 1; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xFF);
        value >>= 8;
    }
    return out;
}

const SaltKey& benchKey() {
    static const SaltKey key = SaltKey::fromSalt("pgsluice benchmark salt 0123456789");
    return key;
}

std::string word(std::mt19937_64& random, std::size_t min, std::size_t max) {
    std::string out(min + random() % (max - min + 1), 'a');
    for (char& c : out) {
        c = static_cast<char>('a' + random() % 26);
    }
    return out;
}

// Values shaped like what each transform meets in production.
std::vector<std::string> emails() {
    std::mt19937_64 random(1);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(word(random, 4, 12) + "." + word(random, 3, 10) + "@" + word(random, 5, 9) +
                      ".com");
    }
    return out;
}

std::vector<std::string> names() {
    std::mt19937_64 random(2);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        std::string name = word(random, 3, 9);
        name[0] = static_cast<char>(name[0] - 'a' + 'A');
        out.push_back(i % 10 == 0 ? name + "ë" : name);
    }
    return out;
}

std::vector<std::string> fullNames() {
    std::vector<std::string> first = names();
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(first[static_cast<std::size_t>(i)] + " " +
                      first[static_cast<std::size_t>((i * 7 + 3) % value_count)]);
    }
    return out;
}

std::vector<std::string> phones() {
    std::mt19937_64 random(3);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back("+1 (" + std::to_string(200 + random() % 800) + ") " +
                      std::to_string(100 + random() % 900) + "-" +
                      std::to_string(1000 + random() % 9000));
    }
    return out;
}

std::vector<std::string> dates() {
    std::mt19937_64 random(4);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(
            bigEndian(static_cast<std::uint64_t>(-15000 + static_cast<int>(random() % 20000)), 4));
    }
    return out;
}

std::vector<std::string> timestamps() {
    std::mt19937_64 random(5);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(bigEndian(757479845678000 + random() % 100000000000000, 8));
    }
    return out;
}

std::vector<std::string> uuids() {
    std::mt19937_64 random(6);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(bigEndian(random(), 8) + bigEndian(random(), 8));
    }
    return out;
}

// A jsonb payment metadata document of about 200 bytes, as jsonb_send writes it.
std::vector<std::string> jsonbDocuments() {
    std::mt19937_64 random(7);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back("\1{\"ip\": \"10." + std::to_string(random() % 256) + "." +
                      std::to_string(random() % 256) + ".7\", \"card\": {\"brand\": \"visa\", " +
                      "\"last4\": \"" + std::to_string(1000 + random() % 9000) +
                      "\", \"number\": \"4111111111111111\"}, \"amount\": " +
                      std::to_string(random() % 100000) +
                      ", \"items\": [{\"sku\": \"A-1\", \"qty\": 2}, {\"sku\": \"B-2\", \"qty\": "
                      "1}], \"user_agent\": \"Mozilla/5.0 (X11; Linux x86_64)\"}");
    }
    return out;
}

void runTransform(benchmark::State& state, const std::string& rule, const std::string& type,
                  const std::vector<std::string>& values) {
    const Rules rules =
        parseRules("version: 1\nsalt_env: S\ntables:\n  public.t:\n    c: " + rule + "\n", "bench");
    const auto transform =
        makeTransform(rules.tables.at(0).columns.at(0).transform, classifyType(type), benchKey());
    Scratch scratch;
    std::string out;
    out.reserve(1 << 12);
    std::size_t i = 0;
    std::int64_t bytes = 0;
    for (auto _ : state) {
        const std::string& value = values[i];
        i = (i + 1) % values.size();
        out.clear();
        transform->apply(copy::asBytes(value), out, scratch);
        benchmark::DoNotOptimize(out.data());
        bytes += static_cast<std::int64_t>(value.size());
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(bytes);
}

void BM_Email(benchmark::State& state) {
    static const auto values = emails();
    runTransform(state, "email", "character varying(254)", values);
}
BENCHMARK(BM_Email);

void BM_Hash(benchmark::State& state) {
    static const auto values = emails();
    runTransform(state, "hash", "text", values);
}
BENCHMARK(BM_Hash);

void BM_HashUuid(benchmark::State& state) {
    static const auto values = uuids();
    runTransform(state, "hash", "uuid", values);
}
BENCHMARK(BM_HashUuid);

void BM_FirstName(benchmark::State& state) {
    static const auto values = names();
    runTransform(state, "first_name", "character varying(150)", values);
}
BENCHMARK(BM_FirstName);

void BM_LastName(benchmark::State& state) {
    static const auto values = names();
    runTransform(state, "last_name", "text", values);
}
BENCHMARK(BM_LastName);

void BM_FullName(benchmark::State& state) {
    static const auto values = fullNames();
    runTransform(state, "full_name", "text", values);
}
BENCHMARK(BM_FullName);

void BM_FullNameBpchar(benchmark::State& state) {
    static const auto values = [] {
        std::vector<std::string> padded = fullNames();
        for (std::string& value : padded) {
            value.resize(40, ' ');
        }
        return padded;
    }();
    runTransform(state, "full_name", "character(40)", values);
}
BENCHMARK(BM_FullNameBpchar);

void BM_Digits(benchmark::State& state) {
    static const auto values = phones();
    runTransform(state, "digits", "text", values);
}
BENCHMARK(BM_Digits);

void BM_KeepFirst(benchmark::State& state) {
    static const auto values = fullNames();
    runTransform(state, "{keep_first: 2}", "text", values);
}
BENCHMARK(BM_KeepFirst);

void BM_Set(benchmark::State& state) {
    static const auto values = emails();
    runTransform(state, "{set: \"!\"}", "text", values);
}
BENCHMARK(BM_Set);

void BM_ShiftDate(benchmark::State& state) {
    static const auto values = dates();
    runTransform(state, "{shift_date: 30}", "date", values);
}
BENCHMARK(BM_ShiftDate);

void BM_ShiftTimestamptz(benchmark::State& state) {
    static const auto values = timestamps();
    runTransform(state, "{shift_date: 30}", "timestamp with time zone", values);
}
BENCHMARK(BM_ShiftTimestamptz);

void BM_JsonRemove(benchmark::State& state) {
    static const auto values = jsonbDocuments();
    runTransform(state, "{json_remove: [ip, card.number]}", "jsonb", values);
}
BENCHMARK(BM_JsonRemove);

void BM_JsonSet(benchmark::State& state) {
    static const auto values = jsonbDocuments();
    runTransform(state, "{json_set: {card.last4: \"0000\", ip: \"0.0.0.0\"}}", "jsonb", values);
}
BENCHMARK(BM_JsonSet);

void BM_JsonUntouched(benchmark::State& state) {
    static const auto values = jsonbDocuments();
    runTransform(state, "{json_remove: [absent]}", "jsonb", values);
}
BENCHMARK(BM_JsonUntouched);

// --- the transforms of issue 14 ----------------------------------------------------------------

std::vector<std::string> internationalPhones() {
    std::mt19937_64 random(8);
    const char* const prefixes[] = {"+61 4", "+44 (0)20 ", "+33 6 ", "+1 (415) ", "0049 151 "};
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(prefixes[i % 5] + std::to_string(1000000 + random() % 9000000));
    }
    return out;
}

std::vector<std::string> uuidTexts() {
    std::vector<std::string> out;
    static constexpr char hex[] = "0123456789abcdef";
    for (const std::string& binary : uuids()) {
        std::string text;
        for (std::size_t i = 0; i < binary.size(); ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) {
                text += '-';
            }
            text += hex[static_cast<unsigned char>(binary[i]) >> 4];
            text += hex[static_cast<unsigned char>(binary[i]) & 15];
        }
        out.push_back(text);
    }
    return out;
}

// inet_send's form of IPv4 hosts (family 2, /32), and one in eight IPv6.
std::vector<std::string> inetValues() {
    std::mt19937_64 random(9);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        if (i % 8 == 0) {
            out.push_back(std::string("\3\200\0\20", 4) + bigEndian(random(), 8) +
                          bigEndian(random(), 8));
        } else {
            out.push_back(std::string("\2\40\0\4", 4) + bigEndian(random(), 4));
        }
    }
    return out;
}

std::vector<std::string> ipTexts() {
    std::mt19937_64 random(10);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(std::to_string(random() % 256) + "." + std::to_string(random() % 256) + "." +
                      std::to_string(random() % 256) + "." + std::to_string(random() % 256));
    }
    return out;
}

std::vector<std::string> notes() {
    std::mt19937_64 random(11);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back("Customer called about card " + std::to_string(4000 + random() % 1000) +
                      "-1111-1111-" + std::to_string(1000 + random() % 9000) +
                      ", asked to call back " + word(random, 3, 10));
    }
    return out;
}

// numeric_send's form of a numeric(12,2) amount: up to 99999.99.
std::vector<std::string> amounts() {
    std::mt19937_64 random(12);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        const std::uint64_t cents = random() % 10000000;
        const std::uint64_t integer = cents / 100;
        std::string form;
        const std::uint64_t groups[] = {integer / 10000, integer % 10000, cents % 100 * 100};
        const bool big = groups[0] != 0;
        form += bigEndian(big ? 3 : 2, 2);
        form += bigEndian(big ? 1 : 0, 2);
        form += bigEndian(0, 2);
        form += bigEndian(2, 2);
        for (std::size_t g = big ? 0 : 1; g < 3; ++g) {
            form += bigEndian(groups[g], 2);
        }
        out.push_back(form);
    }
    return out;
}

std::vector<std::string> integers() {
    std::mt19937_64 random(13);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back(bigEndian(random() % 1000000, 4));
    }
    return out;
}

std::vector<std::string> doubles() {
    std::mt19937_64 random(14);
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        const double value = static_cast<double>(random() % 10000000) / 100.0;
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        out.push_back(bigEndian(bits, 8));
    }
    return out;
}

// A jsonb profile of about 250 bytes with an e-mail, phones and an amount at known paths.
std::vector<std::string> jsonbProfiles() {
    std::mt19937_64 random(15);
    const std::vector<std::string> addresses = emails();
    std::vector<std::string> out;
    for (int i = 0; i < value_count; ++i) {
        out.push_back("\1{\"user\": {\"email\": \"" + addresses[static_cast<std::size_t>(i)] +
                      "\", \"id\": " + std::to_string(random() % 1000000) +
                      "}, \"phones\": [\"+61 4" + std::to_string(10000000 + random() % 90000000) +
                      "\", \"+44 20 " + std::to_string(10000000 + random() % 90000000) +
                      "\"], \"amount\": " + std::to_string(random() % 100000) +
                      ".25, \"user_agent\": \"Mozilla/5.0 (X11; Linux x86_64)\", \"tags\": "
                      "[\"a\", \"b\"]}");
    }
    return out;
}

std::string lookupFile() {
    const std::string path = "/tmp/pgsluice_bench_cities.txt";
    std::FILE* file = std::fopen(path.c_str(), "w");
    for (int i = 0; i < 1000; ++i) {
        std::fprintf(file, "City %d\n", i);
    }
    std::fclose(file);
    return path;
}

void BM_Phone(benchmark::State& state) {
    static const auto values = internationalPhones();
    runTransform(state, "phone", "text", values);
}
BENCHMARK(BM_Phone);

void BM_UuidBinary(benchmark::State& state) {
    static const auto values = uuids();
    runTransform(state, "uuid", "uuid", values);
}
BENCHMARK(BM_UuidBinary);

void BM_UuidText(benchmark::State& state) {
    static const auto values = uuidTexts();
    runTransform(state, "uuid", "text", values);
}
BENCHMARK(BM_UuidText);

void BM_IpInet(benchmark::State& state) {
    static const auto values = inetValues();
    runTransform(state, "{ip: {keep_prefix: 8}}", "inet", values);
}
BENCHMARK(BM_IpInet);

void BM_IpText(benchmark::State& state) {
    static const auto values = ipTexts();
    runTransform(state, "ip", "text", values);
}
BENCHMARK(BM_IpText);

void BM_RegexReplace(benchmark::State& state) {
    static const auto values = notes();
    runTransform(
        state,
        R"({regex_replace: {pattern: '[0-9]{4}-[0-9]{4}-[0-9]{4}-([0-9]{4})', replacement: 'XXXX-XXXX-XXXX-\1'}})",
        "text", values);
}
BENCHMARK(BM_RegexReplace);

void BM_Lookup(benchmark::State& state) {
    static const auto values = names();
    static const std::string file = lookupFile();
    runTransform(state, "{lookup: " + file + "}", "text", values);
}
BENCHMARK(BM_Lookup);

void BM_NoiseNumeric(benchmark::State& state) {
    static const auto values = amounts();
    runTransform(state, "{noise: {percent: 10}}", "numeric(12,2)", values);
}
BENCHMARK(BM_NoiseNumeric);

void BM_NoiseInteger(benchmark::State& state) {
    static const auto values = integers();
    runTransform(state, "{noise: {percent: 10}}", "integer", values);
}
BENCHMARK(BM_NoiseInteger);

void BM_NoiseFloat8(benchmark::State& state) {
    static const auto values = doubles();
    runTransform(state, "{noise: {percent: 10}}", "double precision", values);
}
BENCHMARK(BM_NoiseFloat8);

void BM_SetNumeric(benchmark::State& state) {
    static const auto values = amounts();
    runTransform(state, "{set: \"0.00\"}", "numeric(12,2)", values);
}
BENCHMARK(BM_SetNumeric);

void BM_HashBytea(benchmark::State& state) {
    static const auto values = uuids();
    runTransform(state, "hash", "bytea", values);
}
BENCHMARK(BM_HashBytea);

void BM_JsonPaths(benchmark::State& state) {
    static const auto values = jsonbProfiles();
    runTransform(
        state,
        R"({json: {"user.email": email, "phones.*": phone, "amount": {noise: {percent: 10}}}})",
        "jsonb", values);
}
BENCHMARK(BM_JsonPaths);

void BM_JsonPathsUntouched(benchmark::State& state) {
    static const auto values = jsonbProfiles();
    runTransform(state, R"({json: {"absent.email": email}})", "jsonb", values);
}
BENCHMARK(BM_JsonPathsUntouched);

// --- row rewriter -----------------------------------------------------------------------------
// users(id int4, account_id int8, email text, first_name varchar(150), phone text,
//       created_at timestamptz, bio text (mostly NULL), active bool), rules on email,
//       first_name and phone.

const std::vector<CatalogTable>& usersCatalog() {
    static const std::vector<CatalogTable> catalog{
        {"public",
         "users",
         true,
         true,
         {{"id", "integer", true, true, false},
          {"account_id", "bigint", true, false, false},
          {"email", "text", true, true, false},
          {"first_name", "character varying(150)", false, false, false},
          {"phone", "text", false, false, false},
          {"created_at", "timestamp with time zone", true, false, false},
          {"bio", "text", false, false, false},
          {"active", "boolean", true, false, false}}}};
    return catalog;
}

const std::vector<std::string>& userRows() {
    static const std::vector<std::string> rows = [] {
        std::mt19937_64 random(8);
        const std::vector<std::string> mails = emails();
        const std::vector<std::string> first = names();
        const std::vector<std::string> phone = phones();
        std::vector<std::string> out;
        for (int i = 0; i < value_count; ++i) {
            const auto at = static_cast<std::size_t>(i);
            std::string row;
            copy::BinaryWriter writer(row);
            writer.beginRow(8);
            writer.appendField(std::string_view{bigEndian(static_cast<std::uint64_t>(i), 4)});
            writer.appendField(std::string_view{bigEndian(random() % 1000000, 8)});
            writer.appendField(std::string_view{mails[at]});
            writer.appendField(std::string_view{first[at]});
            if (i % 5 == 0) {
                writer.appendNull();
            } else {
                writer.appendField(std::string_view{phone[at]});
            }
            writer.appendField(
                std::string_view{bigEndian(757479845678000 + random() % 1000000, 8)});
            if (i % 10 == 0) {
                writer.appendField(std::string_view{"Enjoys hiking and COPY BINARY."});
            } else {
                writer.appendNull();
            }
            writer.appendField(std::string_view{"\1", 1});
            out.push_back(std::move(row));
        }
        return out;
    }();
    return rows;
}

void runRewriter(benchmark::State& state, const std::string& rules_text) {
    const SanitizePlan plan =
        validateRules(parseRules(rules_text, "bench"), usersCatalog(), benchKey());
    const TableSanitizer empty{0, "public", "users", 8, {}};
    RowRewriter rewriter(plan.tables.empty() ? empty : plan.tables.front());
    const std::vector<std::string>& rows = userRows();
    std::string out;
    out.reserve(1 << 16);
    std::size_t i = 0;
    std::int64_t bytes = 0;
    for (auto _ : state) {
        if (out.size() > (1 << 15)) {
            out.clear();  // a worker hands a full buffer to the sink and reuses it
        }
        const std::string& row = rows[i];
        i = (i + 1) % rows.size();
        rewriter.rewrite(copy::asBytes(row), out);
        bytes += static_cast<std::int64_t>(row.size());
    }
    benchmark::DoNotOptimize(out.data());
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(bytes);
}

void BM_RowRewriter3Of8Ruled(benchmark::State& state) {
    runRewriter(state,
                "version: 1\nsalt_env: S\ntables:\n  public.users:\n    email: email\n"
                "    first_name: first_name\n    phone: digits\n");
}
BENCHMARK(BM_RowRewriter3Of8Ruled);

// The rewriter's own cost: every field parsed and copied, none rewritten.
void BM_RowRewriterNoneRuled(benchmark::State& state) {
    runRewriter(state, "version: 1\n");
}
BENCHMARK(BM_RowRewriterNoneRuled);

// What an unruled table costs: the whole row appended as it came.
void BM_RowPassThrough(benchmark::State& state) {
    const std::vector<std::string>& rows = userRows();
    std::string out;
    out.reserve(1 << 16);
    std::size_t i = 0;
    std::int64_t bytes = 0;
    for (auto _ : state) {
        if (out.size() > (1 << 15)) {
            out.clear();
        }
        const std::string& row = rows[i];
        i = (i + 1) % rows.size();
        copy::BinaryWriter writer(out);
        writer.appendRow(copy::asBytes(row));
        bytes += static_cast<std::int64_t>(row.size());
    }
    benchmark::DoNotOptimize(out.data());
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_RowPassThrough);

}  // namespace
}  // namespace pgsluice::sanitize
