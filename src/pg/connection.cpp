#include "pgsluice/pg/connection.hpp"

#include <fmt/format.h>

#include <sys/socket.h>

#include <cstdlib>
#include <set>
#include <thread>
#include <utility>

namespace pgsluice::pg {

namespace {

// The server's message, trimmed of libpq's trailing newline.
std::string trimmed(const char* message) {
    std::string text = message ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

// Quotes a conninfo value so that any character survives PQconnectdb's parser.
std::string quoteConninfoValue(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
    return out;
}

// What a connection gets unless its conninfo sets it (see Connection).
constexpr std::pair<const char*, const char*> kNetworkDefaults[] = {
    {"connect_timeout", "10"},    {"keepalives", "1"},       {"keepalives_idle", "10"},
    {"keepalives_interval", "5"}, {"keepalives_count", "3"}, {"tcp_user_timeout", "30000"},
};

// The keys a conninfo string or URI sets (none when it cannot be parsed: connecting will say
// why).
std::set<std::string> conninfoKeys(const std::string& conninfo) {
    std::set<std::string> keys;
    char* err = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
    if (!options) {
        PQfreemem(err);
        return keys;
    }
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        if (o->val && *o->val) {
            keys.insert(o->keyword);
        }
    }
    PQconninfoFree(options);
    return keys;
}

}  // namespace

std::string sessionSettings(Role role, int server_version) {
    // What pg_dump pins, so text COPY and definitions read the same whatever the server's,
    // database's or role's settings: ISO dates, postgres intervals, exact floats, standard
    // strings, UTF8, schema-qualified names. What a DBA may have set to protect production
    // is lifted for this session: a timeout would kill a long COPY, or the snapshot's idle
    // transaction. Row security off makes a table whose rows a policy would hide fail loudly
    // instead of copying part of it, as pg_dump does. Every source session is read-only for
    // its whole life: pgsluice can never write to the source, even through a bug of ours.
    std::string sql =
        "SELECT pg_catalog.set_config('search_path', '', false);"
        "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3;"
        "SET standard_conforming_strings = on; SET client_encoding = 'UTF8';"
        "SET statement_timeout = 0; SET lock_timeout = 0;"
        "SET idle_in_transaction_session_timeout = 0; SET row_security = off;";
    if (server_version >= 140000) {
        sql += "SET idle_session_timeout = 0;";
    }
    if (server_version >= 170000) {
        sql += "SET transaction_timeout = 0;";
    }
    sql += role == Role::source ? "SET default_transaction_read_only = on"
                                : "SET synchronous_commit = off";
    return sql;
}

bool PgError::transient() const noexcept {
    if (connection_lost_) {
        return true;
    }
    const std::string& s = sqlstate_;
    return s == "57P01" || s == "57P02" || s == "57P03" || s == "53300" || s == "40001" ||
           s == "40P01" || s.rfind("08", 0) == 0;
}

Result& Result::operator=(Result&& other) noexcept {
    if (this != &other) {
        PQclear(res_);
        res_ = std::exchange(other.res_, nullptr);
    }
    return *this;
}

std::string_view Result::get(int row, int column) const {
    if (row < 0 || row >= rows() || column < 0 || column >= columns()) {
        throw Error(
            fmt::format("internal error: result has no row {} column {} ({} rows, {} "
                        "columns)",
                        row, column, rows(), columns()));
    }
    return {PQgetvalue(res_, row, column), static_cast<size_t>(PQgetlength(res_, row, column))};
}

long long Result::getInt(int row, int column) const {
    if (isNull(row, column)) {
        return 0;
    }
    return std::strtoll(PQgetvalue(res_, row, column), nullptr, 10);
}

long long Result::affectedRows() const {
    const char* text = PQcmdTuples(res_);
    return (text && *text) ? std::strtoll(text, nullptr, 10) : 0;
}

std::string databaseNamed(const std::string& conninfo, const std::string& user) {
    char* err = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
    if (!options) {
        std::string message = err ? trimmed(err) : "cannot parse";
        PQfreemem(err);
        throw UsageError(fmt::format("--target: {}", message));
    }
    std::string dbname;
    bool service = false;
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        if (std::string_view(o->keyword) == "dbname" && o->val) {
            dbname = o->val;
        }
        if (std::string_view(o->keyword) == "service" && o->val && *o->val) {
            service = true;
        }
    }
    PQconninfoFree(options);
    if (dbname.empty() && (service || std::getenv("PGSERVICE"))) {
        // PQconninfoParse does not read service files; libpq's own defaults do, before
        // connecting: a probe that is never polled resolves the dbname as a connection would.
        PGconn* probe = PQconnectStart(conninfo.c_str());
        if (probe && PQdb(probe) && *PQdb(probe)) {
            dbname = PQdb(probe);
        }
        PQfinish(probe);
    }
    if (dbname.empty()) {
        const char* env = std::getenv("PGDATABASE");
        dbname = env && *env ? std::string(env) : user;
    }
    return dbname;
}

const char* roleName(Role role) {
    return role == Role::source ? "source" : "target";
}

Connection::Connection(PGconn* conn, Role role) : conn_(conn), role_(role) {}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), role_(other.role_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        conn_ = std::exchange(other.conn_, nullptr);
        role_ = other.role_;
    }
    return *this;
}

Connection::~Connection() {
    close();
}

void Connection::close() noexcept {
    if (conn_) {
        PQfinish(conn_);
    }
    conn_ = nullptr;
}

void Connection::drainResults() noexcept {
    while (PGresult* extra = PQgetResult(conn_)) {
        Result discarded(extra);
    }
}

Connection Connection::open(const std::string& conninfo, Role role, const std::string& database) {
    // Keywords are applied in order: the defaults come before the conninfo (expanded from the
    // first dbname), so that what the user wrote wins; a second dbname overrides the database.
    std::vector<const char*> keywords;
    std::vector<const char*> values;
    std::set<std::string> given = conninfoKeys(conninfo);
    for (const auto& [key, value] : kNetworkDefaults) {
        bool from_env =
            std::string_view(key) == "connect_timeout" && std::getenv("PGCONNECT_TIMEOUT");
        if (!given.count(key) && !from_env) {
            keywords.push_back(key);
            values.push_back(value);
        }
    }
    keywords.insert(keywords.end(), {"dbname", "fallback_application_name"});
    values.insert(values.end(), {conninfo.c_str(), "pgsluice"});
    if (!database.empty()) {
        keywords.push_back("dbname");
        values.push_back(database.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* raw = PQconnectdbParams(keywords.data(), values.data(), 1);
    if (raw == nullptr) {
        throw Error(fmt::format("cannot connect to the {}: out of memory", roleName(role)));
    }
    if (PQstatus(raw) != CONNECTION_OK) {
        std::string message = trimmed(PQerrorMessage(raw));
        PQfinish(raw);
        throw PgError(fmt::format("cannot connect to the {}: {}\nCheck --{} (or PGSLUICE_{}) and "
                                  "that the server accepts connections.",
                                  roleName(role), message, roleName(role),
                                  role == Role::source ? "SOURCE" : "TARGET"),
                      "", true);
    }
    Connection conn(raw, role);
    conn.exec(sessionSettings(role, PQserverVersion(raw)));
    return conn;
}

void Connection::fail(const std::string& what, const PGresult* res) const {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = trimmed(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
    if (message.empty()) {
        message = trimmed(PQerrorMessage(conn_));
    }
    if (message.rfind("ERROR:  ", 0) == 0) {
        message = message.substr(8);
    }
    throw PgError(fmt::format("{} on the {} failed: {}", what, roleName(role_), message),
                  state ? state : "", PQstatus(conn_) == CONNECTION_BAD);
}

Result Connection::exec(const std::string& sql) {
    Result res(PQexec(conn_, sql.c_str()));
    auto status = res.status();
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string head = sql.size() > 120 ? sql.substr(0, 117) + "..." : sql;
        fail(fmt::format("query `{}`", head), res.get());
    }
    return res;
}

Result Connection::execParams(const std::string& sql,
                              const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p ? p->c_str() : nullptr);
    }
    Result res(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    auto status = res.status();
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        fail(fmt::format("query `{}`", sql.substr(0, 120)), res.get());
    }
    return res;
}

void Connection::interrupt() noexcept {
    if (!conn_) {
        return;
    }
    // A cancel object of its own, so that the request outlives this connection if it must.
    if (PGcancel* request = PQgetCancel(conn_)) {
        try {
            std::thread([request] {
                char errbuf[256];
                PQcancel(request, errbuf, sizeof errbuf);
                PQfreeCancel(request);
            }).detach();
        } catch (...) {
            PQfreeCancel(request);  // no thread: the socket shutdown below still stops it
        }
    }
    int fd = PQsocket(conn_);
    if (fd >= 0) {
        ::shutdown(fd, SHUT_RDWR);
    }
}

std::string Connection::quoteLiteral(std::string_view value) const {
    char* quoted = PQescapeLiteral(conn_, value.data(), value.size());
    if (!quoted) {
        throw Error(fmt::format("cannot quote literal: {}", trimmed(PQerrorMessage(conn_))));
    }
    std::string out(quoted);
    PQfreemem(quoted);
    return out;
}

std::string Connection::conninfoWithoutPassword() const {
    std::string out;
    PQconninfoOption* options = PQconninfo(conn_);
    for (PQconninfoOption* o = options; o && o->keyword; ++o) {
        std::string_view key = o->keyword;
        if (!o->val || !*o->val || key == "password" || key == "fallback_application_name") {
            continue;
        }
        if (!out.empty()) {
            out += ' ';
        }
        out += fmt::format("{}={}", key, quoteConninfoValue(o->val));
    }
    PQconninfoFree(options);
    return out;
}

std::string Connection::password() const {
    const char* pw = PQpass(conn_);
    return pw ? pw : "";
}

std::string Connection::host() const {
    const char* host = PQhost(conn_);
    return host ? host : "";
}

std::string Connection::database() const {
    const char* db = PQdb(conn_);
    return db ? db : "";
}

std::string Connection::user() const {
    const char* user = PQuser(conn_);
    return user ? user : "";
}

std::string Connection::describe() const {
    const char* host = PQhost(conn_);
    const char* port = PQport(conn_);
    const char* db = PQdb(conn_);
    return fmt::format("{}:{}/{}", host ? host : "", port ? port : "", db ? db : "");
}

}  // namespace pgsluice::pg
