#pragma once

// Helpers the unit tests share.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pgsluice/util/temp_dir.hpp"

namespace pgsluice::testing {

// gmock is not linked; this gives the same failure output as HasSubstr.
inline ::testing::AssertionResult containsFormat(const char* text_expr, const char* part_expr,
                                                 const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << text_expr << " does not contain " << part_expr
                                         << "\n  text: " << text << "\n  part: " << part;
}

// The bytes of a file (empty if it cannot be read).
inline std::string readWholeFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// A fresh directory under $TMPDIR (util::TempDir), removed with its contents when the object
// dies, with the helpers tests want.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "pgsluice-test") : dir_(prefix) {}

    // The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (path() / name).string(); }
    // The names of the entries in the directory, sorted.
    std::vector<std::string> list() const {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(path())) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }
    std::filesystem::path path() const { return dir_.path(); }

  private:
    util::TempDir dir_;
};

}  // namespace pgsluice::testing

#define EXPECT_CONTAINS(text, part) \
    EXPECT_PRED_FORMAT2(::pgsluice::testing::containsFormat, text, part)
