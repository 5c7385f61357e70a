#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::pg {

Snapshot Snapshot::exportFrom(const std::string& conninfo, Role role, const std::string& database) {
    Connection conn = Connection::open(conninfo, role, database);
    conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    Result res = conn.exec("SELECT pg_catalog.pg_export_snapshot()");
    std::string id(res.get(0, 0));
    return Snapshot(std::move(conn), std::move(id), conninfo, role, database);
}

Connection Snapshot::openReader() const {
    Connection conn = Connection::open(conninfo_, role_, database_);
    conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    conn.exec("SET TRANSACTION SNAPSHOT " + conn.quoteLiteral(id_));
    return conn;
}

}  // namespace pgsluice::pg
