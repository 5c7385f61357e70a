#include "pgsluice/pg/schema_tool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace pgsluice::pg {

namespace {

// Environment for a child that talks to `conn`: the password goes by environment, never argv.
std::vector<std::pair<std::string, std::string>> childEnv(const Connection& conn) {
    std::vector<std::pair<std::string, std::string>> env;
    std::string pw = conn.password();
    if (!pw.empty()) {
        env.emplace_back("PGPASSWORD", pw);
    }
    env.emplace_back("PGAPPNAME", "pgsluice");
    return env;
}

// Returns `dir/name` if it is executable.
bool executable(const std::string& path) {
    return ::access(path.c_str(), X_OK) == 0;
}

// Every entry description pg_dump writes (ArchiveEntry's .description, pg_dump 15 to 18).
// Several are a word followed by more words, so the longest that matches wins.
constexpr std::string_view kDescriptions[] = {
    "ACCESS METHOD",
    "ACL",
    "AGGREGATE",
    "BLOB",
    "BLOB COMMENTS",
    "BLOB METADATA",
    "BLOBS",
    "CAST",
    "CHECK CONSTRAINT",
    "COLLATION",
    "COMMENT",
    "CONSTRAINT",
    "CONVERSION",
    "DATABASE",
    "DATABASE PROPERTIES",
    "DEFAULT",
    "DEFAULT ACL",
    "DOMAIN",
    "ENCODING",
    "EVENT TRIGGER",
    "EXTENSION",
    "FK CONSTRAINT",
    "FOREIGN DATA WRAPPER",
    "FOREIGN SERVER",
    "FOREIGN TABLE",
    "FUNCTION",
    "INDEX",
    "INDEX ATTACH",
    "LARGE OBJECT",
    "LARGE OBJECTS",
    "MATERIALIZED VIEW",
    "MATERIALIZED VIEW DATA",
    "OPERATOR",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "POLICY",
    "PROCEDURAL LANGUAGE",
    "PROCEDURE",
    "PUBLICATION",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "ROW SECURITY",
    "RULE",
    "SCHEMA",
    "SEARCHPATH",
    "SECURITY LABEL",
    "SEQUENCE",
    "SEQUENCE OWNED BY",
    "SEQUENCE SET",
    "SERVER",
    "SHELL TYPE",
    "STATISTICS",
    "STATISTICS DATA",
    "STDSTRINGS",
    "SUBSCRIPTION",
    "SUBSCRIPTION TABLE",
    "TABLE",
    "TABLE ATTACH",
    "TABLE DATA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE",
    "TRANSFORM",
    "TRIGGER",
    "TYPE",
    "USER MAPPING",
    "VIEW",
};

// Reads a decimal number at the start of `text` into `value` and drops it from `text`.
template <typename T>
bool takeNumber(std::string_view& text, T& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) {
        return false;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return true;
}

// Drops `prefix` from the start of `text`; false when `text` does not start with it.
bool takePrefix(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

// Fills `e` from an entry line `dumpId; tableoid oid DESC NAMESPACE TAG OWNER`; false when the
// line does not have that shape.
bool parseEntryLine(std::string_view line, TocEntry& e) {
    std::string_view rest = line;
    if (!takeNumber(rest, e.dump_id) || e.dump_id <= 0 || !takePrefix(rest, "; ") ||
        !takeNumber(rest, e.catalog_oid) || !takePrefix(rest, " ") || !takeNumber(rest, e.oid) ||
        !takePrefix(rest, " ") || rest.empty()) {
        return false;
    }
    std::string_view desc;
    for (std::string_view d : kDescriptions) {
        if (d.size() > desc.size() && rest.starts_with(d) &&
            (rest.size() == d.size() || rest[d.size()] == ' ')) {
            desc = d;
        }
    }
    if (desc.empty()) {
        // A description newer than this list: assume one word.
        desc = rest.substr(0, rest.find(' '));
    }
    e.desc = desc;
    rest.remove_prefix(desc.size());
    takePrefix(rest, " ");
    // pg_restore prints "-" for no namespace and nothing at all for no owner, so the line ends
    // with the space that follows the tag.
    size_t space = rest.find(' ');
    std::string_view schema = rest.substr(0, space);
    e.schema = schema == "-" ? "" : std::string(schema);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    e.tag = rest.substr(0, rest.rfind(' '));
    e.line = line;
    return true;
}

// Reads the dump ids of a ";\tdepends on: 12 34" line into `deps`; false when `line` is
// another comment. Throws FormatError when the ids cannot be read.
bool parseDependsLine(std::string_view line, size_t line_no, std::vector<int>& deps) {
    std::string_view rest = line.substr(1);
    while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) {
        rest.remove_prefix(1);
    }
    if (!takePrefix(rest, "depends on:")) {
        return false;
    }
    while (!rest.empty()) {
        int id = 0;
        if (!takePrefix(rest, " ") || !takeNumber(rest, id) || id <= 0) {
            throw FormatError(
                fmt::format("line {} is not a list of dump ids: `{}`", line_no, line));
        }
        deps.push_back(id);
    }
    return true;
}

}  // namespace

std::vector<TocEntry> parseTocList(std::string_view text) {
    std::vector<TocEntry> entries;
    // A depends line belongs to the entry line right above it.
    bool after_entry = false;
    size_t line_no = 0;
    while (!text.empty()) {
        size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++line_no;
        if (line.empty()) {
            after_entry = false;
            continue;
        }
        if (line.front() == ';') {
            std::vector<int> deps;
            if (parseDependsLine(line, line_no, deps)) {
                if (!after_entry) {
                    throw FormatError(
                        fmt::format("line {} lists dependencies but follows no entry", line_no));
                }
                auto& target = entries.back().dependencies;
                target.insert(target.end(), deps.begin(), deps.end());
            }
            after_entry = false;
            continue;
        }
        TocEntry e;
        if (!parseEntryLine(line, e)) {
            throw FormatError(
                fmt::format("line {} is not a table of contents entry: `{}`", line_no, line));
        }
        entries.push_back(std::move(e));
        after_entry = true;
    }
    return entries;
}

ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env) {
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
        throw Error(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        throw Error(fmt::format("cannot start {}: {}", argv[0], std::strerror(errno)));
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(out_pipe[1], STDOUT_FILENO);
        ::dup2(err_pipe[1], STDERR_FILENO);
        for (const auto& [key, value] : env) {
            ::setenv(key.c_str(), value.c_str(), 1);
        }
        std::vector<char*> args;
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        const char* msg = "cannot execute ";
        (void)!::write(STDERR_FILENO, msg, std::strlen(msg));
        (void)!::write(STDERR_FILENO, args[0], std::strlen(args[0]));
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ProcessResult result;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

SchemaTool::SchemaTool(int source_server_version) {
    int source_major = source_server_version / 10000;
    std::string dir;
    if (const char* env = std::getenv("PGSLUICE_PG_BINDIR"); env && *env) {
        dir = env;
    } else {
        int best = 0;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
            int major = std::atoi(entry.path().filename().c_str());
            if (major >= source_major && major > best &&
                executable((entry.path() / "bin/pg_dump").string())) {
                best = major;
                dir = (entry.path() / "bin").string();
            }
        }
    }
    pg_dump_ = dir.empty() ? "pg_dump" : dir + "/pg_dump";
    pg_restore_ = dir.empty() ? "pg_restore" : dir + "/pg_restore";
}

void SchemaTool::check(const ProcessResult& result, const std::string& what) const {
    if (result.exit_code == 0) {
        return;
    }
    std::string err = result.err;
    while (!err.empty() && err.back() == '\n') {
        err.pop_back();
    }
    throw Error(fmt::format("{} failed (exit {}):\n{}", what, result.exit_code, err));
}

void SchemaTool::dump(const Connection& source, const std::string& snapshot,
                      const std::string& path, const std::vector<std::string>& extra_args) const {
    std::vector<std::string> argv = {pg_dump_,
                                     "--format=custom",
                                     "--compress=0",
                                     "--section=pre-data",
                                     "--section=post-data",
                                     "--snapshot=" + snapshot,
                                     "--file=" + path,
                                     "--dbname=" + source.conninfoWithoutPassword()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    check(runProcess(argv, childEnv(source)), "pg_dump of the source schema");
}

std::vector<TocEntry> SchemaTool::list(const std::string& path) const {
    ProcessResult result = runProcess({pg_restore_, "--list", "--verbose", path}, {});
    check(result, "pg_restore --list");
    try {
        return parseTocList(result.out);
    } catch (const FormatError& e) {
        throw FormatError(fmt::format("pg_restore --list of {}: {}", path, e.what()));
    }
}

void SchemaTool::restore(const Connection& target, const std::string& path,
                         const std::string& section, const RestoreOptions& options,
                         const std::string& list_file) const {
    std::vector<std::string> argv = {pg_restore_, "--section=" + section, "--exit-on-error",
                                     "--dbname=" + target.conninfoWithoutPassword()};
    if (section == "pre-data") {
        argv.emplace_back("--single-transaction");
    } else if (options.jobs > 1) {
        argv.push_back(fmt::format("--jobs={}", options.jobs));
    }
    if (options.no_owner) {
        argv.emplace_back("--no-owner");
    }
    if (options.no_privileges) {
        argv.emplace_back("--no-privileges");
    }
    if (!list_file.empty()) {
        argv.push_back("--use-list=" + list_file);
    }
    argv.push_back(path);
    check(runProcess(argv, childEnv(target)), fmt::format("pg_restore of the {} schema", section));
}

std::string SchemaTool::cleanScript(const std::string& path, const RestoreOptions& options,
                                    const std::string& list_file) const {
    std::vector<std::string> argv = {pg_restore_, "--clean", "--if-exists", "--file=-"};
    if (!list_file.empty()) {
        argv.push_back("--use-list=" + list_file);
    }
    if (options.no_owner) {
        argv.emplace_back("--no-owner");
    }
    if (options.no_privileges) {
        argv.emplace_back("--no-privileges");
    }
    argv.push_back(path);
    ProcessResult result = runProcess(argv, {});
    check(result, "pg_restore --clean");
    // pg_restore prints the DROP statements first, then each object under a "-- Name:" header;
    // keep the session settings and the drops, and leave out psql meta-commands (\restrict).
    std::string script;
    std::istringstream lines(result.out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("-- Name: ", 0) == 0) {
            break;
        }
        if (!line.empty() && line[0] == '\\') {
            continue;
        }
        script += line;
        script += '\n';
    }
    return script;
}

}  // namespace pgsluice::pg
