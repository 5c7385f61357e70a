#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgsluice/error.hpp"

namespace pgsluice::pg {

// A server-reported error, with its SQLSTATE so callers can tell kinds of failure apart.
class PgError : public Error {
  public:
    PgError(const std::string& message, std::string sqlstate, bool connection_lost = false)
        : Error(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}

    // The five-character SQLSTATE, or empty when libpq itself failed (connection lost...).
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    // True when the connection was lost (reset, timed out, closed by the server) or could not
    // be made: nothing the statement did is known to have committed.
    bool connectionLost() const noexcept { return connection_lost_; }

    // True for failures that a new attempt on a new connection may not meet again: a lost
    // connection, the server shutting down or starting up (57P0x), too many connections
    // (53300), a serialization failure (40001) or deadlock (40P01), a connection exception
    // (08xxx).
    bool transient() const noexcept;

  private:
    std::string sqlstate_;
    bool connection_lost_;
};

// Owner of one PGresult: move-only, cleared exactly once.
class Result {
  public:
    Result() = default;
    explicit Result(PGresult* res) : res_(res) {}
    Result(Result&& other) noexcept : res_(std::exchange(other.res_, nullptr)) {}
    Result& operator=(Result&& other) noexcept;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result() { PQclear(res_); }

    // Number of rows in the result.
    int rows() const { return PQntuples(res_); }
    // Number of columns in the result.
    int columns() const { return PQnfields(res_); }
    // The text value at (row, column); empty for NULL.
    std::string_view get(int row, int column) const;
    // True when the value at (row, column) is SQL NULL.
    bool isNull(int row, int column) const { return PQgetisnull(res_, row, column) != 0; }
    // The value parsed as a 64-bit integer (0 for NULL).
    long long getInt(int row, int column) const;
    // True for the text value 't'.
    bool getBool(int row, int column) const { return get(row, column) == "t"; }
    // The rows a command affected ("COPY 42" gives 42), 0 when not reported.
    long long affectedRows() const;
    // The status libpq gave this result.
    ExecStatusType status() const { return PQresultStatus(res_); }
    PGresult* get() const { return res_; }

  private:
    PGresult* res_ = nullptr;
};

// Which server a connection talks to; used in messages and for the read-only guarantee.
enum class Role { source, target };

// Human name of a role for messages.
const char* roleName(Role role);

// The statements that pin a new session's settings (see sessionSettings in connection.cpp):
// DateStyle, IntervalStyle, extra_float_digits, search_path, timeouts off, row_security off,
// read-only for the source.
std::string sessionSettings(Role role, int server_version);

// The database `conninfo` names, resolved as libpq resolves it: its dbname, else the dbname of
// its service (service= or PGSERVICE, from the service file), else PGDATABASE, else `user`.
// Throws UsageError when the conninfo cannot be parsed.
std::string databaseNamed(const std::string& conninfo, const std::string& user);

// Owner of one PGconn with the few operations pgsluice needs. Not thread-safe, except
// interrupt().
//
// Unattended runs must never hang on a dead link: unless the conninfo (or PGCONNECT_TIMEOUT)
// says otherwise, every connection gets connect_timeout=10, TCP keepalives (idle 10 s, then
// every 5 s, 3 probes) and tcp_user_timeout=30000 (sent data unacknowledged for 30 s ends the
// connection). They are connection parameters, so pg_dump and pg_restore, which get the
// connection's conninfo, have them too.
class Connection {
  public:
    // Connects with a libpq conninfo string or URI (PG* variables, .pgpass and services apply),
    // to `database` instead of the one the conninfo names when it is not empty.
    // Every session gets the settings pgsluice pins (empty search_path, no timeouts, UTF8,
    // exact floats); a source connection is made read-only for its whole life.
    static Connection open(const std::string& conninfo, Role role,
                           const std::string& database = "");

    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // Runs one or more statements and returns the last result; throws PgError on failure.
    Result exec(const std::string& sql);
    // Runs one statement with text parameters ($1, $2...; nullopt is NULL); throws on failure.
    Result execParams(const std::string& sql,
                      const std::vector<std::optional<std::string>>& params);

    // Stops whatever this connection does, from any thread, without blocking: a cancel request
    // goes to the server on a thread of its own that nobody waits for (it may never get
    // through a dead link), and the socket is shut down, so that a call blocked on it returns
    // at once with the connection lost. The connection is unusable afterwards.
    void interrupt() noexcept;

    // Escapes a string literal for this server.
    std::string quoteLiteral(std::string_view value) const;

    // The server's version as libpq reports it (e.g. 150004).
    int serverVersion() const { return PQserverVersion(conn_); }
    // Effective connection parameters, password left out, as a conninfo string for pg_dump & co.
    std::string conninfoWithoutPassword() const;
    // The password libpq used, if any; only ever passed to child processes by environment.
    std::string password() const;
    // Host (or socket directory) and database, for messages; never includes a password.
    std::string describe() const;
    // The host (or socket directory) libpq connected to.
    std::string host() const;
    // The database this session is connected to.
    std::string database() const;
    // The role this session logged in as.
    std::string user() const;
    Role role() const { return role_; }

  private:
    friend class CopyOut;
    friend class CopyIn;

    Connection(PGconn* conn, Role role);
    void close() noexcept;
    [[noreturn]] void fail(const std::string& what, const PGresult* res) const;
    // Reads and discards the results left after a command's last one.
    void drainResults() noexcept;

    PGconn* conn_ = nullptr;
    Role role_ = Role::source;
};

}  // namespace pgsluice::pg
