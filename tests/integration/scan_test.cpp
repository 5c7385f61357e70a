// pgsluice scan and --strict against real servers: personal data found in honest and
// misleading columns, in free text and nested JSON, never printed; look-alikes left alone;
// strict runs stop before the target is touched.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

const std::map<std::string, std::string> kSalt = {{"PGSLUICE_SALT", "scan-test-salt-000001"}};

// 200 customers with personal data in honest columns (email, phone...), in misleading ones
// (data, info, extra), inside free text (notes) and nested JSON; and columns that must not be
// flagged: amounts, counters, row UUIDs, file digests, status codes, timestamps, order codes.
std::string hostileDatabase() {
    std::string db = uniqueDatabaseName("scan");
    source().createDatabase(db);
    source().exec(
        db,
        "CREATE TABLE customers (id uuid PRIMARY KEY, email text NOT NULL, phone text, "
        "first_name text, last_name text, date_of_birth date, last_login_ip inet, "
        "amount numeric(12,2), login_count int, status text, created_at timestamptz, "
        "event_time text, file_sha256 text, external_ref text, order_code text, "
        "data text, info jsonb, extra jsonb, notes text);"
        "INSERT INTO customers SELECT md5(i::text)::uuid, 'person' || i || '@mail.example.org', "
        "'+61 4' || lpad(i::text, 8, '0'), 'Given' || i, 'Family' || i, "
        "date '1980-01-01' + i, ('198.51.100.' || (i % 250))::inet, i * 1.25, i % 17, "
        "(ARRAY['ACTIVE','PENDING','CLOSED'])[i % 3 + 1], "
        "timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour', "
        "to_char(timestamp '2024-01-15 10:30:00' + i * interval '1 minute', "
        "'YYYY-MM-DD HH24:MI:SS'), encode(sha256(i::text::bytea), 'hex'), "
        "md5(i::text || 'ref')::uuid::text, 'ORD-2024-' || lpad(i::text, 6, '0'), "
        "'+44 20 7946 ' || lpad(i::text, 4, '0'), "
        "jsonb_build_object('customer', jsonb_build_object('contact', 'person' || i || "
        "'@mail.example.org', 'tier', 'gold'), 'items', jsonb_build_array("
        "jsonb_build_object('sku', 'SKU-1', 'qty', 2), jsonb_build_object('sku', 'SKU-2', "
        "'owner', 'owner' || i || '@shop.example.net'))), "
        "jsonb_build_object('meta', jsonb_build_object('remote', '203.0.113.' || (i % 250)), "
        "'count', i), "
        "CASE WHEN i % 10 = 0 THEN 'Customer asked to be called back, card 4111 1111 1111 1111' "
        "ELSE 'no remarks today at all' END "
        "FROM generate_series(1, 200) i;"
        "CREATE TABLE auth_user (id int PRIMARY KEY, username text UNIQUE NOT NULL, "
        "email varchar(254) UNIQUE NOT NULL);"
        "INSERT INTO auth_user SELECT i, 'login' || i, 'member' || i || '@corp.example.com' "
        "FROM generate_series(1, 50) i;"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer uuid, total numeric(12,2), "
        "status text, created_at timestamptz, payload jsonb);"
        "INSERT INTO orders SELECT i, md5(i::text)::uuid, i * 3.5, 'SHIPPED', now(), "
        "jsonb_build_object('lines', i % 5, 'currency', 'EUR', 'ref', md5(i::text)) "
        "FROM generate_series(1, 300) i;");
    return db;
}

// Values the scan reads from the fixture; none may ever be printed or reach a sanitised target.
const std::vector<std::string> kSampledValues = {"@mail.example.org",
                                                 "+61 400000",
                                                 "Given1",
                                                 "Family1",
                                                 "+44 20 7946",
                                                 "4111 1111 1111 1111",
                                                 "203.0.113.",
                                                 "@shop.example.net",
                                                 "@corp.example.com",
                                                 "login1"};

std::string writeFile(const std::string& name, const std::string& text) {
    std::string path = (target().dir() / name).string();
    std::ofstream(path) << text;
    return path;
}

nlohmann::json scanJson(const std::string& db, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"scan", "--source", source().conninfo(db), "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult r = runPgsluice(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    return nlohmann::json::parse(r.out);
}

// "table.column path" of every finding that is not covered.
std::set<std::string> uncovered(const nlohmann::json& scan) {
    std::set<std::string> out;
    for (const auto& f : scan["findings"]) {
        if (!f["covered"].get<bool>()) {
            out.insert(f["table"].get<std::string>() + "." + f["column"].get<std::string>() + " " +
                       (f["path"].is_null() ? "-" : f["path"].get<std::string>()));
        }
    }
    return out;
}

TEST(Scan, FindsExactlyThePersonalData) {
    std::string db = hostileDatabase();
    const nlohmann::json expected = nlohmann::json::parse(R"json(
{
  "findings": [
    {
      "table": "public.auth_user",
      "column": "username",
      "path": null,
      "reasons": [
        "name matches user name"
      ],
      "suggested": "hash",
      "covered": false
    },
    {
      "table": "public.auth_user",
      "column": "email",
      "path": null,
      "reasons": [
        "name matches email",
        "email address in 100% of 50 sampled rows"
      ],
      "suggested": "email",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "email",
      "path": null,
      "reasons": [
        "name matches email",
        "email address in 100% of 200 sampled rows"
      ],
      "suggested": "email",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "phone",
      "path": null,
      "reasons": [
        "name matches phone",
        "phone number in 100% of 200 sampled rows"
      ],
      "suggested": "phone",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "first_name",
      "path": null,
      "reasons": [
        "name matches first name"
      ],
      "suggested": "first_name",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "last_name",
      "path": null,
      "reasons": [
        "name matches last name"
      ],
      "suggested": "last_name",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "date_of_birth",
      "path": null,
      "reasons": [
        "name matches birth date"
      ],
      "suggested": "{shift_date: 365}",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "last_login_ip",
      "path": null,
      "reasons": [
        "name matches ip address",
        "type inet"
      ],
      "suggested": "ip",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "data",
      "path": null,
      "reasons": [
        "phone number in 100% of 200 sampled rows"
      ],
      "suggested": "phone",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "info",
      "path": "$.customer.contact",
      "reasons": [
        "email address in 100% of 200 sampled rows"
      ],
      "suggested": "{json: {\"customer.contact\": email}}",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "info",
      "path": "$.items[*].owner",
      "reasons": [
        "email address in 100% of 200 sampled rows"
      ],
      "suggested": "{json: {\"items.*.owner\": email}}",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "extra",
      "path": "$.meta.remote",
      "reasons": [
        "IPv4 address in 100% of 200 sampled rows"
      ],
      "suggested": "{json: {\"meta.remote\": ip}}",
      "covered": false
    },
    {
      "table": "public.customers",
      "column": "notes",
      "path": null,
      "reasons": [
        "card number (Luhn) in 10% of 200 sampled rows",
        "inside free text"
      ],
      "suggested": "null",
      "covered": false
    }
  ]
}
)json");
    EXPECT_EQ(scanJson(db, {"-n", "public"}), expected);
}

TEST(Scan, NeverPrintsASampledValue) {
    std::string db = hostileDatabase();
    for (const char* format : {"text", "json", "yaml"}) {
        RunResult r =
            runPgsluice({"scan", "--source", source().conninfo(db), "--format", format, "-v"});
        ASSERT_EQ(r.exit_code, 0) << r;
        EXPECT_NE(r.out.find("customers"), std::string::npos) << r;
        EXPECT_NE(r.err.find("sampling public.customers"), std::string::npos) << r;
        for (const auto& v : kSampledValues) {
            EXPECT_EQ(r.out.find(v), std::string::npos) << format << " printed " << v;
            EXPECT_EQ(r.err.find(v), std::string::npos) << format << " logged " << v;
        }
    }
    // Neither does a strict run that stops on them.
    std::string dst = emptyTarget("scanv");
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(db), "--target",
                               target().conninfo(dst), "--strict", "-v"});
    ASSERT_EQ(r.exit_code, 2) << r;
    for (const auto& v : kSampledValues) {
        EXPECT_EQ(r.out.find(v), std::string::npos) << "strict printed " << v;
        EXPECT_EQ(r.err.find(v), std::string::npos) << "strict logged " << v;
    }
}

TEST(Scan, ReadsABoundedSample) {
    std::string db = uniqueDatabaseName("scanbig");
    source().createDatabase(db);
    source().exec(db,
                  "CREATE TABLE big (id int, email text, pad text);"
                  "INSERT INTO big SELECT i, 'p' || i || '@mail.example.org', repeat('x', 200) "
                  "FROM generate_series(1, 200000) i; ANALYZE big;");
    const nlohmann::json scan = scanJson(db, {"--sample-rows", "100"});
    ASSERT_EQ(scan["findings"].size(), 1u) << scan.dump(2);
    const std::string reason = scan["findings"][0]["reasons"][1].get<std::string>();
    // The share is out of the rows read, at most --sample-rows of them.
    EXPECT_NE(reason.find("of 100 sampled rows"), std::string::npos) << reason;
}

TEST(Scan, StrictStopsBeforeTheTargetIsTouched) {
    std::string db = hostileDatabase();
    std::string dst = liveTarget("scanstrict");
    std::string before = schemaDump(target(), dst);
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(db), "--target",
                               target().conninfo(dst), "--clean", "--yes", "--strict"});
    ASSERT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("public.customers.email"), std::string::npos) << r;
    EXPECT_NE(r.err.find("public.customers.info at $.customer.contact"), std::string::npos) << r;
    EXPECT_NE(r.err.find("add --rules FILE"), std::string::npos) << r;
    EXPECT_EQ(schemaDump(target(), dst), before);
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM old_data"), "2");

    // A rules file that covers all but customers.notes: exit 2 naming it and the file.
    RunResult draft = runPgsluice({"scan", "--source", source().conninfo(db), "--format", "yaml"});
    ASSERT_EQ(draft.exit_code, 0) << draft;
    std::string text = draft.out;
    const std::size_t notes = text.find("    \"notes\":");
    ASSERT_NE(notes, std::string::npos) << text;
    text.erase(notes, text.find('\n', notes) - notes + 1);
    std::string rules = writeFile(dst + ".yaml", text + "strict: true\n");
    r = runPgsluice({"copy", "--source", source().conninfo(db), "--target", target().conninfo(dst),
                     "--clean", "--yes", "--rules", rules},
                    kSalt);
    ASSERT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("public.customers.notes: card number (Luhn)"), std::string::npos) << r;
    EXPECT_NE(r.err.find("change " + rules), std::string::npos) << r;
    EXPECT_EQ(r.err.find("public.customers.email"), std::string::npos) << r;
    EXPECT_EQ(schemaDump(target(), dst), before);
    // plan and dump say the same; restore checks the archive's names and types.
    r = runPgsluice({"plan", "--source", source().conninfo(db), "--rules", rules}, kSalt);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("public.customers.notes"), std::string::npos) << r;
    std::string archive = (target().dir() / (dst + ".sluice")).string();
    r = runPgsluice({"dump", "--source", source().conninfo(db), "-f", archive, "--strict"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_FALSE(std::filesystem::exists(archive));
    ASSERT_EQ(runPgsluice({"dump", "--source", source().conninfo(db), "-f", archive}).exit_code, 0);
    r = runPgsluice({"restore", "-f", archive, "--target", target().conninfo(dst), "--clean",
                     "--yes", "--strict"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("public.customers.email: name matches email"), std::string::npos) << r;
    EXPECT_NE(r.err.find("judged by name and type only"), std::string::npos) << r;
    EXPECT_EQ(r.err.find("public.customers.data"), std::string::npos) << "no values in an archive";
    EXPECT_EQ(schemaDump(target(), dst), before);
}

TEST(Scan, KeepSilencesExactlyThatColumn) {
    std::string db = hostileDatabase();
    const std::set<std::string> all = uncovered(scanJson(db));
    ASSERT_EQ(all.count("public.auth_user.username -"), 1u);
    std::string rules = writeFile(uniqueDatabaseName("keep") + ".yaml",
                                  "version: 1\nkeep:\n  - public.auth_user.username\n");
    std::set<std::string> expected = all;
    expected.erase("public.auth_user.username -");
    EXPECT_EQ(uncovered(scanJson(db, {"--rules", rules})), expected);
}

TEST(Scan, DraftRulesLeaveNoSampledValueOnTheTarget) {
    std::string db = hostileDatabase();
    RunResult draft = runPgsluice({"scan", "--source", source().conninfo(db), "--format", "yaml"});
    ASSERT_EQ(draft.exit_code, 0) << draft;
    std::string rules = writeFile(uniqueDatabaseName("draft") + ".yaml", draft.out);
    RunResult plan = runPgsluice(
        {"plan", "--source", source().conninfo(db), "--rules", rules, "--strict"}, kSalt);
    ASSERT_EQ(plan.exit_code, 0) << plan << draft.out;
    std::string dst = emptyTarget("scandraft");
    RunResult copy = runPgsluice({"copy", "--source", source().conninfo(db), "--target",
                                  target().conninfo(dst), "--rules", rules, "--strict"},
                                 kSalt);
    ASSERT_EQ(copy.exit_code, 0) << copy << draft.out;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM customers"), "200");
    for (const char* table : {"customers", "auth_user"}) {
        const std::string all_text = target().scalar(
            dst, std::string("SELECT string_agg(t::text, ' ') FROM ") + table + " t");
        for (const auto& v : kSampledValues) {
            EXPECT_EQ(all_text.find(v), std::string::npos) << table << " still holds " << v;
        }
    }
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM customers WHERE last_login_ip <<= "
                              "'198.51.100.0/24'"),
              "0");
    // What must not be flagged moved untouched.
    EXPECT_EQ(target().scalar(dst, "SELECT sum(amount) FROM customers"),
              source().scalar(db, "SELECT sum(amount) FROM customers"));
    EXPECT_EQ(target().scalar(
                  dst, "SELECT string_agg(file_sha256, '' ORDER BY order_code) FROM customers"),
              source().scalar(
                  db, "SELECT string_agg(file_sha256, '' ORDER BY order_code) FROM customers"));
}

}  // namespace
}  // namespace pgsluice::integration
