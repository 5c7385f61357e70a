#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::pg {

namespace {

// Settings every source session shares: schema-qualified definitions, no statement timeout that
// would kill a long COPY, and UTF8 so text COPY fallbacks do not depend on the client's locale.
void prepareSourceSession(Connection& conn) {
    conn.exec(
        "SELECT pg_catalog.set_config('search_path', '', false);"
        "SET statement_timeout = 0; SET lock_timeout = 0;"
        "SET idle_in_transaction_session_timeout = 0; SET client_encoding = 'UTF8';"
        "SET extra_float_digits = 3");
}

}  // namespace

Snapshot Snapshot::exportFrom(const std::string& conninfo, Role role, const std::string& database) {
    Connection conn = Connection::open(conninfo, role, database);
    prepareSourceSession(conn);
    conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    Result res = conn.exec("SELECT pg_catalog.pg_export_snapshot()");
    std::string id(res.get(0, 0));
    return Snapshot(std::move(conn), std::move(id), conninfo, role, database);
}

Connection Snapshot::openReader() const {
    Connection conn = Connection::open(conninfo_, role_, database_);
    prepareSourceSession(conn);
    conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    conn.exec("SET TRANSACTION SNAPSHOT " + conn.quoteLiteral(id_));
    return conn;
}

}  // namespace pgsluice::pg
