#include "pg_cluster.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace pgsluice::integration {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// --- small utilities -------------------------------------------------------------------------

std::runtime_error errnoError(std::string_view what) {
    return std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

bool isExecutable(const fs::path& path) {
    return ::access(path.c_str(), X_OK) == 0 && !fs::is_directory(path);
}

// Looks name up in path_list like execvp would; empty if not found.
std::string findInPath(const std::string& name, const std::string& path_list) {
    if (name.find('/') != std::string::npos) {
        return name;
    }
    std::stringstream dirs(path_list);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
        if (isExecutable(candidate)) {
            return candidate.string();
        }
    }
    return {};
}

std::string envOr(const char* name, std::string fallback) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : fallback;
}

// The child environment: ours without PG* variables, then extra on top.
std::map<std::string, std::string> childEnvironment(
    const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view kv(*entry);
        auto eq = kv.find('=');
        if (eq == std::string_view::npos || kv.substr(0, eq).starts_with("PG")) {
            continue;
        }
        env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    }
    for (const auto& [key, value] : extra) {
        env[key] = value;
    }
    return env;
}

// argv-style array of pointers into strings that the caller keeps alive.
std::vector<char*> cStrings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

void resetSignalsForExec() {
    // Dispositions set to SIG_IGN survive exec; a child must start with the defaults.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2}) {
        ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void closeFd(int& fd) noexcept {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

std::string_view trimRight(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.remove_suffix(1);
    }
    return s;
}

std::vector<std::string> splitLines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

// --- libpq ------------------------------------------------------------------------------------

struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// One libpq connection for the harness's own statements.
class Conn {
  public:
    Conn(const std::string& conninfo, std::string label) : label_(std::move(label)) {
        conn_ = PQconnectdb((conninfo + " connect_timeout=20").c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            std::string message(trimRight(PQerrorMessage(conn_)));
            PQfinish(conn_);
            throw std::runtime_error(fmt::format("{}: cannot connect: {}", label_, message));
        }
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
    }
    ~Conn() { PQfinish(conn_); }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    Rows query(std::string_view sql) {
        ResultPtr result(PQexec(conn_, std::string(sql).c_str()));
        auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
            status != PGRES_EMPTY_QUERY) {
            std::string message = result ? PQresultErrorMessage(result.get()) : "";
            if (message.empty()) {
                message = PQerrorMessage(conn_);
            }
            const char* state =
                result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
            if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
                message = "COPY is not supported by the harness's exec/query";
            }
            std::string shown(sql.substr(0, 300));
            throw std::runtime_error(fmt::format("{}: {} (SQLSTATE {})\nwhile running: {}{}",
                                                 label_, trimRight(message), state ? state : "?",
                                                 shown, sql.size() > shown.size() ? " ..." : ""));
        }
        Rows rows;
        int n_rows = PQntuples(result.get());
        int n_cols = PQnfields(result.get());
        rows.reserve(n_rows);
        for (int r = 0; r < n_rows; ++r) {
            auto& row = rows.emplace_back();
            row.reserve(n_cols);
            for (int c = 0; c < n_cols; ++c) {
                if (PQgetisnull(result.get(), r, c)) {
                    row.push_back(kNull);
                } else {
                    row.emplace_back(PQgetvalue(result.get(), r, c),
                                     static_cast<std::size_t>(PQgetlength(result.get(), r, c)));
                }
            }
        }
        return rows;
    }

  private:
    PGconn* conn_ = nullptr;
    std::string label_;
};

std::string quoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

std::string quoteConnValue(std::string_view value) {
    bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\'' || c == '\\' || c == '=';
    });
    if (plain) {
        return std::string(value);
    }
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw errnoError("socket");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        auto error = errnoError("bind 127.0.0.1:0");
        ::close(fd);
        throw error;
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Server commands must not run as root (initdb refuses); as root they run as "postgres".
struct ServerUser {
    bool needed = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string runuser;  // absolute path, empty if only su is available
};

const ServerUser& serverUser() {
    static const ServerUser user = [] {
        ServerUser u;
        if (::geteuid() != 0) {
            return u;
        }
        u.needed = true;
        const passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr) {
            throw std::runtime_error(
                "running as root but there is no 'postgres' user to run the test clusters");
        }
        u.uid = pw->pw_uid;
        u.gid = pw->pw_gid;
        for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
            if (isExecutable(candidate)) {
                u.runuser = candidate;
                break;
            }
        }
        return u;
    }();
    return user;
}

// argv, prefixed so it runs as the postgres user when we are root.
std::vector<std::string> asServerUser(std::vector<std::string> argv) {
    const auto& user = serverUser();
    if (!user.needed) {
        return argv;
    }
    if (!user.runuser.empty()) {
        std::vector<std::string> wrapped = {user.runuser, "-u", "postgres", "--"};
        wrapped.insert(wrapped.end(), argv.begin(), argv.end());
        return wrapped;
    }
    std::string command;
    for (const auto& arg : argv) {
        command += (command.empty() ? "" : " ") + shellQuote(arg);
    }
    return {findInPath("su", "/usr/bin:/bin"), "postgres", "-s", "/bin/sh", "-c", command};
}

// Where cluster directories go: $PGSLUICE_TEST_TMPDIR, else $TMPDIR, else /dev/shm when it is a
// roomy tmpfs (initdb and CREATE DATABASE are several times faster there than on a slow disk),
// else /tmp.
std::string clusterTempBase() {
    std::string base = envOr("PGSLUICE_TEST_TMPDIR", envOr("TMPDIR", ""));
    if (base.empty()) {
        struct statvfs shm {};
        bool roomy = ::statvfs("/dev/shm", &shm) == 0 &&
                     static_cast<double>(shm.f_bavail) * shm.f_frsize > 4e9 &&
                     ::access("/dev/shm", W_OK | X_OK) == 0;
        base = roomy ? "/dev/shm" : "/tmp";
    }
    // The socket path (dir + "/.s.PGSQL.NNNNN") must fit in sun_path (108 bytes).
    if (base.size() > 60) {
        base = "/tmp";
    }
    return base;
}

std::string currentTestLabel() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info == nullptr) {
        return "db";
    }
    return std::string(info->test_suite_name()) + "_" + info->name();
}

}  // namespace

// --- processes --------------------------------------------------------------------------------

struct BackgroundProcess::Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::string out;
    std::string err;
    bool done = false;              // both pipes reached EOF (or the reader was stopped)
    std::atomic<bool> stop{false};  // ask the reader to give up on pipes still open
    int out_fd = -1;
    int err_fd = -1;
};

void BackgroundProcess::readPipes(const std::shared_ptr<Shared>& shared) {
    pollfd fds[2] = {{shared->out_fd, POLLIN, 0}, {shared->err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&shared->out, &shared->err};
    char buffer[65536];
    while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !shared->stop.load()) {
        int ready = ::poll(fds, 2, 100);
        if (ready < 0 && errno != EINTR) {
            break;
        }
        for (int i = 0; i < 2 && ready > 0; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) {
                continue;
            }
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                std::lock_guard lock(shared->mutex);
                sinks[i]->append(buffer, static_cast<std::size_t>(n));
                shared->changed.notify_all();
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    for (auto& pfd : fds) {
        if (pfd.fd >= 0) {
            ::close(pfd.fd);
        }
    }
    std::lock_guard lock(shared->mutex);
    shared->done = true;
    shared->changed.notify_all();
}

BackgroundProcess startProcess(std::vector<std::string> argv, ProcessOptions options) {
    if (argv.empty()) {
        throw std::invalid_argument("startProcess: empty argv");
    }
    BackgroundProcess process;
    process.deadline_ = std::chrono::steady_clock::now() + options.timeout;
    process.shared_ = std::make_shared<BackgroundProcess::Shared>();

    auto env_map = childEnvironment(options.extra_env);
    std::string path =
        findInPath(argv[0], env_map.count("PATH") ? env_map["PATH"] : "/usr/bin:/bin");
    if (path.empty()) {
        process.spawn_error_ = fmt::format("{}: not found in PATH", argv[0]);
        process.reaped_ = true;
        process.shared_->done = true;
        return process;
    }
    std::vector<std::string> env_strings;
    for (const auto& [key, value] : env_map) {
        env_strings.push_back(key + "=" + value);
    }
    auto c_argv = cStrings(argv);
    auto c_env = cStrings(env_strings);
    std::string working_dir = options.working_dir.string();

    int stdin_fd = -1;
    if (options.stdin_data) {
        stdin_fd = ::memfd_create("pgsluice-test-stdin", MFD_CLOEXEC);
        if (stdin_fd < 0) {
            throw errnoError("memfd_create");
        }
        const std::string& data = *options.stdin_data;
        for (std::size_t done = 0; done < data.size();) {
            ssize_t n = ::write(stdin_fd, data.data() + done, data.size() - done);
            if (n < 0) {
                auto error = errnoError("write stdin data");
                ::close(stdin_fd);
                throw error;
            }
            done += static_cast<std::size_t>(n);
        }
        ::lseek(stdin_fd, 0, SEEK_SET);
    } else {
        const auto& stdin_path =
            options.stdin_path.empty() ? fs::path("/dev/null") : options.stdin_path;
        stdin_fd = ::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (stdin_fd < 0) {
            throw errnoError("open " + stdin_path.string());
        }
    }

    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
    auto close_all = [&] {
        for (int* fd : {&stdin_fd, &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1],
                        &exec_pipe[0], &exec_pipe[1]}) {
            closeFd(*fd);
        }
    };
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
        auto error = errnoError("pipe2");
        close_all();
        throw error;
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        auto error = errnoError("fork");
        close_all();
        throw error;
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here to exec: the test binary may have threads.
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(stdin_fd, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        resetSignalsForExec();
        if (!working_dir.empty() && ::chdir(working_dir.c_str()) != 0) {
            int e = errno;
            [[maybe_unused]] auto w = ::write(exec_pipe[1], &e, sizeof e);
            ::_exit(127);
        }
        ::execve(path.c_str(), c_argv.data(), c_env.data());
        int e = errno;
        [[maybe_unused]] auto w = ::write(exec_pipe[1], &e, sizeof e);
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so signalling the group works right after we return
    ::close(stdin_fd);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    ::close(exec_pipe[1]);
    int exec_errno = 0;
    ssize_t n;
    do {
        n = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    ::close(exec_pipe[0]);

    process.pid_ = pid;
    process.shared_->out_fd = out_pipe[0];
    process.shared_->err_fd = err_pipe[0];
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        process.spawn_error_ =
            fmt::format("cannot execute {}: {}", path, std::strerror(exec_errno));
    }
    process.reader_ = std::thread(&BackgroundProcess::readPipes, process.shared_);
    return process;
}

BackgroundProcess::BackgroundProcess(BackgroundProcess&& other) noexcept {
    *this = std::move(other);
}

BackgroundProcess& BackgroundProcess::operator=(BackgroundProcess&& other) noexcept {
    if (this != &other) {
        release();
        pid_ = std::exchange(other.pid_, -1);
        reaped_ = other.reaped_;
        status_ = other.status_;
        deadline_ = other.deadline_;
        shared_ = std::move(other.shared_);
        reader_ = std::move(other.reader_);
        spawn_error_ = std::move(other.spawn_error_);
        fail_on_timeout_ = other.fail_on_timeout_;
        result_ = std::move(other.result_);
    }
    return *this;
}

BackgroundProcess::~BackgroundProcess() {
    release();
}

void BackgroundProcess::release() noexcept {
    if (pid_ > 0 && !reaped_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
    }
    if (reader_.joinable()) {
        shared_->stop = true;
        reader_.join();
    }
    pid_ = -1;
}

void BackgroundProcess::sendSignal(int sig, bool whole_group) const {
    if (pid_ <= 0 || reaped_) {
        throw std::logic_error("sendSignal: the process is not running");
    }
    if (::kill(whole_group ? -pid_ : pid_, sig) != 0) {
        throw errnoError("kill");
    }
}

bool BackgroundProcess::waitForOutput(std::string_view needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(shared_->mutex);
    return shared_->changed.wait_until(lock, deadline,
                                       [&] {
                                           return shared_->out.find(needle) != std::string::npos ||
                                                  shared_->err.find(needle) != std::string::npos ||
                                                  shared_->done;
                                       }) &&
           (shared_->out.find(needle) != std::string::npos ||
            shared_->err.find(needle) != std::string::npos);
}

bool BackgroundProcess::running() {
    if (pid_ <= 0 || reaped_) {
        return false;
    }
    pid_t r = ::waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
        reaped_ = true;
    }
    return !reaped_;
}

std::string BackgroundProcess::outSoFar() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->out;
}

std::string BackgroundProcess::errSoFar() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->err;
}

RunResult BackgroundProcess::wait() {
    if (result_) {
        return *result_;
    }
    RunResult result;
    bool status_lost = false;
    if (pid_ > 0) {
        auto sleep = 1ms;
        while (!reaped_) {
            pid_t r = ::waitpid(pid_, &status_, WNOHANG);
            if (r == pid_) {
                reaped_ = true;
                break;
            }
            if (r < 0 && errno != EINTR) {
                // Someone else reaped it (SIGCHLD ignored?): never report a success we did not see.
                result.err = fmt::format("[harness] waitpid({}): {}\n", pid_, std::strerror(errno));
                reaped_ = true;
                status_lost = true;
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline_) {
                result.timed_out = true;
                ::kill(-pid_, SIGKILL);
                ::kill(pid_, SIGKILL);
                while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
                }
                reaped_ = true;
                break;
            }
            std::this_thread::sleep_for(sleep);
            sleep = std::min(sleep * 2, std::chrono::milliseconds(20));
        }
        // Pipes close when the last writer goes; a leftover grandchild gets 10 s, then the group
        // is killed so a test never hangs on it.
        std::unique_lock lock(shared_->mutex);
        if (!shared_->changed.wait_for(lock, 10s, [&] { return shared_->done; })) {
            ::kill(-pid_, SIGKILL);
            shared_->changed.wait_for(lock, 2s, [&] { return shared_->done; });
        }
        lock.unlock();
        shared_->stop = true;
        if (reader_.joinable()) {
            reader_.join();
        }
        if (status_lost) {
            result.exit_code = -1;
        } else if (WIFEXITED(status_)) {
            result.exit_code = WEXITSTATUS(status_);
        } else if (WIFSIGNALED(status_)) {
            result.term_signal = WTERMSIG(status_);
            result.exit_code = 128 + result.term_signal;
        }
        result.out = shared_->out;
        result.err = shared_->err + result.err;
    }
    if (!spawn_error_.empty()) {
        result.exit_code = 127;
        result.err += spawn_error_ + "\n";
    }
    if (result.timed_out) {
        result.err += "[harness] killed after the timeout\n";
        if (fail_on_timeout_) {
            ADD_FAILURE() << "process " << pid_ << " timed out and was killed\n" << result;
        }
    }
    result_ = result;
    return result;
}

RunResult runProcess(std::vector<std::string> argv, ProcessOptions options) {
    return startProcess(std::move(argv), std::move(options)).wait();
}

std::string RunResult::describe() const {
    std::string status;
    if (timed_out) {
        status = "timed out (killed)";
    } else if (term_signal != 0) {
        status = fmt::format("killed by signal {} ({})", term_signal, strsignal(term_signal));
    } else {
        status = fmt::format("exit code {}", exit_code);
    }
    return fmt::format("{}\n--- stdout ---\n{}\n--- stderr ---\n{}", status,
                       trimRight(out.size() > 8000 ? out.substr(out.size() - 8000) : out),
                       trimRight(err.size() > 8000 ? err.substr(err.size() - 8000) : err));
}

std::ostream& operator<<(std::ostream& os, const RunResult& result) {
    return os << result.describe();
}

std::string pgsluiceBinary() {
    return envOr("PGSLUICE_TEST_BINARY", PGSLUICE_BINARY);
}

namespace {

ProcessOptions pgsluiceOptions(std::map<std::string, std::string> extra_env,
                               std::chrono::milliseconds timeout) {
    ProcessOptions options;
    if (!extra_env.count("PATH")) {
        extra_env["PATH"] = pgBinDir().string() + ":" + envOr("PATH", "/usr/bin:/bin");
    }
    options.extra_env = std::move(extra_env);
    options.timeout = timeout;
    return options;
}

}  // namespace

RunResult runPgsluice(std::vector<std::string> args, std::map<std::string, std::string> extra_env,
                      std::chrono::milliseconds timeout) {
    auto process = startPgsluice(std::move(args), std::move(extra_env), timeout);
    return process.wait();
}

BackgroundProcess startPgsluice(std::vector<std::string> args,
                                std::map<std::string, std::string> extra_env,
                                std::chrono::milliseconds timeout) {
    args.insert(args.begin(), pgsluiceBinary());
    auto process = startProcess(std::move(args), pgsluiceOptions(std::move(extra_env), timeout));
    process.fail_on_timeout_ = true;
    return process;
}

// --- paths and names --------------------------------------------------------------------------

fs::path pgBinDir() {
    static const fs::path dir = [] {
        if (const char* forced = std::getenv("PGSLUICE_TEST_PGBIN")) {
            return fs::path(forced);
        }
        fs::path best;
        int best_major = -1;
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
            const std::string major_text = entry.path().filename().string();
            char* end = nullptr;
            long major = std::strtol(major_text.c_str(), &end, 10);
            fs::path bin = entry.path() / "bin";
            if (end != major_text.c_str() && *end == '\0' && major > best_major &&
                isExecutable(bin / "initdb") && isExecutable(bin / "postgres")) {
                best_major = static_cast<int>(major);
                best = bin;
            }
        }
        if (best.empty()) {
            throw std::runtime_error(
                "no PostgreSQL server under /usr/lib/postgresql/*/bin (install the 'postgresql' "
                "package, or set PGSLUICE_TEST_PGBIN)");
        }
        return best;
    }();
    return dir;
}

fs::path sqlDir() {
    return PGSLUICE_TEST_SQL_DIR;
}

TempFile::TempFile(std::string_view hint, const std::string& text)
    : path_(fs::temp_directory_path() / uniqueDatabaseName(hint)) {
    std::ofstream(path_) << text;
}

TempFile::~TempFile() {
    std::error_code ignored;
    fs::remove(path_, ignored);
}

ScratchDir::ScratchDir(std::string_view hint)
    : path_(fs::temp_directory_path() / ("pgsluice-it-" + uniqueDatabaseName(hint))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
}

ScratchDir::~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string ScratchDir::listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path_)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) {
        out += (out.empty() ? "" : " ") + n;
    }
    return out;
}

std::string shellQuote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string uniqueDatabaseName(std::string_view hint) {
    static std::atomic<int> counter{0};
    auto clean = [](std::string_view in) {
        std::string out;
        for (char c : in) {
            unsigned char u = static_cast<unsigned char>(c);
            out += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
        }
        return out;
    };
    std::string suffix = fmt::format("{}{}_{}", hint.empty() ? "" : "_", clean(hint), ++counter);
    std::string base = clean(currentTestLabel());
    std::size_t room = suffix.size() < 60 ? 63 - suffix.size() : 3;
    if (base.size() > room) {
        base.resize(room);
    }
    std::string name = base + suffix;
    if (name.size() > 63) {
        name.resize(63);
    }
    return name;
}

// --- TestCluster ------------------------------------------------------------------------------

namespace {

// Runs argv as the server user (see asServerUser) with working_dir as its current directory.
RunResult runAsServerUserIn(std::vector<std::string> argv, const fs::path& working_dir) {
    ProcessOptions options;
    options.timeout = 120s;
    options.working_dir = working_dir;  // initdb fails if it cannot see its current directory
    return runProcess(asServerUser(std::move(argv)), options);
}

// A new directory under clusterTempBase(), owned by the server user; throws on failure.
fs::path makeServerTempDir(std::string_view label) {
    std::string pattern = clusterTempBase() + "/pgsluice-" + std::string(label) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw errnoError("mkdtemp " + pattern);
    }
    const auto& user = serverUser();
    if (user.needed && ::chown(pattern.c_str(), user.uid, user.gid) != 0) {
        auto error = errnoError("chown " + pattern);
        ::rmdir(pattern.c_str());
        throw error;
    }
    return pattern;
}

// initdb of data_dir (which must not exist yet) with what every test cluster has: trust auth for
// user postgres, UTF8, C.UTF-8 (or C) locale. working_dir must be reachable by the server user.
// Throws naming label on failure.
void runInitdb(const fs::path& data_dir, const fs::path& working_dir, std::string_view label) {
    const fs::path bin = pgBinDir();
    RunResult init;
    for (const char* locale : {"--locale=C.UTF-8", "--locale=C"}) {
        init =
            runAsServerUserIn({(bin / "initdb").string(), "-D", data_dir.string(), "--auth=trust",
                               "-U", "postgres", "--no-sync", "-E", "UTF8", locale},
                              working_dir);
        if (init.exit_code == 0) {
            return;
        }
        std::error_code ec;
        fs::remove_all(data_dir, ec);
    }
    throw std::runtime_error(fmt::format("{} cluster: initdb failed: {}", label, init.describe()));
}

// Copies a data directory keeping owners and modes, so the copy stays the server user's and
// private (the server refuses a group- or world-readable data directory); throws on failure.
void copyDataDir(const fs::path& from, const fs::path& to) {
    ProcessOptions options;
    options.timeout = 120s;
    auto r = runProcess({"cp", "-a", "--reflink=auto", "--", from.string(), to.string()}, options);
    if (r.exit_code != 0) {
        std::error_code ec;
        fs::remove_all(to, ec);
        throw std::runtime_error(
            fmt::format("cp -a {} {} failed: {}", from.string(), to.string(), r.describe()));
    }
}

// CRC-32C (Castagnoli) as PostgreSQL computes it, without the final inversion.
std::uint32_t crc32cUpdate(std::uint32_t crc, const unsigned char* bytes, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= bytes[i];
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return crc;
}

// Gives the shut-down cluster in data_dir a system identifier of its own. Two copies of one
// template would otherwise be the same server to anything that checks (pgsluice refuses a target
// that is the source by it). The identifier is the first field of pg_control, whose CRC-32C ends
// the struct at an offset that varies between versions: it is the first 4-byte word that holds
// the CRC of everything before it. pg_resetwal must run afterwards: the WAL carries the
// identifier too, and it writes new WAL from pg_control. Throws on failure.
void giveNewSystemIdentifier(const fs::path& data_dir) {
    const fs::path control = data_dir / "global" / "pg_control";
    const int fd = ::open(control.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        throw errnoError("open " + control.string());
    }
    std::vector<unsigned char> bytes(8192);
    const ssize_t size = ::pread(fd, bytes.data(), bytes.size(), 0);
    if (size < 64) {
        auto error = errnoError("read " + control.string());
        ::close(fd);
        throw error;
    }
    std::size_t crc_offset = 0;
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t offset = 0; offset + 4 <= static_cast<std::size_t>(size); offset += 4) {
        std::uint32_t stored;
        std::memcpy(&stored, &bytes[offset], 4);
        if (offset >= 16 && stored == (crc ^ 0xFFFFFFFFu)) {
            crc_offset = offset;
            break;
        }
        crc = crc32cUpdate(crc, &bytes[offset], 4);
    }
    if (crc_offset == 0) {
        ::close(fd);
        throw std::runtime_error(control.string() + ": no checksum found, cannot change the " +
                                 "system identifier");
    }
    // As initdb: seconds since the epoch in the high half; random bits below, not the clock's
    // microseconds, as two clusters start side by side.
    std::random_device random;
    std::uint64_t id = (static_cast<std::uint64_t>(std::time(nullptr)) << 32) | random();
    std::memcpy(&bytes[0], &id, sizeof id);
    crc = crc32cUpdate(0xFFFFFFFFu, bytes.data(), crc_offset) ^ 0xFFFFFFFFu;
    std::memcpy(&bytes[crc_offset], &crc, 4);
    if (::pwrite(fd, bytes.data(), static_cast<std::size_t>(size), 0) != size) {
        auto error = errnoError("write " + control.string());
        ::close(fd);
        throw error;
    }
    ::close(fd);
}

// In a template directory, next to data/: the bin dir of the PostgreSQL that made it. Written
// last, so a template without it is incomplete.
constexpr const char* kTemplateStamp = "PG_BIN";

// The template options ask for (or $PGSLUICE_TEST_CLUSTER_TEMPLATE names) if it is complete and
// made by pgBinDir()'s initdb; otherwise empty, with why in reason unless none was asked for.
fs::path usableTemplate(const ClusterOptions& options, std::string& reason) {
    fs::path dir =
        options.template_dir ? *options.template_dir : fs::path(envOr(kClusterTemplateEnv, ""));
    if (dir.empty()) {
        return {};
    }
    std::ifstream stamp(dir / kTemplateStamp);
    std::string made_with;
    if (!stamp || !std::getline(stamp, made_with) || !fs::is_directory(dir / "data")) {
        reason = fmt::format("{} is not a complete cluster template", dir.string());
        return {};
    }
    if (made_with != pgBinDir().string()) {
        reason = fmt::format("{} was made by {}, the tests use {}", dir.string(), made_with,
                             pgBinDir().string());
        return {};
    }
    return dir;
}

}  // namespace

void makeClusterTemplate(const fs::path& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) {
        throw std::runtime_error(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
    }
    fs::create_directories(dir);
    // initdb runs where the clusters go, which the server user can always reach (a build dir in a
    // private home directory may not be), and the result is copied into place.
    fs::path scratch = makeServerTempDir("template");
    try {
        runInitdb(scratch / "data", scratch, "template");
        copyDataDir(scratch / "data", dir / "data");
        std::ofstream stamp(dir / kTemplateStamp);
        stamp << pgBinDir().string() << "\n";
        stamp.close();
        if (!stamp) {
            throw std::runtime_error("cannot write " + (dir / kTemplateStamp).string());
        }
    } catch (...) {
        fs::remove_all(scratch, ec);
        fs::remove_all(dir, ec);
        throw;
    }
    fs::remove_all(scratch, ec);
}

TestCluster::TestCluster(std::string name, ClusterOptions options)
    : name_(std::move(name)), options_(std::move(options)) {
    dir_ = makeServerTempDir(name_);
    data_dir_ = dir_ / "data";
    log_file_ = dir_ / "server.log";
    try {
        startWatchdog();
        initCluster();
        startServer(true);
    } catch (...) {
        cleanup();
        throw;
    }
}

TestCluster::~TestCluster() {
    cleanup();
}

RunResult TestCluster::runAsServerUser(std::vector<std::string> argv) const {
    return runAsServerUserIn(std::move(argv), dir_);
}

void TestCluster::initCluster() {
    const fs::path bin = pgBinDir();
    std::string reason;
    fs::path template_dir = usableTemplate(options_, reason);
    if (!template_dir.empty()) {
        try {
            copyDataDir(template_dir / "data", data_dir_);
            from_template_ = true;
        } catch (const std::exception& e) {
            reason = e.what();
        }
    }
    if (!from_template_) {
        if (!reason.empty()) {
            fmt::print(stderr,
                       "[harness] {} cluster: not using the cluster template: {}; "
                       "running initdb\n",
                       name_, reason);
        }
        runInitdb(data_dir_, dir_, name_);
    }
    if (from_template_) {
        giveNewSystemIdentifier(data_dir_);
    }
    if (from_template_ || options_.next_oid != 0) {
        std::vector<std::string> reset = {(bin / "pg_resetwal").string(), "-D", data_dir_.string()};
        if (options_.next_oid != 0) {
            reset.insert(reset.end(), {"-o", std::to_string(options_.next_oid)});
        }
        auto r = runAsServerUser(reset);
        if (r.exit_code != 0) {
            throw std::runtime_error(
                fmt::format("{} cluster: pg_resetwal failed: {}", name_, r.describe()));
        }
    }
    std::ofstream conf(data_dir_ / "postgresql.conf", std::ios::app);
    conf << "\n# pgsluice integration-test settings\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "fsync = off\n"
         << "synchronous_commit = off\n"
         << "full_page_writes = off\n"
         << "max_connections = 50\n"
         << "shared_buffers = 128MB\n"
         << "max_wal_size = 1GB\n"
         << "logging_collector = off\n"
         // Segments in /dev/shm outlive an immediate stop; in the data dir they go with it.
         << "dynamic_shared_memory_type = mmap\n"
         << "lc_messages = 'C'\n"
         << "log_line_prefix = '%m [%p] %q%a@%d '\n";
    for (const auto& line : options_.settings) {
        conf << line << "\n";
    }
    conf.close();
    if (!conf) {
        throw std::runtime_error(fmt::format("{} cluster: cannot write postgresql.conf", name_));
    }
}

void TestCluster::startServer(bool choose_port) {
    const fs::path pg_ctl = pgBinDir() / "pg_ctl";
    RunResult last;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (choose_port) {
            port_ = freePort();
        }
        last = runAsServerUser({pg_ctl.string(), "start", "-D", data_dir_.string(), "-l",
                                log_file_.string(), "-w", "-t", "60", "-o",
                                "-p " + std::to_string(port_)});
        if (last.exit_code == 0) {
            running_ = true;
            return;
        }
        // Another process may have taken the port between our probe and the server's bind.
        runAsServerUser({pg_ctl.string(), "stop", "-D", data_dir_.string(), "-m", "immediate"});
        if (!choose_port) {
            break;
        }
    }
    throw std::runtime_error(
        fmt::format("{} cluster: pg_ctl start failed: {}\n--- server log ---\n{}", name_,
                    last.describe(), logTail()));
}

void TestCluster::start() {
    if (!running_) {
        startServer(false);
    }
}

void TestCluster::stop() {
    if (!running_) {
        return;
    }
    auto r = runAsServerUser({(pgBinDir() / "pg_ctl").string(), "stop", "-D", data_dir_.string(),
                              "-m", "immediate", "-w", "-t", "60"});
    running_ = false;
    if (r.exit_code != 0) {
        throw std::runtime_error(
            fmt::format("{} cluster: pg_ctl stop failed: {}", name_, r.describe()));
    }
}

// A forked child that waits on a pipe: a byte means "cleaned up, exit"; EOF means the test binary
// died without its destructors, so the child stops the server and removes the directory.
void TestCluster::startWatchdog() {
    std::vector<std::string> stop_argv =
        asServerUser({(pgBinDir() / "pg_ctl").string(), "stop", "-D", data_dir_.string(), "-m",
                      "immediate", "-w", "-t", "60"});
    std::vector<std::string> rm_argv = {"/bin/rm", "-rf", "--", dir_.string()};
    auto c_stop = cStrings(stop_argv);
    auto c_rm = cStrings(rm_argv);
    long open_max = std::clamp(::sysconf(_SC_OPEN_MAX), 256L, 65536L);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw errnoError("pipe2");
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        throw errnoError("fork");
    }
    if (pid == 0) {
        // Async-signal-safe calls only: the parent may have threads.
        ::setsid();  // out of the terminal's process group, so Ctrl-C does not kill us first
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) {
            ::sigaction(sig, &ignore, nullptr);
        }
        if (fds[0] != 3) {
            ::dup2(fds[0], 3);
        }
        for (long fd = 4; fd < open_max; ++fd) {
            ::close(static_cast<int>(fd));
        }
        int null_fd = ::open("/dev/null", O_RDWR);
        ::dup2(null_fd, 0);
        ::dup2(null_fd, 1);
        ::dup2(null_fd, 2);
        if (null_fd > 3) {
            ::close(null_fd);
        }
        char byte;
        ssize_t n;
        do {
            n = ::read(3, &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1) {
            ::_exit(0);
        }
        for (char** argv : {c_stop.data(), c_rm.data()}) {
            pid_t child = ::fork();
            if (child == 0) {
                ::close(3);
                resetSignalsForExec();
                ::execve(argv[0], argv, environ);
                ::_exit(127);
            }
            if (child > 0) {
                int status;
                while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
                }
            }
        }
        ::_exit(0);
    }
    ::close(fds[0]);
    watchdog_pid_ = pid;
    watchdog_fd_ = fds[1];
}

void TestCluster::stopWatchdog() noexcept {
    if (watchdog_fd_ >= 0) {
        [[maybe_unused]] auto n = ::write(watchdog_fd_, "x", 1);
        closeFd(watchdog_fd_);
    }
    if (watchdog_pid_ > 0) {
        int status;
        while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
        }
        watchdog_pid_ = -1;
    }
}

void TestCluster::cleanup() noexcept {
    try {
        stop();
    } catch (const std::exception& e) {
        // Keep going: the watchdog below would otherwise be told everything is clean.
        fmt::print(stderr, "[harness] {}\n", e.what());
        closeFd(watchdog_fd_);  // EOF makes the watchdog retry the stop and remove the directory
    }
    if (watchdog_fd_ >= 0 && !dir_.empty()) {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    stopWatchdog();
}

std::string TestCluster::conninfo(std::string_view db) const {
    return fmt::format("host=127.0.0.1 port={} user=postgres dbname={}", port_, quoteConnValue(db));
}

std::string TestCluster::uri(std::string_view db) const {
    std::string encoded;
    for (char c : db) {
        unsigned char u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
            encoded += c;
        } else {
            encoded += fmt::format("%{:02X}", u);
        }
    }
    return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, encoded);
}

void TestCluster::createDatabase(std::string_view name, std::string_view template_db) const {
    exec("postgres", "CREATE DATABASE " + quoteIdent(name) +
                         (template_db.empty() ? "" : " TEMPLATE " + quoteIdent(template_db)));
}

void TestCluster::dropDatabase(std::string_view name) const {
    exec("postgres", "DROP DATABASE IF EXISTS " + quoteIdent(name) + " WITH (FORCE)");
}

void TestCluster::exec(std::string_view db, std::string_view sql) const {
    Conn(conninfo(db), fmt::format("{} cluster, database {}", name_, db)).query(sql);
}

Rows TestCluster::query(std::string_view db, std::string_view sql) const {
    return Conn(conninfo(db), fmt::format("{} cluster, database {}", name_, db)).query(sql);
}

std::string TestCluster::scalar(std::string_view db, std::string_view sql) const {
    Rows rows = query(db, sql);
    if (rows.size() != 1 || rows[0].size() != 1) {
        throw std::runtime_error(
            fmt::format("{}: expected one value, got {} rows from: {}", name_, rows.size(), sql));
    }
    return rows[0][0];
}

void TestCluster::runSqlFile(std::string_view db, const fs::path& path) const {
    if (!fs::exists(path)) {
        throw std::runtime_error("SQL file not found: " + path.string());
    }
    ProcessOptions options;
    options.timeout = 600s;
    auto r = runProcess({(pgBinDir() / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                         conninfo(db), "-f", path.string()},
                        options);
    if (r.exit_code != 0) {
        throw std::runtime_error(
            fmt::format("{} cluster: psql -f {} failed: {}", name_, path.string(), r.describe()));
    }
}

void TestCluster::loadFixture(std::string_view db, std::string_view file_name) const {
    runSqlFile(db, sqlDir() / file_name);
}

std::string TestCluster::logTail(std::size_t max_lines) const {
    std::ifstream in(log_file_);
    if (!in) {
        return "(no server log at " + log_file_.string() + ")";
    }
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(std::move(line));
        if (lines.size() > max_lines) {
            lines.erase(lines.begin());
        }
    }
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

std::string fixtureDatabase(const TestCluster& cluster, std::string_view fixture,
                            std::string_view hint) {
    static std::mutex mutex;
    static std::map<std::string, std::string> loaded;  // cluster dir + fixture -> template db
    std::string key = cluster.dir().string() + "|" + std::string(fixture);
    std::string template_db;
    {
        std::lock_guard lock(mutex);
        auto it = loaded.find(key);
        if (it == loaded.end()) {
            std::string stem = fs::path(fixture).stem().string();
            template_db = "tpl_" + stem.substr(0, 50);
            cluster.dropDatabase(template_db);
            cluster.createDatabase(template_db);
            cluster.loadFixture(template_db, fixture);
            it = loaded.emplace(key, template_db).first;
        }
        template_db = it->second;
    }
    std::string db = uniqueDatabaseName(hint);
    cluster.createDatabase(db, template_db);
    return db;
}

void pgDumpRestore(const TestCluster& from, std::string_view from_db, const TestCluster& to,
                   std::string_view to_db, std::vector<std::string> extra_dump_args) {
    static std::atomic<int> counter{0};
    fs::path archive = to.dir() / fmt::format("reference-{}-{}.dump", ::getpid(), ++counter);
    ProcessOptions options;
    options.timeout = 600s;
    std::vector<std::string> dump = {(pgBinDir() / "pg_dump").string(),
                                     "-Fc",
                                     "-f",
                                     archive.string(),
                                     "-d",
                                     from.conninfo(from_db)};
    dump.insert(dump.end(), extra_dump_args.begin(), extra_dump_args.end());
    auto r = runProcess(dump, options);
    if (r.exit_code == 0) {
        r = runProcess({(pgBinDir() / "pg_restore").string(), "--exit-on-error", "-d",
                        to.conninfo(to_db), archive.string()},
                       options);
    }
    std::error_code ec;
    fs::remove(archive, ec);
    if (r.exit_code != 0) {
        throw std::runtime_error(fmt::format("pg_dump | pg_restore {}/{} -> {}/{} failed: {}",
                                             from.name(), from_db, to.name(), to_db, r.describe()));
    }
}

// --- ClustersEnv ------------------------------------------------------------------------------

namespace {

std::unique_ptr<TestCluster> g_source;
std::unique_ptr<TestCluster> g_target;
std::string g_env_error = "ClustersEnv::SetUp has not run";

// The one environment of the integration binary; gtest takes ownership of it.
[[maybe_unused]] ::testing::Environment* const g_clusters_env =
    ::testing::AddGlobalTestEnvironment(new ClustersEnv);

}  // namespace

void ClustersEnv::SetUp() {
    auto started = std::chrono::steady_clock::now();
    std::string errors[2];
    auto start = [&](int i, std::unique_ptr<TestCluster>& slot, const char* name,
                     ClusterOptions options) {
        try {
            slot = std::make_unique<TestCluster>(name, std::move(options));
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
    };
    ClusterOptions target_options;
    target_options.next_oid = 1'000'000;
    std::thread source_thread(start, 0, std::ref(g_source), "source", ClusterOptions{});
    std::thread target_thread(start, 1, std::ref(g_target), "target", target_options);
    source_thread.join();
    target_thread.join();
    if (!errors[0].empty() || !errors[1].empty()) {
        g_env_error = errors[0] + (errors[0].empty() || errors[1].empty() ? "" : "\n") + errors[1];
        g_source.reset();
        g_target.reset();
        FAIL() << "cannot start the test clusters:\n" << g_env_error;
    }
    g_env_error.clear();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    fmt::print(stderr, "[harness] clusters up in {} ms: source port {} ({}), target port {} ({})\n",
               ms.count(), g_source->port(), g_source->dir().string(), g_target->port(),
               g_target->dir().string());
}

void ClustersEnv::TearDown() {
    g_source.reset();
    g_target.reset();
    g_env_error = "ClustersEnv was torn down";
}

TestCluster& ClustersEnv::source() {
    if (!g_source) {
        throw std::runtime_error("no source cluster: " + g_env_error);
    }
    return *g_source;
}

TestCluster& ClustersEnv::target() {
    if (!g_target) {
        throw std::runtime_error("no target cluster: " + g_env_error);
    }
    return *g_target;
}

// --- comparison -------------------------------------------------------------------------------

std::string schemaDump(const TestCluster& cluster, std::string_view db) {
    ProcessOptions options;
    options.timeout = 300s;
    auto r = runProcess(
        {(pgBinDir() / "pg_dump").string(), "--schema-only", "-d", cluster.conninfo(db)}, options);
    if (r.exit_code != 0) {
        throw std::runtime_error(fmt::format("{} cluster: pg_dump --schema-only {} failed: {}",
                                             cluster.name(), db, r.describe()));
    }
    std::string out;
    bool last_blank = true;
    for (const auto& line : splitLines(r.out)) {
        if (line.starts_with("-- Dumped from database version") ||
            line.starts_with("-- Dumped by pg_dump version") || line.starts_with("\\restrict") ||
            line.starts_with("\\unrestrict")) {
            continue;
        }
        bool blank = line.empty();
        if (blank && last_blank) {
            continue;
        }
        out.append(line);
        out += '\n';
        last_blank = blank;
    }
    return std::string(trimRight(out)) + "\n";
}

namespace {

// A connection whose text output does not depend on settings that could differ between servers.
std::unique_ptr<Conn> digestConnection(const TestCluster& cluster, std::string_view db) {
    auto conn = std::make_unique<Conn>(cluster.conninfo(db),
                                       fmt::format("{} cluster, database {}", cluster.name(), db));
    conn->query(
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
        "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET lc_monetary = 'C';"
        "SET xmloption = 'content'; SET search_path = pg_catalog");
    return conn;
}

std::string sqlLiteral(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

// count(*) and the order-independent sum of row hashes of relation (a quoted name), as SQL.
std::string rowDigestSql(const std::string& relation, bool only) {
    // (r.*)::text is the whole row even if the table has a column named r.
    return fmt::format(
        "SELECT {}, count(*), coalesce(sum(('x' || substr(md5((r.*)::text), 1, 16))"
        "::bit(64)::bigint::numeric), 0)::text FROM {}{} AS r",
        sqlLiteral(relation), only ? "ONLY " : "", relation);
}

}  // namespace

DigestMap tableDigests(const TestCluster& cluster, std::string_view db) {
    auto conn_owner = digestConnection(cluster, db);
    Conn& conn = *conn_owner;
    DigestMap digests;
    Rows relations = conn.query(R"(
        SELECT format('%I.%I', n.nspname, c.relname), c.relkind, c.relpersistence, c.relispartition
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'S')
          AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
        ORDER BY 1)");
    // One statement per kind, so a database with many tables costs two round trips.
    std::string tables_sql;
    std::string sequences_sql;
    for (const auto& rel : relations) {
        const std::string& name = rel[0];
        if (rel[1] == "S") {
            sequences_sql +=
                fmt::format("{}SELECT {}, last_value::text, is_called::text FROM {}",
                            sequences_sql.empty() ? "" : "\nUNION ALL ", sqlLiteral(name), name);
        } else {
            tables_sql += (tables_sql.empty() ? "" : "\nUNION ALL ") + rowDigestSql(name, true);
            digests[name].kind = rel[3] == "t"   ? "partition"
                                 : rel[2] == "u" ? "unlogged table"
                                                 : "table";
        }
    }
    if (!tables_sql.empty()) {
        for (const auto& row : conn.query(tables_sql)) {
            auto& digest = digests[row[0]];
            digest.rows = std::stoll(row[1]);
            digest.digest = row[2];
        }
    }
    if (!sequences_sql.empty()) {
        for (const auto& row : conn.query(sequences_sql)) {
            digests[row[0]] = TableDigest{
                "sequence", 1, fmt::format("last_value={} is_called={}", row[1], row[2])};
        }
    }
    Rows objects = conn.query(
        "SELECT oid::text, octet_length(lo_get(oid)), md5(lo_get(oid)) "
        "FROM pg_largeobject_metadata ORDER BY oid");
    for (const auto& lo : objects) {
        digests.emplace("lo:" + lo[0], TableDigest{"large object", std::stoll(lo[1]), lo[2]});
    }
    return digests;
}

DigestMap matviewDigests(const TestCluster& cluster, std::string_view db) {
    auto conn = digestConnection(cluster, db);
    DigestMap digests;
    Rows views = conn->query(R"(
        SELECT format('%I.%I', n.nspname, c.relname), c.relispopulated
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'm' ORDER BY 1)");
    for (const auto& view : views) {
        if (view[1] != "t") {
            digests[view[0]] = TableDigest{"not populated", 0, ""};
            continue;
        }
        Rows sum = conn->query(rowDigestSql(view[0], false));
        digests[view[0]] = TableDigest{"materialized view", std::stoll(sum[0][1]), sum[0][2]};
    }
    return digests;
}

std::ostream& operator<<(std::ostream& os, const TableDigest& digest) {
    return os << digest.kind << " rows=" << digest.rows << " digest=" << digest.digest;
}

::testing::AssertionResult sameDigests(const DigestMap& expected, const DigestMap& actual) {
    std::ostringstream problems;
    int count = 0;
    for (const auto& [key, want] : expected) {
        auto it = actual.find(key);
        if (it == actual.end()) {
            problems << "  missing:   " << key << " (" << want << ")\n";
            ++count;
        } else if (!(it->second == want)) {
            problems << "  differs:   " << key << "\n    expected " << want << "\n    actual   "
                     << it->second << "\n";
            ++count;
        }
    }
    for (const auto& [key, got] : actual) {
        if (!expected.count(key)) {
            problems << "  unexpected: " << key << " (" << got << ")\n";
            ++count;
        }
    }
    if (count == 0) {
        return ::testing::AssertionSuccess() << expected.size() << " tables/sequences/LOs equal";
    }
    return ::testing::AssertionFailure()
           << count << " of " << std::max(expected.size(), actual.size()) << " digests differ:\n"
           << problems.str();
}

::testing::AssertionResult sameSchema(const std::string& expected, const std::string& actual) {
    if (expected == actual) {
        return ::testing::AssertionSuccess() << "schemas equal";
    }
    auto a = splitLines(expected);
    auto b = splitLines(actual);
    std::size_t prefix = 0;
    while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) {
        ++prefix;
    }
    std::size_t suffix = 0;
    while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
           a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
        ++suffix;
    }
    std::size_t n = a.size() - prefix - suffix;
    std::size_t m = b.size() - prefix - suffix;
    std::ostringstream diff;
    diff << "schema dumps differ (- expected, + actual), from line " << prefix + 1 << ":\n";
    std::vector<std::string> lines;
    if (n * m <= 4'000'000) {
        // Longest common subsequence of the differing middle, so moved or added objects read well.
        std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
        for (std::size_t i = n; i-- > 0;) {
            for (std::size_t j = m; j-- > 0;) {
                lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                           : std::max(lcs[i + 1][j], lcs[i][j + 1]);
            }
        }
        std::size_t i = 0, j = 0;
        while (i < n || j < m) {
            if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
                lines.push_back("  " + a[prefix + i]);
                ++i, ++j;
            } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
                lines.push_back("+ " + b[prefix + j++]);
            } else {
                lines.push_back("- " + a[prefix + i++]);
            }
        }
    } else {
        for (std::size_t i = 0; i < std::min<std::size_t>(n, 30); ++i) {
            lines.push_back("- " + a[prefix + i]);
        }
        for (std::size_t j = 0; j < std::min<std::size_t>(m, 30); ++j) {
            lines.push_back("+ " + b[prefix + j]);
        }
    }
    for (std::size_t k = 0; k < lines.size() && k < 80; ++k) {
        diff << lines[k] << "\n";
    }
    if (lines.size() > 80) {
        diff << "  ... " << lines.size() - 80 << " more lines\n";
    }
    return ::testing::AssertionFailure() << diff.str();
}

::testing::AssertionResult sameDatabase(const TestCluster& expected, std::string_view expected_db,
                                        const TestCluster& actual, std::string_view actual_db) {
    auto schema = sameSchema(schemaDump(expected, expected_db), schemaDump(actual, actual_db));
    auto data = sameDigests(tableDigests(expected, expected_db), tableDigests(actual, actual_db));
    auto views =
        sameDigests(matviewDigests(expected, expected_db), matviewDigests(actual, actual_db));
    if (schema && data && views) {
        return ::testing::AssertionSuccess()
               << schema.message() << "; " << data.message() << "; matviews: " << views.message();
    }
    auto failure = ::testing::AssertionFailure() << expected.name() << "/" << expected_db << " vs "
                                                 << actual.name() << "/" << actual_db << ":\n";
    if (!schema) {
        failure << schema.message() << "\n";
    }
    if (!data) {
        failure << data.message();
    }
    if (!views) {
        failure << "materialized views: " << views.message();
    }
    return failure;
}

std::string emptyTarget(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    target().createDatabase(db);
    return db;
}

std::string liveTarget(std::string_view hint) {
    std::string db = uniqueDatabaseName(hint);
    target().createDatabase(db);
    target().exec(db, "CREATE TABLE old_data (a int); INSERT INTO old_data VALUES (1), (2)");
    return db;
}

std::string databasesBeside(const std::string& live) {
    std::string out;
    for (const auto& row : target().query(
             "postgres", "SELECT datname FROM pg_database WHERE datname <> '" + live +
                             "' AND starts_with(datname, left('" + live + "', 40)) ORDER BY 1")) {
        out += row[0] + " ";
    }
    return out;
}

}  // namespace pgsluice::integration
