#include "pgsluice/engine/create_database.hpp"

#include <fmt/format.h>

#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::engine {

pg::Connection openMaintenance(const std::string& target_conninfo) {
    try {
        return pg::Connection::open(target_conninfo, pg::Role::target, "postgres");
    } catch (const pg::PgError&) {
        try {
            return pg::Connection::open(target_conninfo, pg::Role::target, "template1");
        } catch (const pg::PgError&) {
        }
        throw;
    }
}

bool databaseExists(pg::Connection& server, const std::string& name) {
    return server.execParams("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", {name})
               .rows() == 1;
}

pg::DatabaseLocale databaseLocale(pg::Connection& server, const std::string& name) {
    pg::Result res = server.execParams(
        "SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype "
        "FROM pg_catalog.pg_database WHERE datname = $1",
        {name});
    return {std::string(res.get(0, 0)), std::string(res.get(0, 1)), std::string(res.get(0, 2))};
}

void createDatabase(pg::Connection& server, const std::string& name,
                    const pg::DatabaseLocale& locale, const std::string& owner) {
    std::string sql = "CREATE DATABASE " + pg::quoteIdentifier(name);
    if (!owner.empty()) {
        sql += " OWNER " + pg::quoteIdentifier(owner);
    }
    if (!locale.encoding.empty()) {
        sql += " ENCODING " + server.quoteLiteral(locale.encoding);
    }
    if (!locale.collate.empty()) {
        sql += " LC_COLLATE " + server.quoteLiteral(locale.collate);
    }
    if (!locale.ctype.empty()) {
        sql += " LC_CTYPE " + server.quoteLiteral(locale.ctype);
    }
    // template0: template1 may hold objects of its own, and only template0 takes any locale.
    server.exec(sql + " TEMPLATE template0");
}

std::string describeLocale(const pg::DatabaseLocale& locale) {
    if (locale.encoding.empty()) {
        return "the server's default encoding and locale";
    }
    return fmt::format("encoding {}, LC_COLLATE {}, LC_CTYPE {}", locale.encoding, locale.collate,
                       locale.ctype);
}

std::optional<pg::Connection> maintenanceIfMissing(const std::string& target_conninfo,
                                                   std::string& database) {
    try {
        pg::Connection server = openMaintenance(target_conninfo);
        database = pg::databaseNamed(target_conninfo, server.user());
        if (!databaseExists(server, database)) {
            return server;
        }
    } catch (const pg::PgError&) {
    }
    return std::nullopt;
}

}  // namespace pgsluice::engine
