// Unit tests of the small utilities: size parsing and formatting, private temporary directories.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "pgsluice/error.hpp"
#include "pgsluice/util/sizes.hpp"
#include "pgsluice/util/temp_dir.hpp"
#include "scoped_env.hpp"
#include "test_support.hpp"

namespace pgsluice::util {
namespace {

namespace fs = std::filesystem;

constexpr long long KiB = 1024;
constexpr long long MiB = KiB * 1024;
constexpr long long GiB = MiB * 1024;
constexpr long long TiB = GiB * 1024;

// Runs parseSize(text), expecting a UsageError with exit code 2; returns its message.
std::string sizeError(const std::string& text) {
    try {
        long long value = parseSize(text);
        ADD_FAILURE() << "parseSize(\"" << text << "\") gave " << value << " instead of failing";
    } catch (const UsageError& e) {
        EXPECT_EQ(e.code(), ExitCode::usage);
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "parseSize(\"" << text << "\") threw something else: " << e.what();
    }
    return "";
}

using test::ScopedEnv;

// --- parseSize -------------------------------------------------------------------------------

TEST(UtilParseSize, PlainNumbersAreBytes) {
    EXPECT_EQ(parseSize("0"), 0);
    EXPECT_EQ(parseSize("4096"), 4096);
    EXPECT_EQ(parseSize("1048576"), MiB);
    EXPECT_EQ(parseSize("17B"), 17);
    EXPECT_EQ(parseSize("17b"), 17);
}

TEST(UtilParseSize, UnitsArePowersOf1024InAnyCase) {
    EXPECT_EQ(parseSize("100kB"), 100 * KiB);
    EXPECT_EQ(parseSize("100KB"), 100 * KiB);
    EXPECT_EQ(parseSize("100kb"), 100 * KiB);
    EXPECT_EQ(parseSize("512MB"), 512 * MiB);
    EXPECT_EQ(parseSize("512mb"), 512 * MiB);
    EXPECT_EQ(parseSize("512Mb"), 512 * MiB);
    EXPECT_EQ(parseSize("1GB"), GiB);
    EXPECT_EQ(parseSize("1gB"), GiB);
    EXPECT_EQ(parseSize("2TB"), 2 * TiB);
    EXPECT_EQ(parseSize("2tb"), 2 * TiB);
}

TEST(UtilParseSize, SingleLetterAndBinaryUnitsAreAccepted) {
    EXPECT_EQ(parseSize("3k"), 3 * KiB);
    EXPECT_EQ(parseSize("3M"), 3 * MiB);
    EXPECT_EQ(parseSize("3G"), 3 * GiB);
    EXPECT_EQ(parseSize("3T"), 3 * TiB);
    EXPECT_EQ(parseSize("3KiB"), 3 * KiB);
    EXPECT_EQ(parseSize("3MiB"), 3 * MiB);
    EXPECT_EQ(parseSize("3GiB"), 3 * GiB);
    EXPECT_EQ(parseSize("3TiB"), 3 * TiB);
}

TEST(UtilParseSize, SpacesBeforeTheUnitDoNotMatter) {
    EXPECT_EQ(parseSize("1 GB"), GiB);
    EXPECT_EQ(parseSize("1   GB"), GiB);
    EXPECT_EQ(parseSize("64 kB"), 64 * KiB);
    EXPECT_EQ(parseSize("10 "), 10);
}

TEST(UtilParseSize, FractionsAreRoundedToWholeBytes) {
    EXPECT_EQ(parseSize("1.5GB"), GiB + GiB / 2);
    EXPECT_EQ(parseSize("0.5kB"), 512);
    EXPECT_EQ(parseSize("0.25 MB"), MiB / 4);
    EXPECT_EQ(parseSize(".5kB"), 512);
    EXPECT_EQ(parseSize("1.0001kB"), 1024);  // 1024.1024 rounds down
    EXPECT_EQ(parseSize("2.5"), 3);          // llround: halves away from zero
}

TEST(UtilParseSize, EmptyTextIsRefusedWithAnExample) {
    EXPECT_EQ(sizeError(""), "'' is not a size: write e.g. 1GB, 512MB or 1048576");
}

TEST(UtilParseSize, UnitWithoutNumberIsRefused) {
    EXPECT_EQ(sizeError("GB"), "'GB' is not a size: write e.g. 1GB, 512MB or 1048576");
    EXPECT_EQ(sizeError(" 1GB"), "' 1GB' is not a size: write e.g. 1GB, 512MB or 1048576");
    EXPECT_EQ(sizeError("-1GB"), "'-1GB' is not a size: write e.g. 1GB, 512MB or 1048576");
}

TEST(UtilParseSize, UnknownUnitIsRefusedNamingTheText) {
    EXPECT_EQ(sizeError("12XB"), "'12XB' has an unknown unit: use B, kB, MB, GB or TB");
    EXPECT_EQ(sizeError("12PB"), "'12PB' has an unknown unit: use B, kB, MB, GB or TB");
    EXPECT_EQ(sizeError("1GB2"), "'1GB2' has an unknown unit: use B, kB, MB, GB or TB");
}

TEST(UtilParseSize, MalformedNumbersAreRefused) {
    // A typo in the number must not silently become another size ("1..5GB" is not 1 GB).
    EXPECT_CONTAINS(sizeError("1.2.3GB"), "'1.2.3GB'");
    EXPECT_CONTAINS(sizeError("1..5GB"), "'1..5GB'");
    EXPECT_CONTAINS(sizeError("."), "'.'");
    EXPECT_CONTAINS(sizeError(".GB"), "'.GB'");
}

// --- formatBytes -----------------------------------------------------------------------------

TEST(UtilFormatBytes, BytesBelow1024HaveNoDecimals) {
    EXPECT_EQ(formatBytes(0), "0 B");
    EXPECT_EQ(formatBytes(1), "1 B");
    EXPECT_EQ(formatBytes(512), "512 B");
    EXPECT_EQ(formatBytes(1023), "1023 B");
}

TEST(UtilFormatBytes, From1024TheUnitChangesWithOneDecimal) {
    EXPECT_EQ(formatBytes(1024), "1.0 kB");
    EXPECT_EQ(formatBytes(1536), "1.5 kB");
    EXPECT_EQ(formatBytes(static_cast<double>(MiB)), "1.0 MB");
    EXPECT_EQ(formatBytes(20.0 * MiB), "20.0 MB");
    EXPECT_EQ(formatBytes(1.5 * GiB), "1.5 GB");
    EXPECT_EQ(formatBytes(static_cast<double>(TiB)), "1.0 TB");
}

TEST(UtilFormatBytes, TerabytesIsTheLargestUnit) {
    EXPECT_EQ(formatBytes(2048.0 * TiB), "2048.0 TB");
}

TEST(UtilFormatBytes, ParseSizeReadsWhatFormatBytesWrites) {
    for (long long bytes : {512LL, 3 * KiB, 20 * MiB, 3 * GiB / 2, 7 * TiB}) {
        std::string text = formatBytes(static_cast<double>(bytes));
        EXPECT_EQ(parseSize(text), bytes) << text;
    }
}

// --- TempDir ---------------------------------------------------------------------------------

TEST(UtilTempDir, IsCreatedUnderTmpdirWithThePrefix) {
    TempDir dir("pgsluice-util-test");
    fs::path path(dir.path());
    EXPECT_TRUE(fs::is_directory(path));
    EXPECT_EQ(path.parent_path(), fs::temp_directory_path().lexically_normal());
    EXPECT_TRUE(path.filename().string().starts_with("pgsluice-util-test-"))
        << path.filename().string();
    EXPECT_TRUE(fs::is_empty(path));
    // Private: only the owner may enter it.
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST(UtilTempDir, IsRemovedWithEverythingInIt) {
    std::string path;
    {
        TempDir dir("pgsluice-util-test");
        path = dir.path();
        fs::create_directories(fs::path(path) / "a" / "b");
        std::ofstream(fs::path(path) / "a" / "b" / "file.txt") << "contents";
        std::ofstream(fs::path(path) / "top.txt") << "more";
        ASSERT_TRUE(fs::exists(fs::path(path) / "a" / "b" / "file.txt"));
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST(UtilTempDir, TwoDirectoriesWithOnePrefixAreDistinct) {
    TempDir a("pgsluice-util-test");
    TempDir b("pgsluice-util-test");
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(fs::is_directory(a.path()));
    EXPECT_TRUE(fs::is_directory(b.path()));
}

TEST(UtilTempDir, ADirectoryRemovedByHandDoesNotMakeTheDestructorFail) {
    std::string path;
    {
        TempDir dir("pgsluice-util-test");
        path = dir.path();
        fs::remove_all(path);
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST(UtilTempDir, UnwritableTmpdirIsAnErrorSayingToSetTmpdir) {
    // /proc is a directory in which nobody, root included, can create one.
    ScopedEnv tmpdir("TMPDIR", "/proc");
    try {
        TempDir dir("pgsluice-util-test");
        FAIL() << "created " << dir.path();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot create a temporary directory under /proc: set TMPDIR to a writable "
                  "directory");
        EXPECT_EQ(e.code(), ExitCode::failure);
    }
}

TEST(UtilTempDir, MissingTmpdirIsAnErrorSayingToSetTmpdir) {
    // The header promises an Error saying to set TMPDIR whenever the directory cannot be
    // created; a TMPDIR that does not exist is the commonest way to get there.
    ScopedEnv tmpdir("TMPDIR", "/nonexistent/pgsluice-util-test");
    try {
        TempDir dir("pgsluice-util-test");
        FAIL() << "created " << dir.path();
    } catch (const Error& e) {
        EXPECT_CONTAINS(std::string(e.what()), "/nonexistent/pgsluice-util-test");
        EXPECT_CONTAINS(std::string(e.what()), "set TMPDIR to a writable directory");
    } catch (const std::exception& e) {
        FAIL() << "threw a " << typeid(e).name() << " instead of pgsluice::Error: " << e.what();
    }
}

}  // namespace
}  // namespace pgsluice::util
