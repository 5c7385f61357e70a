// copy --rules against real servers: no ruled value reaches the target, joins still match.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

const std::map<std::string, std::string> kSalt = {{"PGSLUICE_SALT", "integration-test-salt-1"}};

std::string appDatabase() {
    std::string db = uniqueDatabaseName("san");
    source().createDatabase(db);
    source().exec(db,
                  "CREATE TABLE accounts_user (id int PRIMARY KEY, email varchar(254) UNIQUE NOT "
                  "NULL, phone text, first_name text NOT NULL, ssn text);"
                  "INSERT INTO accounts_user SELECT i, 'member' || i || '@corp.example.com', "
                  "'+44 20 7946 ' || lpad(i::text, 4, '0'), 'First' || i, 'SSN-' || i "
                  "FROM generate_series(1, 3000) i;"
                  "UPDATE accounts_user SET phone = NULL WHERE id % 10 = 0;"
                  "CREATE TABLE payments (id int, email text, meta jsonb);"
                  "INSERT INTO payments SELECT i, 'member' || (i % 3000 + 1) || "
                  "'@corp.example.com', jsonb_build_object('ip', '192.0.2.' || (i % 250), "
                  "'card', jsonb_build_object('last4', '4242'), 'n', i) "
                  "FROM generate_series(1, 5000) i;"
                  "CREATE TABLE site (hostname text); INSERT INTO site VALUES "
                  "('www.corp.example.com');"
                  "CREATE TABLE mail_log (id int, body text);"
                  "INSERT INTO mail_log SELECT i, 'secret' FROM generate_series(1, 100) i;");
    return db;
}

std::string writeRules(const std::string& name, const std::string& text) {
    std::string path = (target().dir() / name).string();
    std::ofstream(path) << text;
    return path;
}

const char* kRules =
    "version: 1\n"
    "salt_env: PGSLUICE_SALT\n"
    "exclude_table_data:\n"
    "  - public.mail_*\n"
    "tables:\n"
    "  public.accounts_user:\n"
    "    email: email\n"
    "    phone: digits\n"
    "    first_name: first_name\n"
    "  public.payments:\n"
    "    email: email\n"
    "    meta: {json_remove: [ip, card.last4]}\n"
    "  \"*.*\":\n"
    "    ssn: null\n"
    "after:\n"
    "  - UPDATE site SET hostname = 'staging.example.org'\n";

std::set<std::string> column(const TestCluster& c, const std::string& db, const std::string& sql) {
    std::set<std::string> out;
    for (const auto& row : c.query(db, sql)) {
        out.insert(row[0]);
    }
    return out;
}

TEST(Sanitize, NoRuledValueReachesTheTargetAndJoinsStillMatch) {
    std::string src = appDatabase();
    std::string dst = uniqueDatabaseName("san");
    target().createDatabase(dst);
    std::string rules = writeRules(dst + ".yaml", kRules);
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                               target().conninfo(dst), "--rules", rules, "--verify", "-j", "2"},
                              kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;

    for (const char* sql : {"SELECT email FROM accounts_user",
                            "SELECT phone FROM accounts_user "
                            "WHERE phone IS NOT NULL",
                            "SELECT first_name FROM accounts_user", "SELECT email FROM payments"}) {
        std::set<std::string> before = column(source(), src, sql);
        std::set<std::string> after = column(target(), dst, sql);
        if (std::string(sql).find("first_name") == std::string::npos) {
            // email and digits keep distinct inputs distinct; name picks do not promise it.
            ASSERT_EQ(before.size(), after.size()) << sql;
        }
        for (const auto& v : after) {
            EXPECT_EQ(before.count(v), 0u) << "source value " << v << " reached the target";
        }
    }
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM accounts_user WHERE email NOT LIKE "
                              "'user\\_%@example.invalid'"),
              "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM accounts_user WHERE phone IS NULL"), "300")
        << "NULL stays NULL";
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM accounts_user WHERE ssn IS NOT NULL"),
              "0");
    // The same e-mail became the same fake e-mail in both tables.
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM payments p JOIN accounts_user u USING "
                              "(email)"),
              "5000");
    EXPECT_EQ(target().scalar(dst,
                              "SELECT count(*) FROM payments WHERE meta ? 'ip' OR "
                              "meta->'card' ? 'last4'"),
              "0");
    EXPECT_EQ(target().scalar(dst, "SELECT hostname FROM site"), "staging.example.org");
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM mail_log"), "0");

    // Same salt, same outputs; another salt, other outputs.
    std::string again = uniqueDatabaseName("san");
    target().createDatabase(again);
    ASSERT_EQ(runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                           target().conninfo(again), "--rules", rules, "-q"},
                          kSalt)
                  .exit_code,
              0);
    std::string probe = "SELECT email FROM accounts_user WHERE id = 1";
    EXPECT_EQ(target().scalar(again, probe), target().scalar(dst, probe));
    std::string other = uniqueDatabaseName("san");
    target().createDatabase(other);
    ASSERT_EQ(runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                           target().conninfo(other), "--rules", rules, "-q"},
                          {{"PGSLUICE_SALT", "another-salt-entirely-2"}})
                  .exit_code,
              0);
    EXPECT_NE(target().scalar(other, probe), target().scalar(dst, probe));
    EXPECT_EQ(r.err.find("integration-test-salt-1"), std::string::npos) << "salt never printed";
}

// A table with a column of each type the new transforms rewrite, and the same e-mail inside
// its jsonb profile as in its email column.
std::string peopleDatabase() {
    std::string db = uniqueDatabaseName("sanx");
    source().createDatabase(db);
    source().exec(
        db,
        "CREATE TABLE people (id int PRIMARY KEY, email text UNIQUE NOT NULL, phone text, "
        "addr inet, net cidr, ext_id uuid UNIQUE, amount numeric(12,2), balance numeric(12,2), "
        "score float8, visits int4, avatar bytea, profile jsonb, city text, note text);"
        "INSERT INTO people SELECT i, 'p' || i || '@corp.example.com', "
        "'+61 4' || lpad(i::text, 8, '0'), ('10.1.' || i / 256 || '.' || i % 256)::inet, "
        "('10.' || i % 200 || '.0.0/16')::cidr, md5(i::text)::uuid, i * 12.34, i * 2.5, "
        "i * 1.5, i * 10, decode(md5(i::text), 'hex'), "
        "jsonb_build_object('contact', jsonb_build_object('email', 'p' || i || "
        "'@corp.example.com'), 'phones', jsonb_build_array('+44 20 7946 ' || lpad(i::text, 4, "
        "'0')), 'amount', i), 'Town ' || i, 'card 4111-1111-1111-' || lpad(i::text, 4, '0') "
        "FROM generate_series(1, 2000) i;"
        "UPDATE people SET phone = NULL, addr = NULL, ext_id = NULL, amount = NULL, "
        "avatar = NULL, profile = NULL WHERE id % 100 = 0;"
        "UPDATE people SET phone = 'n/a' WHERE id % 100 = 1;");
    return db;
}

const char* kNewTransformRules =
    "version: 1\n"
    "salt_env: PGSLUICE_SALT\n"
    "tables:\n"
    "  public.people:\n"
    "    email: email\n"
    "    phone: phone\n"
    "    addr: {ip: {keep_prefix: 8}}\n"
    "    net: ip\n"
    "    ext_id: uuid\n"
    "    amount: {noise: {percent: 10}}\n"
    "    balance: {set: \"0.5\"}\n"
    "    score: {noise: {percent: 10}}\n"
    "    visits: {noise: {percent: 10}}\n"
    "    avatar: hash\n"
    "    profile: {json: {\"$.contact.email\": email, \"phones.*\": phone, amount: {noise: "
    "{percent: 10}}}}\n"
    "    city: {lookup: CITIES}\n"
    "    note: {regex_replace: {pattern: '[0-9]{4}-[0-9]{4}-[0-9]{4}-([0-9]{4})', replacement: "
    "'XXXX-XXXX-XXXX-\\1'}}\n";

TEST(Sanitize, EveryNewTransformOnItsTypesThroughCopyBinary) {
    std::string src = peopleDatabase();
    std::string dst = uniqueDatabaseName("sanx");
    target().createDatabase(dst);
    const std::string cities = dst + "_cities.txt";
    writeRules(cities, "# test cities\nParis\nLyon\nNice\n");
    std::string text = kNewTransformRules;
    text.replace(text.find("CITIES"), 6, cities);  // relative to the rules file
    std::string rules = writeRules(dst + ".yaml", text);
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                               target().conninfo(dst), "--rules", rules, "-j", "2"},
                              kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;

    // Every ruled value changed, row by row (n/a holds no number and stays; NULL stays).
    for (const char* expression :
         {"email", "phone", "host(addr)", "net::text", "ext_id::text", "encode(avatar, 'hex')",
          "profile::text", "city", "note", "amount::text", "score::text", "visits::text"}) {
        const std::string sql = "SELECT id, " + std::string(expression) + " FROM people WHERE " +
                                expression + " <> 'n/a' ORDER BY id";
        const auto before = source().query(src, sql);
        const auto after = target().query(dst, sql);
        ASSERT_EQ(before.size(), after.size()) << sql;
        int same = 0;
        for (std::size_t i = 0; i < before.size(); ++i) {
            same += before[i][1] == after[i][1];
        }
        // noise may round a small value back to itself; nothing else may stay.
        const bool noise = std::string(expression).find("::text") != std::string::npos &&
                           std::string(expression) != "net::text" &&
                           std::string(expression) != "ext_id::text";
        EXPECT_LE(same, noise ? 40 : 0) << expression;
    }
    auto count = [&](const std::string& where) {
        return target().scalar(dst, "SELECT count(*) FROM people WHERE " + where);
    };
    // NULLs stay NULL; n/a stays n/a.
    EXPECT_EQ(count("phone IS NULL AND addr IS NULL AND ext_id IS NULL AND amount IS NULL AND "
                    "avatar IS NULL AND profile IS NULL"),
              "20");
    EXPECT_EQ(count("phone = 'n/a'"), "20");
    // phone: country code and mobile prefix, length and layout kept.
    EXPECT_EQ(count("phone <> 'n/a' AND phone !~ '^\\+61 4[0-9]{8}$'"), "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(DISTINCT phone) FROM people WHERE phone <> 'n/a'"),
              "1960");  // phone keeps uniqueness
    // ip: IPv4 hosts inside 10/8 (keep_prefix 8), all distinct; cidr networks stay /16.
    EXPECT_EQ(count("addr IS NOT NULL AND NOT (family(addr) = 4 AND masklen(addr) = 32 AND "
                    "addr << '10.0.0.0/8')"),
              "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(DISTINCT addr) FROM people"), "1980");
    EXPECT_EQ(count("masklen(net) <> 16"), "0");
    EXPECT_EQ(target().scalar(dst, "SELECT count(DISTINCT net) FROM people"), "200");
    // uuid: unique (the unique index loaded), version and variant of md5 uuids kept.
    EXPECT_EQ(target().scalar(dst, "SELECT count(DISTINCT ext_id) FROM people"), "1980");
    // noise: within ±10%, scale kept; set on numeric.
    EXPECT_EQ(count("amount IS NOT NULL AND (abs(amount - id * 12.34) > id * 1.234 + 0.01 OR "
                    "scale(amount) <> 2)"),
              "0");
    EXPECT_NE(count("amount <> id * 12.34"), "0");
    EXPECT_EQ(count("balance <> 0.50 OR balance::text <> '0.50'"), "0");
    EXPECT_EQ(count("abs(score - id * 1.5) > id * 0.15 * 1.000001"), "0");
    EXPECT_NE(count("score <> id * 1.5"), "0");
    EXPECT_EQ(count("abs(visits - id * 10) > id"), "0");
    EXPECT_NE(count("visits <> id * 10"), "0");
    // hash on bytea: 16 bytes.
    EXPECT_EQ(count("avatar IS NOT NULL AND length(avatar) <> 16"), "0");
    // json: the e-mail in the profile is the fake of the e-mail column, so joins still match.
    EXPECT_EQ(count("profile #>> '{contact,email}' = email"), "1980");
    EXPECT_EQ(count("profile #>> '{contact,email}' LIKE '%corp.example.com'"), "0");
    EXPECT_EQ(count("profile #>> '{phones,0}' !~ '^\\+44 2[0-9] [0-9]{4} [0-9]{4}$'"), "0");
    EXPECT_EQ(count("abs((profile->>'amount')::numeric - id) > id * 0.1 + 0.5"), "0");
    // lookup and regex_replace.
    EXPECT_EQ(count("city NOT IN ('Paris', 'Lyon', 'Nice')"), "0");
    EXPECT_EQ(count("note <> 'card XXXX-XXXX-XXXX-' || lpad(id::text, 4, '0')"), "0");

    // Deterministic: a second run with the same salt gives the same table.
    std::string again = uniqueDatabaseName("sanx");
    target().createDatabase(again);
    ASSERT_EQ(runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                           target().conninfo(again), "--rules", rules, "-q"},
                          kSalt)
                  .exit_code,
              0);
    const std::string digest = "SELECT md5(string_agg(p::text, '|' ORDER BY id)) FROM people p";
    EXPECT_EQ(target().scalar(again, digest), target().scalar(dst, digest));
    EXPECT_NE(target().scalar(dst, digest), source().scalar(src, digest));
}

TEST(Sanitize, EveryValidationFailureIsExitTwoWithTheTargetUntouched) {
    std::string src = appDatabase();
    std::string dst = uniqueDatabaseName("sanbad");
    target().createDatabase(dst);
    std::string before = schemaDump(target(), dst);
    struct Case {
        std::string rules;
        std::map<std::string, std::string> env;
        std::string expected;
    };
    std::vector<Case> cases = {
        {"version: 1\nsalt_env: PGSLUICE_SALT\ntables:\n  public.accounts_user:\n    email: "
         "email\n",
         {},
         ":2:"},  // salt missing
        {"version: 1\ntables:\n  public.no_such_table:\n    email: {set: x}\n", {}, ":3:"},
        {"version: 1\ntables:\n  public.accounts_user:\n    no_such_column: {set: x}\n", {}, ":4:"},
        {"version: 1\ntables:\n  public.accounts_user:\n    first_name: null\n", {}, ":4:"},
        {"version: 1\ntables:\n  public.accounts_user:\n    email: first_name\n", kSalt, ":4:"},
        {"version: 1\ntables:\n  public.accounts_user:\n    id: email\n", kSalt, ":4:"},
        {"version: 1\nsalt: oops\n", {}, ":2:"},
    };
    for (const auto& c : cases) {
        std::string path = writeRules(dst + ".yaml", c.rules);
        RunResult r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                                   target().conninfo(dst), "--rules", path},
                                  c.env);
        EXPECT_EQ(r.exit_code, 2) << c.rules << r;
        EXPECT_NE(r.err.find(path + c.expected), std::string::npos) << c.rules << r;
        RunResult plan =
            runPgsluice({"plan", "--source", source().conninfo(src), "--rules", path}, c.env);
        EXPECT_EQ(plan.exit_code, 2) << c.rules << plan;
    }
    EXPECT_EQ(schemaDump(target(), dst), before);
}

TEST(Sanitize, AFailingAfterStatementIsExitOneNamingIt) {
    std::string src = appDatabase();
    std::string dst = uniqueDatabaseName("sanafter");
    target().createDatabase(dst);
    std::string rules = writeRules(dst + ".yaml",
                                   "version: 1\nafter:\n  - UPDATE site SET hostname = 'x'\n"
                                   "  - UPDATE no_such_table SET a = 1\n");
    RunResult r = runPgsluice({"copy", "--source", source().conninfo(src), "--target",
                               target().conninfo(dst), "--rules", rules});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find(rules + ":4: after statement `UPDATE no_such_table SET a = 1` failed"),
              std::string::npos)
        << r;
    EXPECT_EQ(target().scalar(dst, "SELECT hostname FROM site"), "www.corp.example.com")
        << "after statements run in one transaction";
}

}  // namespace
}  // namespace pgsluice::integration
