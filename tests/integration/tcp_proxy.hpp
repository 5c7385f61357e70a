#pragma once

// A TCP proxy for fault-injection tests: listens on 127.0.0.1 on a port of its own and forwards
// every connection to 127.0.0.1:<upstream port>, on one thread of its own (poll-based). The test
// turns the network bad under a running pgsluice: a black hole (a dead NAT or VPN: every socket
// stays open, nothing moves, nothing is refused), a reset of every connection, a refused port.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pgsluice::integration {

class TcpProxy {
  public:
    // Starts listening on 127.0.0.1 (a free port) and forwarding to 127.0.0.1:upstream_port;
    // throws std::runtime_error when it cannot.
    explicit TcpProxy(int upstream_port);
    // Stops the thread and closes every socket (connections are reset).
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    // The port the proxy listens on (the same after refuse(true) and refuse(false)).
    int port() const { return port_; }
    // "host=127.0.0.1 port=<port()> user=postgres dbname=DB", the conninfo of a database behind
    // the proxy (DB quoted as a conninfo value).
    std::string conninfo(std::string_view db) const;

    // Normal operation: bytes flow both ways. Connections accepted during a black hole are
    // connected upstream now.
    void forwardAll();
    // Stops moving bytes in both directions, on existing and new connections, and keeps every
    // socket open: new connections are accepted but never forwarded (nor connected upstream),
    // a peer that hangs up is not noticed. What a dead NAT or VPN looks like from either end.
    void blackHole();
    // Closes every connection, both ends, with a reset (SO_LINGER 0). The proxy keeps accepting
    // (unless refused) in its current mode.
    void dropAll();
    // true: stops listening, so new connections are refused (RST) while existing ones go on;
    // false: listens again on the same port.
    void refuse(bool on);

    // Connections open now (accepted and not yet closed), black-holed ones included.
    std::size_t connections() const;
    // Connections accepted since the start.
    std::size_t accepted() const { return accepted_.load(); }
    // Bytes forwarded since the start, both directions.
    std::uint64_t bytesForwarded() const { return forwarded_.load(); }
    // Bytes that arrived at the proxy's sockets and were not read (FIONREAD summed over every
    // socket): during a black hole, what piles up in front of it.
    std::uint64_t bytesHeldBack() const;

  private:
    struct Conn;
    void loop();
    // Runs `fn` on the proxy's thread between two polls and waits for it.
    void runInLoop(std::function<void()> fn) const;
    void acceptNew();
    void connectUpstream(Conn& c);
    void closeConn(Conn& c, bool reset);
    void service(Conn& c, short client_events, short server_events);
    void openListener();

    int upstream_port_;
    int port_ = 0;
    int listen_fd_ = -1;
    bool listening_ = false;
    int wake_read_ = -1;
    int wake_write_ = -1;
    bool black_hole_ = false;  // touched on the proxy's thread only
    bool stopping_ = false;

    std::vector<std::unique_ptr<Conn>> conns_;  // proxy thread only
    std::atomic<std::size_t> open_{0};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::uint64_t> forwarded_{0};

    mutable std::mutex mutex_;
    mutable std::condition_variable done_;
    mutable std::deque<std::function<void()>> queue_;
    mutable std::uint64_t posted_ = 0;
    mutable std::uint64_t finished_ = 0;
    std::thread thread_;
};

}  // namespace pgsluice::integration
