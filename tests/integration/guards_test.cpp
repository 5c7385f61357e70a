// The guards every writing command runs before it touches anything.

#include <gtest/gtest.h>

#include "pg_cluster.hpp"

namespace pgsluice::integration {
namespace {

RunResult copyTo(const std::string& src, const std::string& target_conn,
                 std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"copy",      "--source",   src,   "--target",
                                     target_conn, "--progress", "none"};
    args.insert(args.end(), extra.begin(), extra.end());
    return runPgsluice(args, env);
}

TEST(Guards, TheSourceIsNeverTheTargetWhateverTheSpelling) {
    std::string db = uniqueDatabaseName("self");
    source().createDatabase(db);
    source().exec(db, "CREATE TABLE t (a int); INSERT INTO t VALUES (1)");
    std::string port = std::to_string(source().port());
    std::string src = source().conninfo(db);
    for (const std::string& spelling :
         {src, source().uri(db), "postgresql://postgres@localhost:" + port + "/" + db,
          "host=" + source().dir().string() + " port=" + port + " user=postgres dbname=" + db,
          "dbname=" + db + " user=postgres hostaddr=127.0.0.1 port=" + port}) {
        RunResult r = copyTo(src, spelling, {"--clean", "--yes"});
        EXPECT_EQ(r.exit_code, 2) << spelling << "\n" << r;
        EXPECT_NE(r.err.find("the target is the source"), std::string::npos) << spelling << r;
    }
    EXPECT_EQ(source().scalar(db, "SELECT count(*) FROM t"), "1");
}

TEST(Guards, ProtectedNamesAreRefused) {
    std::string src = uniqueDatabaseName("protsrc");
    source().createDatabase(src);
    std::string dst = "app_prod_" + uniqueDatabaseName("x");
    target().createDatabase(dst);
    RunResult r = copyTo(source().conninfo(src), target().conninfo(dst));
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("matches the protected pattern \"*prod*\""), std::string::npos) << r;

    std::string staging = "staging_" + uniqueDatabaseName("y");
    target().createDatabase(staging);
    r = copyTo(source().conninfo(src), target().conninfo(staging), {"--protect", "staging_*"});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("\"staging_*\""), std::string::npos) << r;
    r = copyTo(source().conninfo(src), target().conninfo(staging), {},
               {{"PGSLUICE_PROTECT", "nothing,STAGING*"}});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_NE(r.err.find("\"STAGING*\""), std::string::npos) << r;

    r = copyTo(source().conninfo(src), target().conninfo(dst), {"--protect", ""});
    EXPECT_EQ(r.exit_code, 0) << "--protect '' clears the default: " << r;
}

}  // namespace
}  // namespace pgsluice::integration
