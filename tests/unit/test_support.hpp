#pragma once

// Helpers the unit tests share.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

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

// A fresh directory under $TMPDIR, removed with its contents when the object dies.
class TempDir {
  public:
    explicit TempDir(const std::string& prefix = "pgsluice-test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    // The names of the entries in the directory, sorted.
    std::vector<std::string> list() const {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(path_)) {
            names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace pgsluice::testing

#define EXPECT_CONTAINS(text, part) \
    EXPECT_PRED_FORMAT2(::pgsluice::testing::containsFormat, text, part)
