#include "pgsluice/pg/schema_tool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
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
    if (conn.role() == Role::target) {
        // As pgsluice's own target sessions: nothing on the target is durable before the run
        // ends, so a commit need not wait for the disk.
        const char* options = std::getenv("PGOPTIONS");
        env.emplace_back("PGOPTIONS",
                         std::string(options ? options : "") + " -c synchronous_commit=off");
    }
    // libpq's own messages in English, so that a lost connection can be told from bad DDL.
    env.emplace_back("LC_ALL", "C");
    return env;
}

}  // namespace

ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         const std::function<bool()>& stop) {
    // Everything the child needs is made before fork(): other threads may hold locks (the
    // environment's, say) that the child would wait on for ever.
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        std::string_view key = entry.substr(0, entry.find('='));
        bool replaced =
            std::any_of(env.begin(), env.end(), [&](const auto& kv) { return kv.first == key; });
        if (!replaced) {
            env_strings.emplace_back(entry);
        }
    }
    for (const auto& [key, value] : env) {
        env_strings.push_back(key + "=" + value);
    }
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const char* cannot = "cannot execute ";
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
        ::execvpe(args[0], args.data(), envp.data());
        (void)!::write(STDERR_FILENO, cannot, std::strlen(cannot));
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
    std::optional<std::chrono::steady_clock::time_point> stopped;
    while (open_fds > 0) {
        if (stop && !stopped && stop()) {
            ::kill(pid, SIGTERM);
            stopped = std::chrono::steady_clock::now();
        }
        if (stopped && std::chrono::steady_clock::now() - *stopped > std::chrono::seconds(2)) {
            ::kill(pid, SIGKILL);
        }
        int ready = ::poll(fds, 2, stop ? 200 : -1);
        if (ready < 0) {
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

SchemaTool::SchemaTool(const ClientTools& tools)
    : pg_dump_(tools.pg_dump), pg_restore_(tools.pg_restore) {}

void SchemaTool::check(const ProcessResult& result, const std::string& what) const {
    if (result.exit_code == 0) {
        return;
    }
    std::string err = result.err;
    while (!err.empty() && err.back() == '\n') {
        err.pop_back();
    }
    // What libpq and the server say when the connection, not the DDL, failed: the step may
    // pass on a new attempt.
    static constexpr std::string_view kConnectionLost[] = {
        "server closed the connection unexpectedly",
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        "could not connect to server",
        "Connection refused",
        "Connection reset by peer",
        "Connection timed out",
        "No route to host",
        "timeout expired",
        "could not receive data from server",
        "could not send data to server",
        "no connection to the server",
        "SSL SYSCALL error",
        "sorry, too many clients already",
        "deadlock detected",
    };
    bool lost = false;
    for (std::string_view marker : kConnectionLost) {
        lost = lost || err.find(marker) != std::string::npos;
    }
    throw PgError(fmt::format("{} failed (exit {}):\n{}", what, result.exit_code, err), "", lost);
}

DumpCommand SchemaTool::dumpCommand(const Connection& source, const std::string& snapshot,
                                    const std::string& path,
                                    const std::vector<std::string>& extra_args) const {
    std::vector<std::string> argv = {pg_dump_,
                                     "--format=custom",
                                     "--compress=0",
                                     "--section=pre-data",
                                     "--section=post-data",
                                     "--snapshot=" + snapshot,
                                     "--file=" + path,
                                     "--dbname=" + source.conninfoWithoutPassword()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    return {std::move(argv), childEnv(source)};
}

void SchemaTool::dump(const DumpCommand& command) const {
    check(runProcess(command.argv, command.env, stop_), "pg_dump of the source schema");
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
                         const std::string& section, const RestoreFlags& options,
                         const std::string& list_file) const {
    std::vector<std::string> argv = {pg_restore_, "--section=" + section, "--exit-on-error",
                                     "--dbname=" + target.conninfoWithoutPassword()};
    if (section != "pre-data" && options.jobs > 1) {
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
    check(runProcess(argv, childEnv(target), stop_),
          fmt::format("pg_restore of the {} schema", section));
}

std::string SchemaTool::cleanScript(const std::string& path, const RestoreFlags& options,
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
