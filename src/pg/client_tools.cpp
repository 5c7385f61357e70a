#include "pgsluice/pg/client_tools.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "pgsluice/error.hpp"
#include "pgsluice/pg/schema_tool.hpp"

namespace pgsluice::pg {

namespace {

std::string toolPath(const std::string& dir, const char* name) {
    return dir.empty() ? std::string(name) : dir + "/" + name;
}

std::string formatVersion(int v) {
    if (v >= 100000) {
        return fmt::format("{}.{}", v / 10000, v % 10000);
    }
    return fmt::format("{}.{}.{}", v / 10000, v / 100 % 100, v % 100);
}

// The version a tool reports, 0 when it is missing or says nothing readable.
int probeVersion(const std::string& path) {
    if (::access(path.c_str(), X_OK) != 0) {
        return 0;
    }
    try {
        ProcessResult r = runProcess({path, "--version"}, {{"LC_ALL", "C"}});
        return r.exit_code == 0 ? parseToolVersion(r.out) : 0;
    } catch (const Error&) {
        return 0;
    }
}

ToolCandidate probe(const std::string& dir, std::string origin) {
    return {dir, std::move(origin), probeVersion(toolPath(dir, "pg_dump")),
            probeVersion(toolPath(dir, "pg_restore"))};
}

// The directory of the first pg_dump on PATH, empty when there is none.
std::string pathDirectory() {
    const char* path = std::getenv("PATH");
    std::string text = path ? path : "";
    size_t start = 0;
    while (start <= text.size()) {
        size_t colon = text.find(':', start);
        std::string dir = text.substr(start, colon == std::string::npos ? colon : colon - start);
        if (!dir.empty() && ::access((dir + "/pg_dump").c_str(), X_OK) == 0) {
            return dir;
        }
        if (colon == std::string::npos) {
            break;
        }
        start = colon + 1;
    }
    return "";
}

std::string describeCandidate(const ToolCandidate& c) {
    auto one = [&](const char* name, int version) {
        return version ? fmt::format("{} {}", name, formatVersion(version))
                       : fmt::format("no usable {}", name);
    };
    return fmt::format("{}, {} in {} ({})", one("pg_dump", c.pg_dump_version),
                       one("pg_restore", c.pg_restore_version), c.dir.empty() ? "PATH" : c.dir,
                       c.origin);
}

}  // namespace

std::string ClientTools::describe() const {
    return fmt::format("pg_dump and pg_restore {} ({}, from {})", formatVersion(version), pg_dump,
                       origin);
}

int parseToolVersion(std::string_view out) {
    size_t pos = out.find("(PostgreSQL) ");
    pos = pos == std::string_view::npos ? out.find_first_of("0123456789") : pos + 13;
    if (pos == std::string_view::npos || pos >= out.size() ||
        !std::isdigit(static_cast<unsigned char>(out[pos]))) {
        return 0;
    }
    auto digit = [&](size_t i) {
        return i < out.size() && std::isdigit(static_cast<unsigned char>(out[i]));
    };
    int parts[3] = {0, 0, 0};
    for (int n = 0; n < 3; ++n) {
        while (digit(pos)) {
            parts[n] = std::min(parts[n] * 10 + (out[pos++] - '0'), 9999);
        }
        if (pos >= out.size() || out[pos] != '.' || !digit(pos + 1)) {
            break;
        }
        ++pos;
    }
    if (parts[0] >= 10) {
        return parts[0] * 10000 + parts[1];
    }
    return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

int majorVersion(int version_num) {
    return version_num >= 100000 ? version_num / 10000 : version_num / 100;
}

std::string majorName(int version_num) {
    return version_num >= 100000
               ? std::to_string(version_num / 10000)
               : fmt::format("{}.{}", version_num / 10000, version_num / 100 % 100);
}

ClientTools chooseClientTools(const std::vector<ToolCandidate>& candidates, int needed_version,
                              const std::string& what_needs) {
    // Compared as numbers that order 9.6 (906) below 10 (1000).
    auto rank = [](int v) { return v >= 100000 ? majorVersion(v) * 100 : majorVersion(v); };
    int needed = rank(needed_version);
    for (const auto& c : candidates) {
        if (c.pg_dump_version && c.pg_restore_version && rank(c.pg_dump_version) >= needed &&
            rank(c.pg_restore_version) >= rank(c.pg_dump_version)) {
            return {toolPath(c.dir, "pg_dump"), toolPath(c.dir, "pg_restore"), c.pg_dump_version,
                    c.origin};
        }
    }
    std::string found;
    for (const auto& c : candidates) {
        found += "\n  " + describeCandidate(c);
    }
    std::string major = majorName(needed_version);
    throw UsageError(fmt::format(
        "pg_dump and pg_restore {0} or newer are needed ({1}; an older pg_dump refuses to dump "
        "it), but none was found:{2}\nInstall postgresql-client-{0} (Debian and Ubuntu, from "
        "apt.postgresql.org), or give --pg-bin DIR (or PGSLUICE_PG_BIN) naming the directory "
        "of a pg_dump {0} or newer.",
        major, what_needs, found.empty() ? "\n  no pg_dump anywhere" : found));
}

std::vector<ToolCandidate> findToolCandidates(const std::string& pg_bin_option) {
    if (!pg_bin_option.empty()) {
        return {probe(pg_bin_option, "--pg-bin")};
    }
    for (const char* name : {"PGSLUICE_PG_BIN", "PGSLUICE_PG_BINDIR"}) {
        if (const char* env = std::getenv(name); env && *env) {
            return {probe(env, name)};
        }
    }
    std::vector<ToolCandidate> out;
    std::error_code ec;
    std::filesystem::path path_dir;
    if (std::string dir = pathDirectory(); !dir.empty()) {
        out.push_back(probe(dir, "PATH"));
        path_dir = std::filesystem::weakly_canonical(dir, ec);
    }
    std::vector<ToolCandidate> installed;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
        std::string dir = (entry.path() / "bin").string();
        if (!path_dir.empty() && std::filesystem::weakly_canonical(dir, ec) == path_dir) {
            continue;  // PATH's, probed already
        }
        if (::access((dir + "/pg_dump").c_str(), X_OK) == 0) {
            installed.push_back(probe(dir, "/usr/lib/postgresql"));
        }
    }
    std::sort(installed.begin(), installed.end(),
              [](const auto& a, const auto& b) { return a.pg_dump_version > b.pg_dump_version; });
    out.insert(out.end(), installed.begin(), installed.end());
    return out;
}

ClientTools findClientTools(const std::string& pg_bin_option, int needed_version,
                            const std::string& what_needs) {
    return chooseClientTools(findToolCandidates(pg_bin_option), needed_version, what_needs);
}

}  // namespace pgsluice::pg
