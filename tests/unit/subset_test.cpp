// The subset's pure parts: the --subset option, the tid[] literals, the manifest lines.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pgsluice/engine/subset.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::engine {
namespace {

TEST(SubsetOption, TableThenConditionAtTheFirstColonOutsideQuotes) {
    SubsetSpec::Condition c = parseSubsetOption("public.users:id % 100 = 0");
    EXPECT_EQ(c.pattern, "public.users");
    EXPECT_EQ(c.sql, "id % 100 = 0");
    EXPECT_EQ(c.where, "--subset");
    // A quoted name may hold a colon; the condition may hold more.
    c = parseSubsetOption(R"("odd:schema".t:created > '2020-01-01 00:00:00')");
    EXPECT_EQ(c.pattern, R"("odd:schema".t)");
    EXPECT_EQ(c.sql, "created > '2020-01-01 00:00:00'");
}

TEST(SubsetOption, MissingTableOrConditionIsAUsageError) {
    for (const char* bad :
         {"public.users", ":id = 1", "public.users:", "public.users:   ", "\"unclosed:id = 1"}) {
        EXPECT_THROW(parseSubsetOption(bad), UsageError) << bad;
    }
}

TEST(SubsetCtids, PackedCtidsBecomeATidArrayLiteral) {
    std::vector<std::uint64_t> ctids = {packCtid(0, 1), packCtid(0, 2),
                                        packCtid(4294967295u, 65535)};
    EXPECT_EQ(ctidArray(ctids, 0, 3), R"x({"(0,1)","(0,2)","(4294967295,65535)"})x");
    EXPECT_EQ(ctidArray(ctids, 1, 2), R"x({"(0,2)"})x");
    EXPECT_EQ(ctidArray(ctids, 2, 2), "{}");
}

TEST(SubsetSpecLines, ConditionsAndVirtualKeysAsTheManifestRecordsThem) {
    SubsetSpec spec;
    spec.conditions.push_back({"public.a", "id % 3 = 0", "rules.yaml:4"});
    spec.virtual_keys.push_back({"public.o", {"x", "y"}, "public.c", {"a", "b"}, "rules.yaml:9"});
    EXPECT_EQ(
        describeSubset(spec),
        (std::vector<std::string>{"public.a: id % 3 = 0 (rules.yaml:4)",
                                  "virtual public.o(x, y) -> public.c(a, b) (rules.yaml:9)"}));
    EXPECT_FALSE(spec.empty());
    EXPECT_STREQ(subsetRoleName(SubsetRole::follows), "follows parents");
}

}  // namespace
}  // namespace pgsluice::engine
