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
