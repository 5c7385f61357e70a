// pgsluice verify against real servers: exact copies agree, every kind of difference is found.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

RunResult verify(const std::string& src, const std::string& dst,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "verify", "--source", source().conninfo(src), "--target", target().conninfo(dst),
        "-j",     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args);
}

// A copied fixture database: (source db, target db).
std::pair<std::string, std::string> copied(std::string_view hint) {
    std::string src = fixtureDatabase(source(), "all_types.sql", hint);
    std::string dst = uniqueDatabaseName(hint);
    target().createDatabase(dst);
    RunResult r = runPgsluice(
        {"copy", "--source", source().conninfo(src), "--target", target().conninfo(dst), "-q"});
    EXPECT_EQ(r.exit_code, 0) << r;
    return {src, dst};
}

TEST(Verify, AnExactCopyAgrees) {
    auto [src, dst] = copied("vexact");
    RunResult r = verify(src, dst, {"--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r;
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["same"].get<bool>());
    EXPECT_GT(j["tables"].size(), 10u);
    for (const auto& t : j["tables"]) {
        EXPECT_EQ(t["source_hash"], t["target_hash"]) << t.dump();
    }
}

TEST(Verify, AChangedAMissingAndAnExtraRowAreEachFound) {
    auto [src, dst] = copied("vdiff");
    ASSERT_EQ(verify(src, dst).exit_code, 0);

    target().exec(dst, "UPDATE big_table SET payload = payload || 'x' WHERE id = 1000");
    RunResult r = verify(src, dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.out.find("DIFFERS  public.big_table  content differs"), std::string::npos) << r;
    EXPECT_NE(r.err.find("1 table differ: public.big_table"), std::string::npos) << r;

    target().exec(dst, "UPDATE big_table SET payload = rtrim(payload, 'x') WHERE id = 1000");
    ASSERT_EQ(verify(src, dst).exit_code, 0) << "the change was undone";

    target().exec(dst, "DELETE FROM orders WHERE id = (SELECT min(id) FROM orders)");
    r = verify(src, dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.out.find("public.orders  rows differ"), std::string::npos) << r;

    std::string extra_db = uniqueDatabaseName("vextra");
    source().createDatabase(extra_db);
    source().exec(extra_db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2)");
    std::string extra_dst = uniqueDatabaseName("vextra");
    target().createDatabase(extra_dst);
    target().exec(extra_dst, "CREATE TABLE t (a int); INSERT INTO t VALUES (1), (2), (2)");
    r = verify(extra_db, extra_dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.out.find("rows differ: 2 on the source, 3 on the target"), std::string::npos) << r;

    // Same row count, one duplicate instead of another row: only the hash can tell.
    target().exec(extra_dst, "DELETE FROM t; INSERT INTO t VALUES (1), (1)");
    r = verify(extra_db, extra_dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.out.find("content differs"), std::string::npos) << r;

    target().exec(extra_dst, "DELETE FROM t; INSERT INTO t VALUES (2), (1); CREATE TABLE u ()");
    r = verify(extra_db, extra_dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.out.find("same     public.t"), std::string::npos) << "row order does not matter";
    EXPECT_NE(r.out.find("public.u  only on the target"), std::string::npos) << r;
}

}  // namespace
}  // namespace pgsluice::integration
