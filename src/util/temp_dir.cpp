#include "pgsluice/util/temp_dir.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "pgsluice/error.hpp"

namespace pgsluice::util {

TempDir::TempDir(const std::string& prefix) {
    std::error_code ec;
    std::string base = std::filesystem::temp_directory_path(ec).string();
    if (ec) {
        const char* tmpdir = std::getenv("TMPDIR");
        throw Error(
            fmt::format("cannot use {} as the temporary directory ({}): set TMPDIR to a "
                        "writable directory",
                        tmpdir ? tmpdir : "/tmp", ec.message()));
    }
    std::string pattern = base + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
        throw Error(
            fmt::format("cannot create a temporary directory under {}: set TMPDIR to a "
                        "writable directory",
                        base));
    }
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace pgsluice::util
