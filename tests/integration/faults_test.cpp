// Fault injection: pgsluice while the network or a server fails under it. A black hole (a dead
// NAT or VPN) must end in a bounded time, Ctrl-C must end it at once whatever the network does,
// short outages and killed sessions are retried inside the snapshot and give an exact copy, a lost
// snapshot and a full disk fail with the first cause. The TCP proxy (tcp_proxy.hpp) stands
// between pgsluice and a server to break the network on demand.
//
// Every test prints the figure it is about with a "[faults]" prefix (seconds to detect a black
// hole, to exit after Ctrl-C, lost to a retry).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.hpp"
#include "tcp_proxy.hpp"

namespace pgsluice::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Prints one measured figure: "[faults] Test: what 12.3 s".
void figure(const std::string& what, double seconds) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::printf("[faults] %s: %s %.1f s\n", info ? info->name() : "-", what.c_str(), seconds);
    std::fflush(stdout);
}

// Prints a line of context for the lead ("[faults] Test: text").
void note(const std::string& text) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::printf("[faults] %s: %s\n", info ? info->name() : "-", text.c_str());
    std::fflush(stdout);
}

// Polls `ready` every `step` until it is true (true) or `timeout` passed (false).
template <class Ready>
bool waitUntil(Ready&& ready, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step = 25ms) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (ready()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(step);
    }
}

std::string sqlLiteral(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("''") : std::string(1, c);
    }
    return out + "'";
}

// How many times `needle` occurs in `text`.
std::size_t count(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

// The lines of `text` that contain `needle`, joined.
std::string linesWith(const std::string& text, std::string_view needle) {
    std::istringstream in(text);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        if (line.find(needle) != std::string::npos) {
            out += line + "\n";
        }
    }
    return out;
}

// Waits up to `limit` for a background run to end, then kills it (a failure) so that a hung
// pgsluice costs the limit, not the harness's five minutes. `seconds`, when given, gets the
// time from `since` to the moment it was seen gone.
RunResult finish(BackgroundProcess& p, std::chrono::seconds limit,
                 std::optional<Clock::time_point> since = std::nullopt, double* seconds = nullptr) {
    bool ended = waitUntil([&] { return !p.running(); }, limit, 10ms);
    if (seconds && since) {
        *seconds = secondsSince(*since);
    }
    if (!ended) {
        ADD_FAILURE() << "pgsluice still runs after " << limit.count()
                      << " s; killed. stderr so far:\n"
                      << p.errSoFar();
        p.sendSignal(SIGKILL, true);
    }
    return p.wait();
}

// Every session of pgsluice on `cluster` (pid, database, state, query), for messages.
std::string sessionsOf(const TestCluster& cluster) {
    std::string out;
    for (const auto& row : cluster.query(
             "postgres",
             "SELECT pid, datname, state, backend_start, left(query, 90) FROM pg_stat_activity "
             "WHERE application_name = 'pgsluice' ORDER BY backend_start")) {
        for (const auto& cell : row) {
            out += cell + " | ";
        }
        out += "\n";
    }
    return out.empty() ? "(none)\n" : out;
}

// The number of pgsluice sessions on `cluster`, after giving the backends of a run that ended up
// to 10 s to go (they leave asynchronously after the client hangs up).
std::string leftoverSessions(const TestCluster& cluster) {
    std::string n;
    waitUntil(
        [&] {
            n = cluster.scalar("postgres",
                               "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                               "'pgsluice'");
            return n == "0";
        },
        10s, 100ms);
    return n;
}

// The pid of a pgsluice session on `cluster` whose COPY (`command`: "COPY TO" on the source,
// "COPY FROM" on the target) of `table` in database `db` has moved at least `min_tuples` rows:
// the copy is under way and far from done. Empty while there is none.
std::string copyingSession(const TestCluster& cluster, const std::string& db,
                           const std::string& command, const std::string& table,
                           long long min_tuples) {
    Rows rows = cluster.query(
        "postgres",
        "SELECT a.pid FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid "
        "WHERE a.application_name = 'pgsluice' AND p.datname = " +
            sqlLiteral(db) + " AND p.command = " + sqlLiteral(command) + " AND a.query LIKE " +
            sqlLiteral("%" + table + "%") + " AND p.tuples_processed >= " +
            std::to_string(min_tuples) + " ORDER BY a.backend_start LIMIT 1");
    return rows.empty() ? "" : rows[0][0];
}

// Waits (up to `timeout`, and only while `p` runs) until a pgsluice COPY of `table` is under
// way on `cluster` (see copyingSession); returns its pid, or empty.
std::string waitForCopy(BackgroundProcess& p, const TestCluster& cluster, const std::string& db,
                        const std::string& command, const std::string& table = "big",
                        long long min_tuples = 50000, std::chrono::seconds timeout = 120s) {
    std::string pid;
    waitUntil(
        [&] {
            pid = copyingSession(cluster, db, command, table, min_tuples);
            return !pid.empty() || !p.running();
        },
        timeout);
    return pid;
}

void terminate(const TestCluster& cluster, const std::string& pid) {
    EXPECT_EQ(cluster.scalar("postgres", "SELECT pg_terminate_backend(" + pid + ")"), "t");
}

// `pgsluice copy` arguments: -j 2, plain progress, and `extra`.
std::vector<std::string> copyArgs(const std::string& source_conn, const std::string& target_conn,
                                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"copy", "--source", source_conn,  "--target", target_conn,
                                     "-j",   "2",        "--progress", "plain"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// The source database most tests copy: `big` (1,000,000 rows, ~170 MB, so that a COPY of it runs
// for seconds and can be hit while it runs), `medium`, `small` and a sequence. pgsluice only
// ever reads it, so every test shares one, made on first use.
const std::string& bigSource() {
    static std::mutex mutex;
    static std::string db;
    std::lock_guard lock(mutex);
    if (db.empty()) {
        auto start = Clock::now();
        std::string name = "faults_big";
        source().dropDatabase(name);
        source().createDatabase(name);
        source().exec(name,
                      "CREATE TABLE big (id bigint PRIMARY KEY, m text);"
                      "INSERT INTO big SELECT i, repeat(md5(i::text), 4) "
                      "FROM generate_series(1, 1000000) i;"
                      "CREATE TABLE medium (id int PRIMARY KEY, m text);"
                      "INSERT INTO medium SELECT i, md5(i::text) FROM generate_series(1, 200000) i;"
                      "CREATE TABLE small (id int PRIMARY KEY, v text);"
                      "INSERT INTO small SELECT i, 'v' || i FROM generate_series(1, 1000) i;"
                      "CREATE SEQUENCE counter; SELECT setval('counter', 4242);");
        source().exec(name, "VACUUM ANALYZE");
        figure("made the shared source database (" +
                   source().scalar(name,
                                   "SELECT pg_size_pretty(pg_database_size(current_database()))") +
                   ")",
               secondsSince(start));
        db = name;
    }
    return db;
}

// A copy of bigSource() through an idle proxy took this long (Faults.ProxyCarriesACopyExactly
// measures it); 0 when not measured in this run.
double g_baseline_seconds = 0;

void reportRetryCost(double total_seconds) {
    figure("whole run", total_seconds);
    if (g_baseline_seconds > 0) {
        figure("time lost to the fault and the retry (whole run minus a run without fault)",
               total_seconds - g_baseline_seconds);
    }
}

// A directory of the test binary's own, removed at exit.
const fs::path& scratch() {
    static ScratchDir dir("faults");
    return dir.path();
}

// An archive of bigSource() (pgsluice dump -j 2), made on first use.
const std::string& bigArchive() {
    static std::mutex mutex;
    static std::string file;
    std::lock_guard lock(mutex);
    if (file.empty()) {
        std::string path = (scratch() / "big.pgsluice").string();
        auto start = Clock::now();
        RunResult r = runPgsluice({"dump", "--source", source().conninfo(bigSource()), "-f", path,
                                   "-j", "2", "--progress", "none"});
        if (r.exit_code != 0) {
            throw std::runtime_error("dump of the shared source failed: " + r.describe());
        }
        figure("dumped the shared source", secondsSince(start));
        file = path;
    }
    return file;
}

// The suite's fixture: every test starts with no pgsluice session left on either server by the
// one before (whose failure, if any, was reported there).
class Faults : public ::testing::Test {
  protected:
    void SetUp() override {
        for (TestCluster* c : {&source(), &target()}) {
            if (leftoverSessions(*c) != "0") {
                note("pgsluice sessions left on the " + c->name() + " before the test:\n" +
                     sessionsOf(*c));
            }
        }
    }
};

// --- the proxy itself ---------------------------------------------------------------------------

// A TCP echo server on 127.0.0.1 on a thread of its own, for the proxy's tests.
class EchoServer {
  public:
    EchoServer() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
            ::listen(listen_fd_, 16) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            throw std::runtime_error(std::string("echo server: ") + std::strerror(errno));
        }
        port_ = ntohs(addr.sin_port);
        if (::pipe2(wake_, O_CLOEXEC) != 0) {
            throw std::runtime_error("echo server: pipe");
        }
        thread_ = std::thread([this] { loop(); });
    }
    ~EchoServer() {
        [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
        thread_.join();
        for (int fd : conns_) {
            ::close(fd);
        }
        ::close(listen_fd_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    int port() const { return port_; }
    std::size_t accepted() const { return accepted_.load(); }
    std::uint64_t received() const { return received_.load(); }

  private:
    void loop() {
        std::vector<char> buf(64 * 1024);
        for (;;) {
            std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
            for (int fd : conns_) {
                fds.push_back({fd, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                continue;
            }
            if (fds[0].revents) {
                return;
            }
            if (fds[1].revents & POLLIN) {
                int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd >= 0) {
                    conns_.push_back(fd);
                    ++accepted_;
                }
            }
            for (std::size_t i = 2; i < fds.size(); ++i) {
                if (!fds[i].revents) {
                    continue;
                }
                ssize_t n = ::recv(fds[i].fd, buf.data(), buf.size(), 0);
                bool ok = n > 0;
                if (ok) {
                    received_ += static_cast<std::uint64_t>(n);
                    ok = ::send(fds[i].fd, buf.data(), static_cast<std::size_t>(n),
                                MSG_NOSIGNAL) == n;  // blocking: the whole chunk goes back
                }
                if (!ok) {
                    ::close(fds[i].fd);
                    std::erase(conns_, fds[i].fd);
                }
            }
        }
    }

    int listen_fd_ = -1;
    int port_ = 0;
    int wake_[2] = {-1, -1};
    std::vector<int> conns_;
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::uint64_t> received_{0};
    std::thread thread_;
};

// A blocking client socket connected to 127.0.0.1:port; -1 (errno set) when refused.
int connectTo(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// A client socket that closes itself.
struct Socket {
    int fd;
    explicit Socket(int f) : fd(f) {}
    ~Socket() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

bool readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// Reads exactly n bytes (each wait at most `timeout`); fewer when the peer stops or fails.
std::string readBytes(int fd, std::size_t n, std::chrono::milliseconds timeout = 5000ms) {
    std::string out;
    char buf[65536];
    while (out.size() < n && readable(fd, timeout)) {
        ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (got <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
}

void sendAll(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
            return;
        }
        sent += static_cast<std::size_t>(n);
    }
}

TEST_F(Faults, ProxyForwardsBlackHolesDropsAndRefuses) {
    EchoServer echo;
    TcpProxy proxy(echo.port());
    ASSERT_NE(proxy.port(), echo.port());

    // Bytes go through, both ways, with back-pressure: 8 MB, more than every buffer on the way.
    Socket a(connectTo(proxy.port()));
    ASSERT_GE(a.fd, 0) << std::strerror(errno);
    std::string payload(8 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<char>((i * 2654435761u) >> 13);
    }
    std::thread writer([&] { sendAll(a.fd, payload); });
    std::string back = readBytes(a.fd, payload.size());
    writer.join();
    EXPECT_TRUE(back == payload) << "got " << back.size() << " of " << payload.size() << " bytes";
    EXPECT_EQ(proxy.connections(), 1u);
    EXPECT_GE(proxy.bytesForwarded(), 2 * payload.size());

    // A black hole: nothing moves on the open connection, a new one is accepted (the client
    // cannot tell) but never reaches the server.
    proxy.blackHole();
    sendAll(a.fd, "ping");
    Socket b(connectTo(proxy.port()));
    ASSERT_GE(b.fd, 0) << "a black hole still accepts: " << std::strerror(errno);
    sendAll(b.fd, "pong");
    EXPECT_TRUE(
        waitUntil([&] { return proxy.connections() == 2 && proxy.bytesHeldBack() >= 8; }, 5s));
    EXPECT_FALSE(readable(a.fd, 500ms)) << "bytes came back through a black hole";
    EXPECT_FALSE(readable(b.fd, 10ms));
    EXPECT_EQ(echo.accepted(), 1u);
    EXPECT_EQ(echo.received(), payload.size());

    // Forwarding again: what was held back arrives, the held connection is connected upstream.
    proxy.forwardAll();
    EXPECT_EQ(readBytes(a.fd, 4), "ping");
    EXPECT_EQ(readBytes(b.fd, 4), "pong");
    EXPECT_EQ(echo.accepted(), 2u);

    // dropAll: both clients see a reset.
    proxy.dropAll();
    for (int fd : {a.fd, b.fd}) {
        ASSERT_TRUE(readable(fd, 5000ms));
        char c;
        errno = 0;
        EXPECT_EQ(::recv(fd, &c, 1, 0), -1);
        EXPECT_EQ(errno, ECONNRESET) << std::strerror(errno);
    }
    EXPECT_EQ(proxy.connections(), 0u);

    // refuse: new connections are refused, then accepted again on the same port.
    int port = proxy.port();
    proxy.refuse(true);
    errno = 0;
    EXPECT_EQ(connectTo(port), -1);
    EXPECT_EQ(errno, ECONNREFUSED) << std::strerror(errno);
    proxy.refuse(false);
    EXPECT_EQ(proxy.port(), port);
    Socket c(connectTo(port));
    ASSERT_GE(c.fd, 0) << std::strerror(errno);
    sendAll(c.fd, "again");
    EXPECT_EQ(readBytes(c.fd, 5), "again");
}

TEST_F(Faults, ProxyCarriesACopyExactly) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("baseline");
    TcpProxy proxy(target().port());
    auto start = Clock::now();
    RunResult r = runPgsluice(copyArgs(source().conninfo(src), proxy.conninfo(dst)), {}, 240s);
    double seconds = secondsSince(start);
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_EQ(count(r.err, "retrying"), 0u) << r;
    g_baseline_seconds = seconds;
    figure("copy through the proxy without a fault (the baseline)", seconds);
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

// --- the network fails --------------------------------------------------------------------------

// Bound for a black hole with --retries 1 and the default timeouts: the stall watchdog (60 s)
// or tcp_user_timeout (30 s) ends the first attempt, 1 s wait, connect_timeout (10 s) ends the
// second, plus the stop: < 80 s. 90 s leaves room for a loaded machine.
constexpr double kBlackHoleBound = 90.0;

TEST_F(Faults, BlackHoleMidCopyFailsWithinTheTimeouts) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("blackhole");
    TcpProxy proxy(target().port());
    BackgroundProcess p = startPgsluice(
        copyArgs(source().conninfo(src), proxy.conninfo(dst), {"--retries", "1"}), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, target(), dst, "COPY FROM").empty()) << p.wait();
    proxy.blackHole();
    auto hole = Clock::now();
    double detected = 0;
    RunResult r = finish(p, 150s, hole, &detected);
    figure("black hole to exit 1 (--retries 1, default timeouts)", detected);
    note("retries and error:\n" + linesWith(r.err, "retrying") + linesWith(r.err, "error"));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_LT(detected, kBlackHoleBound) << r;
    EXPECT_NE(r.err.find("big"), std::string::npos) << "the table is not named\n" << r;
    EXPECT_NE(r.err.find("(attempt 2 of 2)"), std::string::npos) << r;
}

TEST_F(Faults, CtrlCDuringABlackHoleExitsWithinFiveSeconds) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("ctrlc");
    TcpProxy proxy(target().port());
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), proxy.conninfo(dst)), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, target(), dst, "COPY FROM").empty()) << p.wait();
    proxy.blackHole();
    // pgsluice is stuck: bytes pile up in front of the black hole and stop growing (every
    // buffer on the way is full).
    std::uint64_t held = 0;
    auto hole = Clock::now();
    bool stuck = waitUntil(
        [&] {
            std::uint64_t now = proxy.bytesHeldBack();
            bool same = now > 0 && now == held;
            held = now;
            return same;
        },
        20s, 500ms);
    ASSERT_TRUE(stuck) << "bytes held back: " << held;
    note("stuck after " + std::to_string(secondsSince(hole)) + " s with " + std::to_string(held) +
         " bytes held back");
    ASSERT_TRUE(p.running()) << p.wait();
    auto signalled = Clock::now();
    p.sendSignal(SIGINT, true);  // as a terminal's Ctrl-C: the whole process group
    double seconds = 0;
    RunResult r = finish(p, 30s, signalled, &seconds);
    figure("SIGINT to exit, during a black hole", seconds);
    EXPECT_LT(seconds, 5.0) << r;
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r;
    EXPECT_EQ(leftoverSessions(source()), "0") << sessionsOf(source());
}

TEST_F(Faults, NetworkDropOfThreeSecondsIsRetried) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("drop");
    std::string report = (scratch() / (dst + ".json")).string();
    TcpProxy proxy(target().port());
    auto start = Clock::now();
    BackgroundProcess p = startPgsluice(
        copyArgs(source().conninfo(src), proxy.conninfo(dst), {"--report", report}), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, target(), dst, "COPY FROM").empty()) << p.wait();
    auto fault = Clock::now();
    proxy.dropAll();
    proxy.refuse(true);
    std::this_thread::sleep_for(3s);  // the outage itself
    proxy.refuse(false);
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("fault (3 s drop) to the end of the run", after_fault);
    reportRetryCost(secondsSince(start));
    note("retries:\n" + linesWith(r.err, "retrying"));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_GE(count(r.err, "pgsluice: warning: retrying"), 1u) << r;
    std::ifstream in(report);
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "no report at " << report;
    EXPECT_GE(j["total"]["retries"].get<long long>(), 1) << j.dump(2);
    EXPECT_TRUE(j["retries"].is_array() && !j["retries"].empty()) << j.dump(2);
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

// --- a server fails -----------------------------------------------------------------------------

TEST_F(Faults, TargetRestartMidCopyIsRetried) {
    const std::string& src = bigSource();
    TestCluster restarted("restarted");  // only this test's: the other tests keep their target
    std::string dst = "restart_target";
    restarted.createDatabase(dst);
    auto start = Clock::now();
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), restarted.conninfo(dst)), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, restarted, dst, "COPY FROM").empty()) << p.wait();
    auto fault = Clock::now();
    restarted.stop();  // -m immediate: a crash as the server's clients see it
    restarted.start();
    figure("target down (stop -m immediate, start, crash recovery)", secondsSince(fault));
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("restart to the end of the run", after_fault);
    reportRetryCost(secondsSince(start));
    note("retries:\n" + linesWith(r.err, "retrying"));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_GE(count(r.err, "pgsluice: warning: retrying"), 1u) << r;
    EXPECT_TRUE(sameDatabase(source(), src, restarted, dst));
}

// The target goes away for good mid-copy (every connection dropped, every new one refused): with
// the default --retries 5 the waits are 1+2+4+8+16 s, so the run must end with exit 1, naming
// the table and the target's state, within 60 s.
TEST_F(Faults, TargetThatStaysDownEndsTheRunWithinAMinute) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("down");
    TcpProxy proxy(target().port());
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), proxy.conninfo(dst)), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, target(), dst, "COPY FROM").empty()) << p.wait();
    proxy.refuse(true);
    proxy.dropAll();
    auto down = Clock::now();
    double seconds = 0;
    RunResult r = finish(p, 120s, down, &seconds);
    figure("target down for good to exit 1 (default --retries 5)", seconds);
    note("retries and error:\n" + linesWith(r.err, "retrying") + linesWith(r.err, "error"));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_LT(seconds, 60.0) << r;
    EXPECT_NE(r.err.find("(attempt 6 of 6)"), std::string::npos) << r;
    EXPECT_NE(r.err.find("big"), std::string::npos) << r;
    EXPECT_NE(r.err.find("The target "), std::string::npos) << r;
}

// A pgsluice session on `cluster` running `command` of `big` in `db` is terminated mid-COPY; the
// run must retry it and copy exactly.
void terminateWorkerMidCopy(const TestCluster& cluster, const std::string& command) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("terminate");
    auto start = Clock::now();
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), target().conninfo(dst)), {}, 240s);
    const std::string& db = &cluster == &source() ? src : dst;
    std::string pid = waitForCopy(p, cluster, db, command);
    ASSERT_FALSE(pid.empty()) << p.wait();
    terminate(cluster, pid);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("terminated " + command + " to the end of the run", after_fault);
    reportRetryCost(secondsSince(start));
    note("retries:\n" + linesWith(r.err, "retrying"));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_GE(count(r.err, "pgsluice: warning: retrying"), 1u) << r;
    EXPECT_NE(r.err.find("big"), std::string::npos) << r;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));
}

TEST_F(Faults, SourceWorkerTerminatedMidCopyIsRetried) {
    terminateWorkerMidCopy(source(), "COPY TO");
}

TEST_F(Faults, TargetWorkerTerminatedMidCopyIsRetried) {
    terminateWorkerMidCopy(target(), "COPY FROM");
}

TEST_F(Faults, SnapshotSessionTerminatedStopsTheRun) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("snapshot");
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), target().conninfo(dst)), {}, 240s);
    ASSERT_FALSE(waitForCopy(p, source(), src, "COPY TO").empty()) << p.wait();
    // The session that exported the snapshot idles in its transaction; the workers' sessions
    // are in a COPY, or idle after one or after joining the snapshot.
    Rows control = source().query(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgsluice' AND datname = " +
            sqlLiteral(src) +
            " AND state = 'idle in transaction' AND query NOT LIKE 'COPY %' AND query NOT LIKE "
            "'%SET TRANSACTION SNAPSHOT%' ORDER BY backend_start LIMIT 1");
    ASSERT_EQ(control.size(), 1u) << "no control session among:\n" << sessionsOf(source());
    note("terminating the control session " + control[0][0] + " among:\n" + sessionsOf(source()));
    terminate(source(), control[0][0]);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("control session terminated to exit", after_fault);
    note("error:\n" + linesWith(r.err, "error") + linesWith(r.err, "retrying"));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("snapshot"), std::string::npos) << r;
    EXPECT_NE(r.err.find("is gone"), std::string::npos) << r;
    // What the target holds now (TargetState's sentence).
    EXPECT_NE(r.err.find("The target "), std::string::npos) << r;
    EXPECT_NE(r.err.find("--clean"), std::string::npos) << r;
}

// The control session is terminated, then a source worker mid-COPY: the worker's retry cannot
// import the snapshot any more (SQLSTATE 22023, "invalid snapshot identifier"), and the run must
// stop saying the snapshot is gone instead of retrying, or going on in another snapshot.
TEST_F(Faults, RetryAfterTheSnapshotIsGoneStopsTheRun) {
    const std::string& src = bigSource();
    std::string dst = emptyTarget("snapshotretry");
    BackgroundProcess p =
        startPgsluice(copyArgs(source().conninfo(src), target().conninfo(dst)), {}, 240s);
    std::string worker = waitForCopy(p, source(), src, "COPY TO");
    ASSERT_FALSE(worker.empty()) << p.wait();
    Rows control = source().query(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgsluice' AND datname = " +
            sqlLiteral(src) +
            " AND state = 'idle in transaction' AND query NOT LIKE 'COPY %' AND query NOT LIKE "
            "'%SET TRANSACTION SNAPSHOT%' ORDER BY backend_start LIMIT 1");
    ASSERT_EQ(control.size(), 1u) << "no control session among:\n" << sessionsOf(source());
    terminate(source(), control[0][0]);
    ASSERT_TRUE(waitUntil(
        [&] {
            return source().scalar(
                       "postgres",
                       "SELECT count(*) FROM pg_stat_activity WHERE pid = " + control[0][0]) == "0";
        },
        10s));
    terminate(source(), worker);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("control and worker terminated to exit", after_fault);
    note("retries and error:\n" + linesWith(r.err, "retrying") + linesWith(r.err, "error") +
         linesWith(r.err, "snapshot identifier"));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("is gone, and the exported snapshot with it"), std::string::npos) << r;
    EXPECT_NE(r.err.find("invalid snapshot identifier"), std::string::npos)
        << "the run did not end at the retry's import of the snapshot\n"
        << r;
    EXPECT_EQ(count(r.err, "(attempt 3 of"), 0u) << "retried in a lost snapshot\n" << r;
    EXPECT_NE(r.err.find("The target "), std::string::npos) << r;
}

// --- archives ------------------------------------------------------------------------------------

TEST_F(Faults, RestoreFromAFileRetriesATerminatedWorker) {
    const std::string& archive = bigArchive();
    std::string dst = emptyTarget("restorefile");
    auto start = Clock::now();
    BackgroundProcess p = startPgsluice({"restore", "--target", target().conninfo(dst), "-f",
                                         archive, "-j", "2", "--progress", "plain"},
                                        {}, 240s);
    std::string pid = waitForCopy(p, target(), dst, "COPY FROM");
    ASSERT_FALSE(pid.empty()) << p.wait();
    terminate(target(), pid);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("terminated COPY FROM to the end of the restore", after_fault);
    figure("whole restore", secondsSince(start));
    note("retries:\n" + linesWith(r.err, "retrying"));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_GE(count(r.err, "pgsluice: warning: retrying"), 1u) << r;
    EXPECT_TRUE(sameDatabase(source(), bigSource(), target(), dst));
}

// Starts `pgsluice restore -f -` of `archive` into `dst`, the archive piped in by cat.
BackgroundProcess startRestoreFromPipe(const std::string& archive, const std::string& dst) {
    ProcessOptions options;
    const char* path = std::getenv("PATH");
    options.extra_env["PATH"] = pgBinDir().string() + ":" + (path ? path : "/usr/bin:/bin");
    options.timeout = 240s;
    return startProcess({"/bin/sh", "-c",
                         "cat " + shellQuote(archive) + " | " + shellQuote(pgsluiceBinary()) +
                             " restore --target " + shellQuote(target().conninfo(dst)) +
                             " -f - -j 2 --progress plain"},
                        options);
}

TEST_F(Faults, RestoreFromAPipeCannotRetryAndSaysSo) {
    const std::string& archive = bigArchive();
    std::string dst = emptyTarget("restorepipe");
    BackgroundProcess p = startRestoreFromPipe(archive, dst);
    std::string pid = waitForCopy(p, target(), dst, "COPY FROM");
    ASSERT_FALSE(pid.empty()) << p.wait();
    terminate(target(), pid);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("terminated COPY FROM to exit 1 (pipe)", after_fault);
    note("error:\n" + linesWith(r.err, "error") + linesWith(r.err, "retrying"));
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_NE(r.err.find("cannot be loaded again"), std::string::npos) << r;
    EXPECT_EQ(count(r.err, "pgsluice: warning: retrying"), 0u) << r;
}

// A tmpfs of `size` mounted on a fresh directory, unmounted and removed at the end.
class SmallFilesystem {
  public:
    explicit SmallFilesystem(const std::string& size) : dir_(scratch() / "small-fs") {
        fs::create_directories(dir_);
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
            error_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
        } else {
            mounted_ = true;
        }
    }
    ~SmallFilesystem() {
        if (mounted_ && ::umount2(dir_.c_str(), 0) != 0) {
            ::umount2(dir_.c_str(), MNT_DETACH);
        }
        std::error_code ignored;
        fs::remove(dir_, ignored);
    }
    SmallFilesystem(const SmallFilesystem&) = delete;
    SmallFilesystem& operator=(const SmallFilesystem&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& error() const { return error_; }
    const fs::path& dir() const { return dir_; }
    // The names in the directory, space separated.
    std::string listing() const {
        std::string out;
        for (const auto& e : fs::directory_iterator(dir_)) {
            out += (out.empty() ? "" : " ") + e.path().filename().string();
        }
        return out;
    }

  private:
    fs::path dir_;
    bool mounted_ = false;
    std::string error_;
};

// The first line of pgsluice's error message (the line after "pgsluice: error: ").
std::string firstErrorLine(const std::string& err) {
    auto at = err.find("pgsluice: error: ");
    if (at == std::string::npos) {
        return "";
    }
    return err.substr(at, err.find('\n', at) - at);
}

TEST_F(Faults, DumpToAFullDiskFailsWithNoSpaceEveryTime) {
    SmallFilesystem small("2m");
    if (!small.mounted()) {
        GTEST_SKIP() << "cannot mount a small tmpfs to fill: " << small.error();
    }
    std::string src = uniqueDatabaseName("diskfull");
    source().createDatabase(src);
    // ~30 MB of rows that zstd cannot shrink below 2 MB, in parts of 2 MB over 4 workers.
    source().exec(
        src,
        "CREATE TABLE a AS SELECT i, md5(i::text) || md5((i * 7)::text) AS m "
        "FROM generate_series(1, 200000) i;"
        "CREATE TABLE b AS SELECT * FROM a;"
        "CREATE TABLE c (id int PRIMARY KEY); INSERT INTO c SELECT generate_series(1, 100);");
    source().exec(src, "VACUUM ANALYZE");
    std::string file = (small.dir() / "full.pgsluice").string();
    double total = 0;
    double slowest = 0;
    for (int run = 0; run < 20; ++run) {
        const char* io = run % 2 == 0 ? "auto" : "sync";
        auto start = Clock::now();
        RunResult r =
            runPgsluice({"dump", "--source", source().conninfo(src), "-f", file, "-j", "4",
                         "--split-tables-larger-than", "2MB", "--io", io, "--progress", "none"},
                        {}, 120s);
        double seconds = secondsSince(start);
        total += seconds;
        slowest = std::max(slowest, seconds);
        EXPECT_EQ(r.exit_code, 1) << "run " << run << " --io " << io << "\n" << r;
        std::string first = firstErrorLine(r.err);
        EXPECT_NE(first.find("No space left on device"), std::string::npos)
            << "run " << run << " --io " << io << ": the first error is not ENOSPC\n"
            << r;
        EXPECT_EQ(small.listing(), "") << "run " << run << " --io " << io << " left a file\n" << r;
        if (run == 0) {
            note("error of run 0:\n" + r.err);
        }
        if (::testing::Test::HasFailure()) {
            break;  // one failing run says it; 20 copies of it say nothing more
        }
    }
    figure("a dump into a full disk, mean over the runs", total / 20);
    figure("a dump into a full disk, slowest run", slowest);
}

// A dump whose source worker is terminated mid-COPY retries the unit in the same snapshot: the
// first attempt's frames are abandoned in the archive, which then restores exactly from a file
// (its index names the last attempt) and from a pipe (the abandoned frames had already gone
// into a target COPY: that load is thrown away and the unit loaded again from the next attempt).
TEST_F(Faults, DumpRetriesATerminatedSourceWorker) {
    const std::string& src = bigSource();
    std::string file = (scratch() / "retried.pgsluice").string();
    auto start = Clock::now();
    BackgroundProcess p = startPgsluice(
        {"dump", "--source", source().conninfo(src), "-f", file, "-j", "2", "--progress", "plain"},
        {}, 240s);
    // 150,000 rows (~20 MB) in: the attempt has written data frames (4 MiB each) already.
    std::string pid = waitForCopy(p, source(), src, "COPY TO", "big", 150000);
    ASSERT_FALSE(pid.empty()) << p.wait();
    terminate(source(), pid);
    auto fault = Clock::now();
    double after_fault = 0;
    RunResult r = finish(p, 150s, fault, &after_fault);
    figure("terminated COPY TO to the end of the dump", after_fault);
    figure("whole dump", secondsSince(start));
    note("retries and error:\n" + linesWith(r.err, "retrying") + linesWith(r.err, "error"));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_GE(count(r.err, "pgsluice: warning: retrying"), 1u) << r;

    RunResult inspected = runPgsluice({"inspect", file});
    ASSERT_EQ(inspected.exit_code, 0) << inspected;
    note("inspect:\n" + linesWith(inspected.out, "retried") + linesWith(inspected.out, "attempt"));
    EXPECT_NE(inspected.out.find("2 attempts"), std::string::npos) << inspected;

    std::string dst = emptyTarget("dumpretried");
    RunResult restored = runPgsluice({"restore", "--target", target().conninfo(dst), "-f", file,
                                      "-j", "2", "--progress", "none"},
                                     {}, 240s);
    ASSERT_EQ(restored.exit_code, 0) << restored;
    EXPECT_TRUE(sameDatabase(source(), src, target(), dst));

    std::string piped = emptyTarget("dumpretriedpipe");
    BackgroundProcess pipe = startRestoreFromPipe(file, piped);
    RunResult from_pipe = finish(pipe, 240s);
    note("restore from a pipe:\n" + linesWith(from_pipe.err, "warning"));
    ASSERT_EQ(from_pipe.exit_code, 0) << from_pipe;
    EXPECT_NE(from_pipe.err.find("abandons the rows of this unit"), std::string::npos)
        << "the abandoned attempt never reached the restore: the test proves nothing\n"
        << from_pipe;
    EXPECT_TRUE(sameDatabase(source(), src, target(), piped));
    fs::remove(file);
}

}  // namespace
}  // namespace pgsluice::integration
