#pragma once

// Creating a target database: what --create does for a target that does not exist and --swap
// does for the database it loads into, written once.

#include <optional>
#include <string>

#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// A connection to the target server's maintenance database: postgres, else template1, as the
// conninfo's user. Throws the PgError of the postgres attempt when neither works.
pg::Connection openMaintenance(const std::string& target_conninfo);

// True when database `name` exists on the server `server` is connected to.
bool databaseExists(pg::Connection& server, const std::string& name);

// The encoding and locale of database `name` (which must exist).
pg::DatabaseLocale databaseLocale(pg::Connection& server, const std::string& name);

// CREATE DATABASE name ... TEMPLATE template0, with `locale`'s encoding, LC_COLLATE and
// LC_CTYPE (the server's defaults for those it leaves empty). Owned by `owner`, or by the
// connecting user when empty.
void createDatabase(pg::Connection& server, const std::string& name,
                    const pg::DatabaseLocale& locale, const std::string& owner = "");

// "encoding UTF8, LC_COLLATE en_US.UTF-8, LC_CTYPE en_US.UTF-8", or "the server's default
// encoding and locale" when `locale` is empty.
std::string describeLocale(const pg::DatabaseLocale& locale);

// After a failed connection to the target: the maintenance connection when the target database
// does not exist (checked in pg_database, whatever language the server speaks), nothing when it
// exists or the server cannot be reached either (the first failure is then the one to report).
std::optional<pg::Connection> maintenanceIfMissing(const std::string& target_conninfo,
                                                   std::string& database);

}  // namespace pgsluice::engine
