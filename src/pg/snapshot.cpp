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
    join(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return conn;
}

void Snapshot::refresh(Connection& reader) const {
    join(reader, "COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

void Snapshot::join(Connection& conn, const std::string& begin) const {
    try {
        conn.exec(begin + "; SET TRANSACTION SNAPSHOT " + conn.quoteLiteral(id_));
    } catch (const PgError& e) {
        if (e.sqlstate() != "22023") {  // invalid_parameter_value: "invalid snapshot identifier"
            throw;
        }
        throw Error(lostMessage(e.what()));
    }
}

std::string Snapshot::lostMessage(const std::string& cause) const {
    return "the " + std::string(roleName(role_)) + " session that holds the run's snapshot " + id_ +
           " is gone, and the exported snapshot with it: no retry can stay consistent without "
           "it, and pgsluice never goes on in another snapshot. Run again.\n(" +
           cause + ")";
}

}  // namespace pgsluice::pg
