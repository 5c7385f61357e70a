// The personal-data detectors of `pgsluice scan`: what they find, and the look-alikes (plain
// numbers, UUIDs, timestamps, codes, digests) they must not find.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>

#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/scan/detect.hpp"
#include "pgsluice/scan/findings.hpp"
#include "pgsluice/scan/scan.hpp"

namespace pgsluice::scan {
namespace {

bool finds(std::string_view text, ValueKind kind) {
    return detectValues(text).contains(kind);
}

TEST(ScanNames, HonestNamesMatch) {
    const std::map<std::string, NameKind> names = {
        {"email", NameKind::email},
        {"billingEmail", NameKind::email},
        {"e_mail", NameKind::email},
        {"mobile_phone", NameKind::phone},
        {"tel", NameKind::phone},
        {"first_name", NameKind::first_name},
        {"surname", NameKind::last_name},
        {"full_name", NameKind::full_name},
        {"username", NameKind::username},
        {"street", NameKind::address},
        {"postal_code", NameKind::address},
        {"zip", NameKind::address},
        {"date_of_birth", NameKind::birth_date},
        {"dob", NameKind::birth_date},
        {"birthday", NameKind::birth_date},
        {"ssn", NameKind::national_id},
        {"tax_id", NameKind::national_id},
        {"passport_no", NameKind::national_id},
        {"iban", NameKind::bank_account},
        {"account_number", NameKind::bank_account},
        {"card_number", NameKind::card_number},
        {"last_login_ip", NameKind::ip_address},
        {"ip_address", NameKind::ip_address},
        {"user_agent", NameKind::user_agent},
        {"latitude", NameKind::geo_location},
        {"api_key", NameKind::secret},
        {"password_hash", NameKind::secret},
        {"reset_token", NameKind::secret},
    };
    for (const auto& [name, kind] : names) {
        const auto match = matchName(name);
        ASSERT_TRUE(match.has_value()) << name;
        EXPECT_EQ(match->kind, kind) << name;
    }
}

TEST(ScanNames, OrdinaryNamesDoNotMatch) {
    for (const char* name :
         {"id",          "name",        "status",  "created_at", "amount", "total_cents",
          "login_count", "file_sha256", "data",    "info",       "extra",  "uuid",
          "description", "kind",        "emailed", "telemetry",  "zipped", "cityscape",
          "ipsum",       "accounting",  "tipping", "shipping"}) {
        EXPECT_FALSE(matchName(name).has_value()) << name;
    }
}

TEST(ScanValues, Emails) {
    EXPECT_TRUE(finds("alice@example.com", ValueKind::email));
    EXPECT_TRUE(finds("Write to Bob <bob.smith+x@mail.example.co.uk> soon", ValueKind::email));
    EXPECT_FALSE(finds("user at example dot com", ValueKind::email));
    EXPECT_FALSE(finds("@handle and foo@bar", ValueKind::email));
}

TEST(ScanValues, Phones) {
    for (const char* p :
         {"+61 400 000 001", "+442079460958", "+1 (415) 555-0132", "(415) 555-0132", "415-555-0132",
          "020 7946 0958", "06 12 34 56 78", "call me on +49 30 1234567 tomorrow"}) {
        EXPECT_TRUE(finds(p, ValueKind::phone)) << p;
    }
    for (const char* p :
         {"12345678", "4155550132", "1 000 000", "2024-01-15", "2024-01-15 10:30:00",
          "01.02.2024 10:30", "12.50", "v1.2.3", "ORD-2024-000123",
          "550e8400-e29b-41d4-a716-446655440000", "15/01/2024"}) {
        EXPECT_FALSE(finds(p, ValueKind::phone)) << p;
    }
}

TEST(ScanValues, IpAddresses) {
    EXPECT_TRUE(finds("192.0.2.17", ValueKind::ipv4));
    EXPECT_TRUE(finds("from 10.1.2.3, then", ValueKind::ipv4));
    EXPECT_FALSE(finds("256.1.1.1", ValueKind::ipv4));
    EXPECT_FALSE(finds("1.2.3", ValueKind::ipv4));
    EXPECT_FALSE(finds("v1.2.3.4", ValueKind::ipv4));
    EXPECT_TRUE(finds("2001:db8::8a2e:370:7334", ValueKind::ipv6));
    EXPECT_TRUE(finds("fe80:0:0:0:202:b3ff:fe1e:8329", ValueKind::ipv6));
    EXPECT_FALSE(finds("10:30:00", ValueKind::ipv6));
    EXPECT_FALSE(finds("aa:bb:cc:dd:ee:ff", ValueKind::ipv6));
    EXPECT_FALSE(finds("std::string", ValueKind::ipv6));
    EXPECT_FALSE(finds("2024-01-15T10:30:00+00:00", ValueKind::ipv6));
}

TEST(ScanValues, CardsNeedLuhnAndAnIssuer) {
    EXPECT_TRUE(luhnValid("4111111111111111"));
    EXPECT_FALSE(luhnValid("4111111111111112"));
    EXPECT_TRUE(finds("4111 1111 1111 1111", ValueKind::card));
    EXPECT_TRUE(finds("card 5555-5555-5555-4444 exp 12/29", ValueKind::card));
    EXPECT_TRUE(finds("378282246310005", ValueKind::card));
    EXPECT_FALSE(finds("4111111111111112", ValueKind::card));  // Luhn fails
    EXPECT_FALSE(finds("1234567890123452", ValueKind::card));  // no issuer starts with 1
    EXPECT_FALSE(finds("0000000000000000", ValueKind::card));
    EXPECT_FALSE(finds("41111111111111110000", ValueKind::card));  // too long
}

TEST(ScanValues, IbansNeedMod97) {
    EXPECT_TRUE(ibanValid("GB82WEST12345698765432"));
    EXPECT_FALSE(ibanValid("GB82WEST12345698765433"));
    EXPECT_TRUE(finds("DE89 3704 0044 0532 0130 00", ValueKind::iban));
    EXPECT_TRUE(finds("pay to GB82WEST12345698765432 today", ValueKind::iban));
    EXPECT_FALSE(finds("GB82WEST12345698765433", ValueKind::iban));
    EXPECT_FALSE(finds("ZZ82WEST12345698765432", ValueKind::iban));  // no such country
}

TEST(ScanValues, Tokens) {
    EXPECT_TRUE(
        finds("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_"
              "XgL0n3I9PlFUP0THsR8U",
              ValueKind::token));
    EXPECT_TRUE(finds("Authorization: Bearer abcdefghijklmnop1234567890", ValueKind::token));
    EXPECT_TRUE(finds("sk_live_4eC39HqLyjWDarjtT1zdp7dc", ValueKind::token));
    EXPECT_TRUE(finds("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", ValueKind::token));
    // A file digest and a row UUID are not secrets.
    EXPECT_FALSE(finds("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                       ValueKind::token));
    EXPECT_FALSE(finds("550e8400-e29b-41d4-a716-446655440000", ValueKind::token));
}

TEST(ScanValues, LookAlikesFindNothing) {
    for (const char* v : {"42",
                          "1234567890",
                          "-17.25",
                          "3.14159",
                          "1e10",
                          "ACTIVE",
                          "shipped",
                          "PENDING_REVIEW",
                          "EUR",
                          "2024-01-15",
                          "2024-01-15 10:30:00+00",
                          "2024-01-15T10:30:00.123456Z",
                          "550e8400-e29b-41d4-a716-446655440000",
                          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "d41d8cd98f00b204e9800998ecf8427e",
                          "SKU-000123",
                          "v2.14.0",
                          "12:30",
                          "The quick brown fox jumps over the lazy dog",
                          "[1, 2, 3]",
                          "{}"}) {
        EXPECT_TRUE(detectValues(v).empty()) << v;
    }
}

// The false-positive measure: generated look-alikes of what fills ordinary columns (counters,
// amounts, row UUIDs, event timestamps, digests, order codes, 10,000 of each) find nothing.
TEST(ScanValues, NoFalsePositivesOnGeneratedLookAlikes) {
    std::mt19937_64 random(42);
    auto hex = [&](int n) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            out += "0123456789abcdef"[random() % 16];
        }
        return out;
    };
    int flagged = 0;
    int looked_at = 0;
    for (int i = 0; i < 10000; ++i) {
        const std::uint64_t n = random();
        const std::vector<std::string> values = {
            std::to_string(n % 1000000000000ULL),
            std::to_string(n % 100000000) + "." + std::to_string(n % 100),
            hex(8) + "-" + hex(4) + "-4" + hex(3) + "-a" + hex(3) + "-" + hex(12),
            fmt::format("20{:02}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", n % 30, n % 12 + 1,
                        n % 28 + 1, n % 24, n % 60, (n >> 8) % 60, n % 1000000),
            hex(64),
            fmt::format("ORD-2024-{:06}", n % 1000000),
        };
        for (const auto& v : values) {
            ++looked_at;
            if (!detectValues(v).empty()) {
                ++flagged;
                ADD_FAILURE() << "flagged " << v;
            }
        }
    }
    EXPECT_EQ(looked_at, 60000);
    EXPECT_EQ(flagged, 0);
}

TEST(ScanJson, PathsAtAnyDepth) {
    std::map<std::string, ValueKinds> seen;
    std::map<std::string, bool> key_match;
    ASSERT_TRUE(walkJson(
        R"({"customer": {"email": "a@example.com", "id": 7}, "items": [{"email": "b@example.com"},
           {"email": "c@example.com"}], "weird key": {"ip": "192.0.2.1"}, "n": 5})",
        [&](const JsonLeaf& leaf) {
            seen[leaf.path] |= leaf.kinds;
            key_match[leaf.path] = leaf.key_match.has_value();
        }));
    EXPECT_TRUE(seen["$.customer.email"].contains(ValueKind::email));
    EXPECT_TRUE(seen["$.items[*].email"].contains(ValueKind::email));
    EXPECT_TRUE(seen[R"($["weird key"].ip)"].contains(ValueKind::ipv4));
    EXPECT_TRUE(seen["$.customer.id"].empty());
    EXPECT_TRUE(key_match["$.customer.email"]);
    EXPECT_FALSE(key_match["$.n"]);
    EXPECT_FALSE(walkJson("not json", [](const JsonLeaf&) { FAIL(); }));
    EXPECT_EQ(rulesPath("$.items[*].email"), "items.*.email");
    EXPECT_EQ(rulesPath("$.customer.email"), "customer.email");
    EXPECT_EQ(rulesPath(R"($["weird key"].ip)"), "weird key.ip");
}

Finding tableNamed(const std::string& schema, const std::string& name) {
    Finding f;
    f.table = schema + "." + name;
    f.schema = schema;
    f.name = name;
    f.visible = schema == "public";
    return f;
}

TEST(ScanFindings, NameTypeAndValuesWithSuggestions) {
    const Finding table = tableNamed("public", "users");
    auto one = [&](const ColumnInfo& c, const ColumnProfile* p) {
        std::vector<Finding> f = columnFindings(table, c, p);
        return f;
    };
    auto email = one({"email", "character varying(254)", true, true}, nullptr);
    ASSERT_EQ(email.size(), 1u);
    EXPECT_EQ(email[0].reasons, std::vector<std::string>{"name matches email"});
    EXPECT_EQ(email[0].suggested, "email");
    EXPECT_FALSE(email[0].path.has_value());

    auto dob = one({"dob", "date", false, false}, nullptr);
    ASSERT_EQ(dob.size(), 1u);
    EXPECT_EQ(dob[0].suggested, "{shift_date: 365}");
    auto ip = one({"seen_from", "inet", false, false}, nullptr);
    ASSERT_EQ(ip.size(), 1u);
    EXPECT_EQ(ip[0].suggested, "ip");
    EXPECT_TRUE(one({"amount", "numeric(12,2)", true, false}, nullptr).empty());

    ColumnProfile info;
    for (int i = 0; i < 4; ++i) {
        info.add(i < 3 ? "+61 400 000 00" + std::to_string(i) : "n/a", false);
    }
    auto phone = one({"info", "text", false, false}, &info);
    ASSERT_EQ(phone.size(), 1u);
    EXPECT_EQ(phone[0].reasons, std::vector<std::string>{"phone number in 75% of 4 sampled rows"});
    EXPECT_EQ(phone[0].suggested, "phone");

    ColumnProfile notes;
    notes.add("please call Bob at bob@example.com after lunch", false);
    auto prose = one({"notes", "text", true, false}, &notes);
    ASSERT_EQ(prose.size(), 1u);
    EXPECT_EQ(prose[0].suggested, "{set: \"redacted\"}");

    ColumnProfile extra;
    extra.add(R"({"customer": {"email": "a@example.com"}, "items": [{"total": 12.5}]})", true);
    extra.add(R"({"customer": {"email": "b@example.com"}, "items": []})", true);
    auto json = one({"extra", "jsonb", false, false}, &extra);
    ASSERT_EQ(json.size(), 1u);
    EXPECT_EQ(json[0].path, "$.customer.email");
    EXPECT_EQ(json[0].suggested, R"({json: {"customer.email": email}})");
    EXPECT_EQ(json[0].reasons,
              (std::vector<std::string>{"json key matches email",
                                        "email address in 100% of 2 sampled rows"}));
}

TEST(ScanFindings, UniqueAndNotNullColumnsGetTransformsThatFit) {
    const Finding table = tableNamed("public", "t");
    // hash with a length would not keep a unique key unique: a full hash, or nothing narrower.
    auto token = columnFindings(table, {"api_token", "character varying(64)", true, true}, nullptr);
    ASSERT_EQ(token.size(), 1u);
    EXPECT_EQ(token[0].suggested, "hash");
    auto short_token =
        columnFindings(table, {"api_token", "character varying(16)", false, false}, nullptr);
    EXPECT_EQ(short_token[0].suggested, "{hash: {length: 16}}");
    auto agent = columnFindings(table, {"user_agent", "text", true, false}, nullptr);
    EXPECT_EQ(agent[0].suggested, "hash");  // null is refused on NOT NULL
}

TEST(ScanFindings, CoverageByRuleExcludeAndKeep) {
    const sanitize::Rules rules = sanitize::parseRules(
        "version: 1\n"
        "tables:\n"
        "  public.users:\n"
        "    email: {set: x}\n"
        "keep:\n"
        "  - public.users.username\n",
        "rules.yaml");
    std::vector<Finding> findings;
    for (const char* column : {"email", "username", "phone"}) {
        Finding f = tableNamed("public", "users");
        f.column = column;
        findings.push_back(f);
    }
    Finding logged = tableNamed("public", "mail_log");
    logged.column = "email";
    findings.push_back(logged);
    Coverage coverage{&rules, {"public.mail_log"}};
    markCovered(findings, coverage);
    EXPECT_EQ(findings[0].covered_by, "rule");
    EXPECT_EQ(findings[1].covered_by, "keep");
    EXPECT_FALSE(findings[2].covered);
    EXPECT_EQ(findings[3].covered_by, "exclude_table_data");

    const std::string message = uncoveredMessage({findings[2]}, "rules.yaml");
    EXPECT_NE(message.find("public.users.phone"), std::string::npos) << message;
    EXPECT_NE(message.find("change rules.yaml"), std::string::npos) << message;
    EXPECT_NE(uncoveredMessage({findings[2]}, "").find("add --rules FILE"), std::string::npos);
}

TEST(ScanReport, JsonShapeAndDraftRulesParse) {
    Finding f = tableNamed("public", "auth_user");
    f.column = "email";
    f.reasons = {"name matches email"};
    f.suggested = "email";
    f.suggested_spec.kind = sanitize::TransformKind::email;
    ColumnProfile extra;
    extra.add(R"({"a": {"ip": "192.0.2.1"}, "b": ["x@example.com"]})", true);
    std::vector<Finding> findings = {f};
    for (Finding& j :
         columnFindings(tableNamed("app", "Events"), {"extra", "jsonb", false, false}, &extra)) {
        findings.push_back(j);
    }
    ASSERT_EQ(findings.size(), 3u);
    EXPECT_EQ(findingsJson({f}),
              "{\n  \"findings\": [\n    {\n      \"table\": \"public.auth_user\",\n      "
              "\"column\": \"email\",\n      \"path\": null,\n      \"reasons\": [\n        \"name "
              "matches email\"\n      ],\n      \"suggested\": \"email\",\n      \"covered\": "
              "false\n    }\n  ]\n}\n");
    const std::string yaml = draftRules(findings);
    const sanitize::Rules rules = sanitize::parseRules(yaml, "draft.yaml");
    ASSERT_EQ(rules.tables.size(), 2u) << yaml;
    EXPECT_EQ(rules.tables[1].pattern, "app.\"Events\"") << yaml;
    ASSERT_EQ(rules.tables[1].columns.size(), 1u) << yaml;
    EXPECT_EQ(rules.tables[1].columns[0].transform.json_paths.size(), 2u) << yaml;
    Coverage coverage{&rules, {}};
    markCovered(findings, coverage);
    for (const Finding& c : findings) {
        EXPECT_TRUE(c.covered) << c.table << "." << c.column;
    }
}

}  // namespace
}  // namespace pgsluice::scan
