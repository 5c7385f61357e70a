#pragma once

#include <string>
#include <vector>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// What makes a database the same database, whatever the connection string said.
struct ServerIdentity {
    std::string system_id;  // pg_control_system().system_identifier (or a fallback fingerprint)
    std::string database;
    std::string host;  // as libpq resolved it (host name or socket directory)
};

// Reads the identity of the server and database `conn` is connected to.
ServerIdentity identify(pg::Connection& conn);

// Throws UsageError when source and target are the same database of the same server.
void refuseSelfCopy(const ServerIdentity& source, const ServerIdentity& target);

// The --protect patterns in force: the given ones, else PGSLUICE_PROTECT (comma-separated),
// else "*prod*". An empty pattern clears the list.
std::vector<std::string> protectPatterns(const std::vector<std::string>& given);

// Throws UsageError naming the pattern when the target's host or database name matches one of
// `patterns` (shell globs, case-insensitive).
void refuseProtected(const ServerIdentity& target, const std::vector<std::string>& patterns);

// Throws UsageError naming some of the objects when the target database is not empty.
void requireEmptyTarget(pg::Connection& target);

// On a terminal, shows what the target holds and asks before it is overwritten; throws
// UsageError when the answer is not "yes". Does nothing when `yes` or not on a terminal.
void confirmOverwrite(pg::Connection& server, const std::string& database, const std::string& what,
                      bool yes);

}  // namespace pgsluice::engine
