// Subsets on real servers: every foreign-key shape, the expected rows computed independently
// with plain SQL on the source and compared with the target row for row.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

// Every foreign-key shape the subsetting follows, each graph in tables of its own.
constexpr const char* kGraphs = R"sql(
-- chain with a nullable key: a (condition) <- b (follows, nullable) <- c (follows)
CREATE TABLE a (id int PRIMARY KEY, note text);
CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a);
CREATE TABLE c (id int PRIMARY KEY, b_id int NOT NULL REFERENCES b);
INSERT INTO a SELECT i, 'a' || i FROM generate_series(1, 30) i;
INSERT INTO b SELECT i, CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % 30 END FROM generate_series(1, 60) i;
INSERT INTO c SELECT i, 1 + i % 60 FROM generate_series(1, 120) i;

-- diamond: top (condition) <- left_side, right_side <- bottom (both keys must hold)
CREATE TABLE top (id int PRIMARY KEY);
CREATE TABLE left_side (id int PRIMARY KEY, top_id int NOT NULL REFERENCES top);
CREATE TABLE right_side (id int PRIMARY KEY, top_id int NOT NULL REFERENCES top);
CREATE TABLE bottom (id int PRIMARY KEY, left_id int NOT NULL REFERENCES left_side,
                     right_id int NOT NULL REFERENCES right_side);
INSERT INTO top SELECT i FROM generate_series(1, 10) i;
INSERT INTO left_side SELECT i, 1 + i % 10 FROM generate_series(1, 20) i;
INSERT INTO right_side SELECT i, 1 + (i * 3) % 10 FROM generate_series(1, 20) i;
INSERT INTO bottom SELECT i, 1 + i % 20, 1 + (i * 7) % 20 FROM generate_series(1, 80) i;

-- self-referencing tree with a condition: the kept rows pull in their managers to the root
CREATE TABLE emp (id int PRIMARY KEY, manager_id int REFERENCES emp);
INSERT INTO emp VALUES (1, NULL);
INSERT INTO emp SELECT i, i / 2 FROM generate_series(2, 63) i;

-- a two-table cycle of deferrable keys: x (condition) <-> y (follows x, pulled in by x)
CREATE TABLE x (id int PRIMARY KEY, y_id int);
CREATE TABLE y (id int PRIMARY KEY, x_id int);
INSERT INTO x SELECT i, CASE WHEN i < 12 THEN i + 1 END FROM generate_series(1, 12) i;
INSERT INTO y SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + (i + 3) % 12 END
  FROM generate_series(1, 12) i;
ALTER TABLE x ADD FOREIGN KEY (y_id) REFERENCES y DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE y ADD FOREIGN KEY (x_id) REFERENCES x DEFERRABLE;

-- composite key, with partly NULL keys (MATCH SIMPLE holds)
CREATE TABLE p2 (a int, b int, PRIMARY KEY (a, b));
CREATE TABLE c2 (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) REFERENCES p2);
INSERT INTO p2 SELECT i % 3, i FROM generate_series(1, 30) i;
INSERT INTO c2 SELECT i, (i * 7 % 30 + 1) % 3, i * 7 % 30 + 1 FROM generate_series(1, 50) i;
INSERT INTO c2 VALUES (51, NULL, 999), (52, 0, NULL);

-- a key to a unique constraint that is not the primary key
CREATE TABLE acct (id int PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE acct_ref (id int PRIMARY KEY, acct_code text REFERENCES acct (code));
INSERT INTO acct SELECT i, 'ACC-' || i FROM generate_series(1, 20) i;
INSERT INTO acct_ref SELECT i, 'ACC-' || (1 + i % 20) FROM generate_series(1, 40) i;

-- partitioned tables, keys between partitions: po (condition) pulls pc rows of any partition
CREATE TABLE pc (region text, id int, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE pc_eu PARTITION OF pc FOR VALUES IN ('eu');
CREATE TABLE pc_us PARTITION OF pc FOR VALUES IN ('us');
CREATE TABLE po (id int PRIMARY KEY, region text, cust_id int,
                 FOREIGN KEY (region, cust_id) REFERENCES pc) PARTITION BY RANGE (id);
CREATE TABLE po_low PARTITION OF po FOR VALUES FROM (1) TO (51);
CREATE TABLE po_high PARTITION OF po FOR VALUES FROM (51) TO (1000);
INSERT INTO pc SELECT CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i FROM generate_series(1, 40) i;
INSERT INTO po SELECT i, CASE WHEN (i % 40 + 1) % 2 = 0 THEN 'eu' ELSE 'us' END, i % 40 + 1
  FROM generate_series(1, 100) i;

-- a link the schema does not declare
CREATE TABLE vc (id int PRIMARY KEY, code text NOT NULL UNIQUE, email text);
CREATE TABLE vo (id int PRIMARY KEY, customer_ref text);
INSERT INTO vc SELECT i, 'C' || i, 'user' || i || '@example.com' FROM generate_series(1, 24) i;
INSERT INTO vo SELECT i, CASE WHEN i % 9 = 0 THEN NULL ELSE 'C' || (1 + i % 24) END
  FROM generate_series(1, 48) i;

-- untouched by the subset, and a table whose data the rules leave out
CREATE TABLE lookup_whole (id int PRIMARY KEY);
INSERT INTO lookup_whole SELECT generate_series(1, 15);
CREATE TABLE audit_log (id int PRIMARY KEY, what text);
INSERT INTO audit_log SELECT i, 'x' FROM generate_series(1, 10) i;
)sql";

constexpr const char* kRules = R"yaml(version: 1
salt_env: SUBSET_TEST_SALT
exclude_table_data: [public.audit_log]
subset:
  public.a: "id % 3 = 0"
  public.top: "id <= 3"
  public.emp: "id IN (37, 50)"
  public.x: "id <= 2"
  public.p2: "a = 1"
  public.acct: "id % 2 = 0"
  public.pc: "region = 'eu' AND id % 4 = 0"
  public.po: "id % 5 = 0"
  public.vc: "id % 4 = 0"
virtual_foreign_keys:
  - from: public.vo(customer_ref)
    to: public.vc(code)
tables:
  public.vc:
    email: email
)yaml";

// For each table, the ids the subset must keep, computed with plain SQL on the source.
const std::map<std::string, std::string> kExpected = {
    {"a", "SELECT id FROM a WHERE id % 3 = 0"},
    {"b", "SELECT id FROM b WHERE a_id IS NULL OR a_id IN (SELECT id FROM a WHERE id % 3 = 0)"},
    {"c",
     "SELECT id FROM c WHERE b_id IN (SELECT id FROM b WHERE a_id IS NULL OR a_id IN "
     "(SELECT id FROM a WHERE id % 3 = 0))"},
    {"top", "SELECT id FROM top WHERE id <= 3"},
    {"left_side", "SELECT id FROM left_side WHERE top_id <= 3"},
    {"right_side", "SELECT id FROM right_side WHERE top_id <= 3"},
    {"bottom",
     "SELECT id FROM bottom WHERE left_id IN (SELECT id FROM left_side WHERE top_id <= 3) "
     "AND right_id IN (SELECT id FROM right_side WHERE top_id <= 3)"},
    {"emp",
     "WITH RECURSIVE up(id) AS (SELECT id FROM emp WHERE id IN (37, 50) UNION "
     "SELECT e.manager_id FROM emp e JOIN up ON e.id = up.id WHERE e.manager_id IS NOT NULL) "
     "SELECT id FROM up"},
    // x: its condition plus what kept y rows pull in; y: rows that follow kept x rows (or have
    // a NULL key), plus what kept x rows pull in. Followers point at kept rows already.
    {"x",
     "WITH RECURSIVE k(t, id) AS ("
     " SELECT 'x', id FROM x WHERE id <= 2"
     " UNION SELECT 'y', id FROM y WHERE x_id IS NULL"
     " UNION SELECT n.t, n.id FROM k CROSS JOIN LATERAL ("
     "  SELECT 'y'::text, x.y_id FROM x WHERE k.t = 'x' AND x.id = k.id AND x.y_id IS NOT NULL"
     "  UNION ALL SELECT 'y', y.id FROM y WHERE k.t = 'x' AND y.x_id = k.id"
     "  UNION ALL SELECT 'x', y.x_id FROM y WHERE k.t = 'y' AND y.id = k.id"
     "   AND y.x_id IS NOT NULL) n(t, id))"
     " SELECT id FROM k WHERE t = 'x'"},
    {"p2", "SELECT b FROM p2 WHERE a = 1"},
    {"c2",
     "SELECT id FROM c2 WHERE a IS NULL OR b IS NULL OR (a, b) IN (SELECT a, b FROM p2 "
     "WHERE a = 1)"},
    {"acct", "SELECT id FROM acct WHERE id % 2 = 0"},
    {"acct_ref",
     "SELECT id FROM acct_ref WHERE acct_code IN (SELECT code FROM acct WHERE id % 2 = 0)"},
    {"pc",
     "SELECT id FROM pc WHERE (region = 'eu' AND id % 4 = 0) OR (region, id) IN "
     "(SELECT region, cust_id FROM po WHERE id % 5 = 0)"},
    {"po", "SELECT id FROM po WHERE id % 5 = 0"},
    {"vc", "SELECT id FROM vc WHERE id % 4 = 0"},
    {"vo",
     "SELECT id FROM vo WHERE customer_ref IS NULL OR customer_ref IN (SELECT code FROM vc "
     "WHERE id % 4 = 0)"},
    {"lookup_whole", "SELECT id FROM lookup_whole"},
};

// y is the other half of the cycle: the same fixpoint, its side.
std::string expectedY() {
    std::string sql = kExpected.at("x");
    return sql.substr(0, sql.rfind("SELECT id FROM k")) + "SELECT id FROM k WHERE t = 'y'";
}

// The key column the expectations list (p2 has no id).
std::string keyOf(const std::string& table) {
    return table == "p2" ? "b" : "id";
}

std::string idList(const TestCluster& cluster, const std::string& db, const std::string& sql) {
    return cluster.scalar(
        db, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM (" + sql + ") s(id)");
}

const std::map<std::string, std::string> kSalt = {{"SUBSET_TEST_SALT", "subset-test-salt"}};

class Subset : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        db_ = uniqueDatabaseName("subset");
        source().createDatabase(db_);
        source().exec(db_, kGraphs);
    }

    // Checks every table of `copied` against the expectations, and that every foreign key of
    // the source exists (and so holds) on the target.
    static void expectSubset(const std::string& copied) {
        for (const auto& [table, sql] : kExpected) {
            std::string want = idList(source(), db_, sql);
            std::string got = idList(target(), copied, "SELECT " + keyOf(table) + " FROM " + table);
            EXPECT_EQ(got, want) << "table " << table;
            EXPECT_FALSE(want.empty()) << "the fixture keeps no row of " << table;
        }
        EXPECT_EQ(idList(target(), copied, "SELECT id FROM y"), idList(source(), db_, expectedY()));
        const char* keys = "SELECT count(*) FROM pg_constraint WHERE contype = 'f'";
        EXPECT_EQ(target().scalar(copied, keys), source().scalar(db_, keys));
        EXPECT_EQ(target().scalar(copied, "SELECT count(*) FROM audit_log"), "0");
    }

    static std::string db_;
};

std::string Subset::db_;

TEST_F(Subset, EveryKeyShapeIsFollowedAndEveryKeyHolds) {
    TempFile rules("subset-rules", kRules);
    std::string copied = emptyTarget("subset_copy");
    RunResult r = runPgsluice(
        {"copy", "--source", source().conninfo(db_), "--target", target().conninfo(copied),
         "--rules", rules.path(), "-j", "2", "--progress", "none", "--verify"},
        kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;
    expectSubset(copied);
    // The rules applied to the kept rows, and the subset did not disturb them.
    EXPECT_EQ(target().scalar(copied, "SELECT count(*) FROM vc WHERE email LIKE '%@example.com'"),
              "0");

    // verify, run on its own with the same rules, agrees; without the subset it does not.
    RunResult v = runPgsluice({"verify", "--source", source().conninfo(db_), "--target",
                               target().conninfo(copied), "--rules", rules.path()},
                              kSalt);
    EXPECT_EQ(v.exit_code, 0) << v;
    RunResult whole = runPgsluice(
        {"verify", "--source", source().conninfo(db_), "--target", target().conninfo(copied)});
    EXPECT_EQ(whole.exit_code, 1) << whole;
}

TEST_F(Subset, PlanShowsEachTablesPart) {
    TempFile rules("subset-rules", kRules);
    RunResult r =
        runPgsluice({"plan", "--source", source().conninfo(db_), "--rules", rules.path()}, kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;
    for (const char* part : {"condition", "follows parents", "whole", "pulled in"}) {
        EXPECT_NE(r.out.find(part), std::string::npos) << part << " missing in\n" << r.out;
    }
}

TEST_F(Subset, DumpRecordsTheSubsetAndRestoresIt) {
    TempFile rules("subset-rules", kRules);
    std::string archive = (std::filesystem::temp_directory_path() / (db_ + ".sluice")).string();
    RunResult d = runPgsluice({"dump", "--source", source().conninfo(db_), "-f", archive, "--rules",
                               rules.path(), "-j", "2", "--progress", "none"},
                              kSalt);
    ASSERT_EQ(d.exit_code, 0) << d;
    RunResult i = runPgsluice({"inspect", archive});
    EXPECT_EQ(i.exit_code, 0) << i;
    EXPECT_NE(i.out.find("public.a: id % 3 = 0"), std::string::npos) << i.out;
    EXPECT_NE(i.out.find("subset: follows parents"), std::string::npos) << i.out;
    EXPECT_NE(i.out.find("virtual public.vo(customer_ref) -> public.vc(code)"), std::string::npos)
        << i.out;

    std::string restored = emptyTarget("subset_restore");
    RunResult l = runPgsluice({"restore", "-f", archive, "--target", target().conninfo(restored),
                               "-j", "2", "--progress", "none"});
    ASSERT_EQ(l.exit_code, 0) << l;
    expectSubset(restored);
    std::filesystem::remove(archive);
}

TEST_F(Subset, CommandLineConditionReplacesTheFilesForItsTable) {
    TempFile rules("subset-rules", kRules);
    std::string copied = emptyTarget("subset_cli");
    RunResult r = runPgsluice(
        {"copy", "--source", source().conninfo(db_), "--target", target().conninfo(copied),
         "--rules", rules.path(), "--subset", "public.top:id = 10", "--progress", "none"},
        kSalt);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(idList(target(), copied, "SELECT id FROM top"), "10");
    EXPECT_EQ(idList(target(), copied, "SELECT id FROM left_side"),
              idList(source(), db_, "SELECT id FROM left_side WHERE top_id = 10"));
}

TEST_F(Subset, BadConditionOrPatternIsExitTwoBeforeTheTargetIsTouched) {
    std::string copied = emptyTarget("subset_bad");
    TempFile bad("subset-bad", "version: 1\nsubset:\n  public.a: \"no_such_column = 1\"\n");
    RunResult r =
        runPgsluice({"copy", "--source", source().conninfo(db_), "--target",
                     target().conninfo(copied), "--rules", bad.path(), "--progress", "none"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find(bad.path() + ":3"), std::string::npos) << r;
    EXPECT_NE(r.err.find("no_such_column"), std::string::npos) << r;

    RunResult p = runPgsluice({"copy", "--source", source().conninfo(db_), "--target",
                               target().conninfo(copied), "--subset", "public.nope:id = 1",
                               "--progress", "none"});
    EXPECT_EQ(p.exit_code, 2) << p;
    EXPECT_NE(p.err.find("matches no table"), std::string::npos) << p;

    RunResult s =
        runPgsluice({"copy", "--source", source().conninfo(db_), "--target",
                     target().conninfo(copied), "--subset", "no-colon-here", "--progress", "none"});
    EXPECT_EQ(s.exit_code, 2) << s;
    EXPECT_EQ(target().scalar(copied,
                              "SELECT count(*) FROM pg_class WHERE relnamespace = "
                              "'public'::regnamespace"),
              "0");
}

}  // namespace
}  // namespace pgsluice::integration
