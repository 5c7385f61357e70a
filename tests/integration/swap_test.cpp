// copy --swap: the live database changes only when the whole new copy succeeded.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

using namespace std::chrono_literals;

RunResult swapCopy(const std::string& src, const std::string& dst,
                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "copy",   "--source", source().conninfo(src), "--target", target().conninfo(dst),
        "--swap", "--yes",    "--progress",           "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args);
}

TEST(Swap, ASuccessfulSwapReplacesTheDatabase) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "swapok");
    std::string dst = liveTarget("swapok");
    target().exec("postgres", "ALTER DATABASE " + dst + " SET work_mem = '7MB'");
    RunResult r = swapCopy(src, dst, {"--verify"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find("was unavailable for"), std::string::npos) << r;
    EXPECT_NE(r.err.find("verified: all"), std::string::npos) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    EXPECT_EQ(target().scalar(dst, "SHOW work_mem"), "7MB") << "database settings carried over";
    EXPECT_EQ(databasesBeside(dst), "") << "neither the new nor the old database is left behind";
}

TEST(Swap, AFailedSwapLeavesTheOldDatabaseExactlyAsItWas) {
    std::string src = uniqueDatabaseName("swapfail");
    source().createDatabase(src);
    source().exec(src,
                  "CREATE FUNCTION ok(int) RETURNS bool LANGUAGE sql IMMUTABLE AS $$ SELECT $1 < "
                  "coalesce(nullif(current_setting('test.maxval', true), '')::int, 1000000) $$;"
                  "CREATE TABLE limited (a int CHECK (public.ok(a)));"
                  "INSERT INTO limited SELECT generate_series(1, 100);");
    std::string dst = liveTarget("swapfail");
    // The new database inherits this setting, so loading `limited` fails there.
    target().exec("postgres", "ALTER DATABASE " + dst + " SET test.maxval = '50'");
    std::string before = schemaDump(target(), dst);
    RunResult r = swapCopy(src, dst);
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("violates check constraint"), std::string::npos) << r;
    EXPECT_NE(r.err.find("the new database was dropped; " + dst + " is exactly as it was"),
              std::string::npos)
        << r;
    EXPECT_EQ(schemaDump(target(), dst), before);
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM old_data"), "2");
    EXPECT_EQ(databasesBeside(dst), "");
}

TEST(Swap, OtherSessionsBlockTheRenameUnlessTerminated) {
    std::string src = fixtureDatabase(source(), "all_types.sql", "swapbusy");
    std::string dst = liveTarget("swapbusy");
    BackgroundProcess holder = startProcess({(pgBinDir() / "psql").string(), "-X", "-c",
                                             "SELECT pg_sleep(120)", target().conninfo(dst)});
    for (int i = 0; i < 200 && target().scalar("postgres",
                                               "SELECT count(*) FROM pg_stat_activity WHERE "
                                               "datname = '" +
                                                   dst + "'") == "0";
         ++i) {
        std::this_thread::sleep_for(100ms);
    }
    RunResult r = swapCopy(src, dst, {"--swap-wait", "2"});
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("--terminate-connections"), std::string::npos) << r;
    EXPECT_EQ(target().scalar(dst, "SELECT count(*) FROM old_data"), "2");
    EXPECT_EQ(databasesBeside(dst), "");

    r = swapCopy(src, dst, {"--terminate-connections", "--keep-old"});
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
    std::string kept = databasesBeside(dst);
    EXPECT_NE(kept.find("_old_"), std::string::npos) << "--keep-old keeps it: " << kept;
    holder.wait();
    if (!kept.empty()) {
        target().dropDatabase(kept.substr(0, kept.size() - 1));
    }
}

}  // namespace
}  // namespace pgsluice::integration
