#include "pgsluice/pg/connection.hpp"

#include <fmt/format.h>

#include <cstdlib>
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

}  // namespace

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
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        if (std::string_view(o->keyword) == "dbname" && o->val) {
            dbname = o->val;
        }
    }
    PQconninfoFree(options);
    if (dbname.empty()) {
        const char* env = std::getenv("PGDATABASE");
        dbname = env && *env ? std::string(env) : user;
    }
    return dbname;
}

const char* roleName(Role role) {
    return role == Role::source ? "source" : "target";
}

Connection::Connection(PGconn* conn, Role role)
    : conn_(conn), cancel_(PQgetCancel(conn)), role_(role) {}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      cancel_(std::exchange(other.cancel_, nullptr)),
      role_(other.role_) {}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        close();
        conn_ = std::exchange(other.conn_, nullptr);
        cancel_ = std::exchange(other.cancel_, nullptr);
        role_ = other.role_;
    }
    return *this;
}

Connection::~Connection() {
    close();
}

void Connection::close() noexcept {
    if (cancel_) {
        PQfreeCancel(cancel_);
    }
    if (conn_) {
        PQfinish(conn_);
    }
    cancel_ = nullptr;
    conn_ = nullptr;
}

void Connection::drainResults() noexcept {
    while (PGresult* extra = PQgetResult(conn_)) {
        Result discarded(extra);
    }
}

Connection Connection::open(const std::string& conninfo, Role role, const std::string& database) {
    // Only the first dbname is expanded as a conninfo; a second one overrides the database.
    const char* keywords[] = {"dbname", "fallback_application_name",
                              database.empty() ? nullptr : "dbname", nullptr};
    const char* values[] = {conninfo.c_str(), "pgsluice",
                            database.empty() ? nullptr : database.c_str(), nullptr};
    PGconn* raw = PQconnectdbParams(keywords, values, 1);
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
                      "");
    }
    Connection conn(raw, role);
    // Settings every session shares: schema-qualified definitions, no timeout that would kill a
    // long COPY or the snapshot's idle transaction, UTF8 so text COPY does not depend on the
    // client's locale, floats in text form exact. Every source session is read-only for its
    // whole life: pgsluice can never write to the source, even through a bug of ours.
    conn.exec(
        std::string("SELECT pg_catalog.set_config('search_path', '', false);"
                    "SET statement_timeout = 0; SET lock_timeout = 0;"
                    "SET idle_in_transaction_session_timeout = 0; SET client_encoding = 'UTF8';"
                    "SET extra_float_digits = 3;") +
        (role == Role::source ? "SET default_transaction_read_only = on"
                              : "SET synchronous_commit = off"));
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
                  state ? state : "");
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

void Connection::cancel() noexcept {
    if (cancel_) {
        char errbuf[256];
        PQcancel(cancel_, errbuf, sizeof errbuf);
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
