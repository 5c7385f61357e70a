#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pgsluice::integration {

namespace {

constexpr std::size_t kBufferSize = 256 * 1024;

std::runtime_error errnoError(const std::string& what) {
    return std::runtime_error("tcp proxy: " + what + ": " + std::strerror(errno));
}

sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    return addr;
}

// Closes fd; with `reset`, SO_LINGER 0 first so the peer gets an RST instead of a FIN.
void closeSocket(int& fd, bool reset) {
    if (fd < 0) {
        return;
    }
    if (reset) {
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
    fd = -1;
}

// A byte queue of fixed capacity in one direction.
struct Buffer {
    std::vector<char> data = std::vector<char>(kBufferSize);
    std::size_t begin = 0;
    std::size_t end = 0;

    std::size_t size() const { return end - begin; }
    std::size_t room() const { return data.size() - end; }
    void compact() {
        if (begin == end) {
            begin = end = 0;
        } else if (begin > data.size() / 2) {
            std::memmove(data.data(), data.data() + begin, size());
            end -= begin;
            begin = 0;
        }
    }
};

// A port that was free a moment ago (bound to port 0, then closed).
int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw errnoError("socket");
    }
    sockaddr_in addr = loopback(0);
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

// The port a socket is bound to, 0 if none.
int boundPort(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return 0;
    }
    return ntohs(addr.sin_port);
}

}  // namespace

struct TcpProxy::Conn {
    int client = -1;
    int server = -1;
    bool upstream_pending = false;  // accepted in a black hole, not connected upstream yet
    bool connecting = false;        // upstream connect in progress
    bool client_eof = false;        // the client sent FIN
    bool server_eof = false;        // the server sent FIN
    bool client_shut = false;       // we sent FIN to the client
    bool server_shut = false;       // we sent FIN to the server
    bool closed = false;
    Buffer up;    // client -> server
    Buffer down;  // server -> client

    short clientEvents() const {
        short ev = 0;
        if (!client_eof && up.room() > 0) {
            ev |= POLLIN;
        }
        if (down.size() > 0) {
            ev |= POLLOUT;
        }
        return ev;
    }
    short serverEvents() const {
        if (server < 0) {
            return 0;
        }
        if (connecting) {
            return POLLOUT;
        }
        short ev = 0;
        if (!server_eof && down.room() > 0) {
            ev |= POLLIN;
        }
        if (up.size() > 0) {
            ev |= POLLOUT;
        }
        return ev;
    }
};

TcpProxy::TcpProxy(int upstream_port) : upstream_port_(upstream_port) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw errnoError("pipe");
    }
    wake_read_ = pipe_fds[0];
    wake_write_ = pipe_fds[1];
    try {
        // The port is bound explicitly (not as port 0), so that the kernel keeps it bound to the
        // listening socket while it is shut down by refuse(true).
        for (int attempt = 0;; ++attempt) {
            port_ = freePort();
            try {
                openListener();
                break;
            } catch (const std::runtime_error&) {
                if (attempt == 9) {
                    throw;
                }
            }
        }
    } catch (...) {
        ::close(wake_read_);
        ::close(wake_write_);
        throw;
    }
    thread_ = std::thread([this] { loop(); });
}

TcpProxy::~TcpProxy() {
    runInLoop([this] { stopping_ = true; });
    thread_.join();
    for (auto& c : conns_) {
        closeConn(*c, true);
    }
    closeSocket(listen_fd_, false);
    ::close(wake_read_);
    ::close(wake_write_);
}

std::string TcpProxy::conninfo(std::string_view db) const {
    std::string quoted = "'";
    for (char ch : db) {
        if (ch == '\'' || ch == '\\') {
            quoted += '\\';
        }
        quoted += ch;
    }
    quoted += "'";
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + quoted;
}

void TcpProxy::openListener() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        throw errnoError("socket");
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(port_);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 128) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        auto error = errnoError("listen on 127.0.0.1:" + std::to_string(port_));
        ::close(fd);
        throw error;
    }
    port_ = ntohs(addr.sin_port);
    listen_fd_ = fd;
    listening_ = true;
}

void TcpProxy::runInLoop(std::function<void()> fn) const {
    std::unique_lock lock(mutex_);
    queue_.push_back(std::move(fn));
    std::uint64_t id = ++posted_;
    [[maybe_unused]] auto n = ::write(wake_write_, "x", 1);
    done_.wait(lock, [&] { return finished_ >= id; });
}

void TcpProxy::forwardAll() {
    runInLoop([this] {
        black_hole_ = false;
        for (auto& c : conns_) {
            if (!c->closed && c->upstream_pending) {
                connectUpstream(*c);
            }
        }
    });
}

void TcpProxy::blackHole() {
    runInLoop([this] { black_hole_ = true; });
}

void TcpProxy::dropAll() {
    runInLoop([this] {
        for (auto& c : conns_) {
            closeConn(*c, true);
        }
        conns_.clear();
    });
}

void TcpProxy::refuse(bool on) {
    std::exception_ptr error;
    runInLoop([&] {
        try {
            if (on && listening_) {
                // shutdown(SHUT_RD) of a listening socket stops it listening (the connections
                // waiting in its queue are reset) but keeps the port bound to it, so no other
                // socket can take the port meanwhile; listen() starts it again.
                if (::shutdown(listen_fd_, SHUT_RD) != 0) {
                    closeSocket(listen_fd_, false);
                }
                listening_ = false;
            } else if (!on && !listening_) {
                if (listen_fd_ >= 0 && ::listen(listen_fd_, 128) == 0 &&
                    boundPort(listen_fd_) == port_) {
                    listening_ = true;
                } else {
                    closeSocket(listen_fd_, false);
                    openListener();  // binds port_ again
                }
            }
        } catch (...) {
            error = std::current_exception();
        }
    });
    if (error) {
        std::rethrow_exception(error);
    }
}

std::size_t TcpProxy::connections() const {
    return open_.load();
}

std::uint64_t TcpProxy::bytesHeldBack() const {
    std::uint64_t total = 0;
    runInLoop([&] {
        for (const auto& c : conns_) {
            for (int fd : {c->client, c->server}) {
                int n = 0;
                if (fd >= 0 && !c->connecting && ::ioctl(fd, FIONREAD, &n) == 0 && n > 0) {
                    total += static_cast<std::uint64_t>(n);
                }
            }
        }
    });
    return total;
}

void TcpProxy::acceptNew() {
    for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            return;  // EAGAIN, or the queue was reset
        }
        auto c = std::make_unique<Conn>();
        c->client = fd;
        ++open_;
        ++accepted_;
        if (black_hole_) {
            c->upstream_pending = true;
        } else {
            connectUpstream(*c);
        }
        conns_.push_back(std::move(c));
    }
}

void TcpProxy::connectUpstream(Conn& c) {
    c.upstream_pending = false;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        closeConn(c, true);
        return;
    }
    sockaddr_in addr = loopback(upstream_port_);
    c.server = fd;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        c.connecting = false;
    } else if (errno == EINPROGRESS) {
        c.connecting = true;
    } else {
        closeConn(c, true);  // upstream refused: so is the client, with a reset
    }
}

void TcpProxy::closeConn(Conn& c, bool reset) {
    if (c.closed) {
        return;
    }
    closeSocket(c.client, reset);
    closeSocket(c.server, reset);
    c.closed = true;
    --open_;
}

// Moves what can move on one connection without blocking. Any socket error resets both ends,
// so the other side learns of it the way it would through a real network path.
void TcpProxy::service(Conn& c, short client_events, short server_events) {
    if ((client_events & (POLLERR | POLLNVAL)) || (server_events & (POLLERR | POLLNVAL))) {
        closeConn(c, true);
        return;
    }
    if (c.connecting) {
        if (!(server_events & (POLLOUT | POLLHUP))) {
            return;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.server, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            closeConn(c, true);
            return;
        }
        c.connecting = false;
    }
    // Reads a side into `buf`; false on a socket error.
    auto pull = [&](int fd, Buffer& buf, bool& eof) {
        while (!eof && buf.room() > 0) {
            ssize_t n = ::recv(fd, buf.data.data() + buf.end, buf.room(), 0);
            if (n > 0) {
                buf.end += static_cast<std::size_t>(n);
            } else if (n == 0) {
                eof = true;
            } else {
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
            }
        }
        return true;
    };
    // Writes `buf` to a side; false on a socket error.
    auto push = [&](int fd, Buffer& buf) {
        while (buf.size() > 0) {
            ssize_t n = ::send(fd, buf.data.data() + buf.begin, buf.size(), MSG_NOSIGNAL);
            if (n > 0) {
                buf.begin += static_cast<std::size_t>(n);
                forwarded_ += static_cast<std::uint64_t>(n);
            } else {
                bool ok = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
                buf.compact();
                return ok;
            }
        }
        buf.compact();
        return true;
    };
    if (!pull(c.client, c.up, c.client_eof) || !push(c.server, c.up) ||
        !pull(c.server, c.down, c.server_eof) || !push(c.client, c.down)) {
        closeConn(c, true);
        return;
    }
    if (c.client_eof && c.up.size() == 0 && !c.server_shut) {
        ::shutdown(c.server, SHUT_WR);
        c.server_shut = true;
    }
    if (c.server_eof && c.down.size() == 0 && !c.client_shut) {
        ::shutdown(c.client, SHUT_WR);
        c.client_shut = true;
    }
    if (c.client_shut && c.server_shut) {
        closeConn(c, false);
    }
}

void TcpProxy::loop() {
    std::vector<pollfd> fds;
    std::vector<Conn*> polled;
    for (;;) {
        fds.clear();
        polled.clear();
        fds.push_back({wake_read_, POLLIN, 0});
        fds.push_back({listening_ ? listen_fd_ : -1, POLLIN, 0});
        if (!black_hole_) {
            for (auto& c : conns_) {
                if (c->closed || c->upstream_pending) {
                    continue;
                }
                short ce = c->clientEvents();
                short se = c->serverEvents();
                // A side with nothing to do is left out, so its hang-up does not spin the loop.
                fds.push_back({ce ? c->client : -1, ce, 0});
                fds.push_back({se ? c->server : -1, se, 0});
                polled.push_back(c.get());
            }
        }
        int n = ::poll(fds.data(), fds.size(), 1000);
        if (n < 0 && errno != EINTR) {
            continue;
        }
        if (fds[0].revents & POLLIN) {
            char drain[64];
            while (::read(wake_read_, drain, sizeof drain) > 0) {
            }
        }
        std::deque<std::function<void()>> work;
        {
            std::lock_guard lock(mutex_);
            work.swap(queue_);
        }
        if (!work.empty()) {
            for (auto& fn : work) {
                fn();
            }
            {
                std::lock_guard lock(mutex_);
                finished_ += work.size();
            }
            done_.notify_all();
            if (stopping_) {
                return;
            }
            continue;  // the poll results may no longer match the sockets: poll again
        }
        if (n <= 0) {
            continue;
        }
        if (fds[1].revents & POLLIN) {
            acceptNew();
        }
        for (std::size_t i = 0; i < polled.size(); ++i) {
            short ce = fds[2 + 2 * i].revents;
            short se = fds[3 + 2 * i].revents;
            if (ce || se) {
                service(*polled[i], ce, se);
            }
        }
        std::erase_if(conns_, [](const std::unique_ptr<Conn>& c) { return c->closed; });
    }
}

}  // namespace pgsluice::integration
