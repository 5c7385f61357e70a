#include "pgsluice/engine/guards.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "pgsluice/util/sizes.hpp"

namespace pgsluice::engine {

ServerIdentity identify(pg::Connection& conn) {
    // One statement that cannot fail, because the source connection is inside the snapshot
    // transaction: without the right to pg_control_system, the postmaster's start time and
    // port tell servers apart just as well for this purpose.
    pg::Result res = conn.exec(
        "SELECT CASE WHEN pg_catalog.has_function_privilege("
        "'pg_catalog.pg_control_system()', 'EXECUTE') "
        "THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) "
        "ELSE pg_catalog.pg_postmaster_start_time()::text || ':' || "
        "pg_catalog.current_setting('port') END, pg_catalog.current_database()");
    ServerIdentity id;
    id.system_id = std::string(res.get(0, 0));
    id.database = std::string(res.get(0, 1));
    id.host = conn.host();
    return id;
}

void refuseSelfCopy(const ServerIdentity& source, const ServerIdentity& target) {
    if (source.system_id == target.system_id && source.database == target.database) {
        throw UsageError(fmt::format(
            "the target is the source: both connections reach database \"{}\" of the same server "
            "(system identifier {}). Check --target.",
            target.database, target.system_id));
    }
}

std::vector<std::string> protectPatterns(const std::vector<std::string>& given) {
    std::vector<std::string> raw = given;
    if (raw.empty()) {
        const char* env = std::getenv("PGSLUICE_PROTECT");
        std::string text = env ? env : "*prod*";
        size_t start = 0;
        for (;;) {
            size_t comma = text.find(',', start);
            raw.push_back(text.substr(start, comma - start));
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
    }
    std::vector<std::string> out;
    for (const auto& p : raw) {
        if (p.empty()) {
            out.clear();  // --protect '' clears what came before
        } else {
            out.push_back(p);
        }
    }
    return out;
}

void refuseProtected(const ServerIdentity& target, const std::vector<std::string>& patterns) {
    for (const auto& p : patterns) {
        for (const auto& [what, value] :
             {std::pair<const char*, const std::string&>{"host", target.host},
              {"database", target.database}}) {
            if (!value.empty() && ::fnmatch(p.c_str(), value.c_str(), FNM_CASEFOLD) == 0) {
                throw UsageError(fmt::format(
                    "the target {} \"{}\" matches the protected pattern \"{}\": pgsluice will not "
                    "write to it. If this really is a staging database, change --protect (or "
                    "PGSLUICE_PROTECT); --protect '' clears the default \"*prod*\".",
                    what, value, p));
            }
        }
    }
}

void confirmOverwrite(pg::Connection& server, const std::string& database, const std::string& what,
                      bool yes) {
    if (yes || !::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) {
        return;
    }
    pg::Result res = server.execParams("SELECT pg_catalog.pg_database_size($1)", {database});
    std::fprintf(stderr,
                 "pgsluice: %s will replace database \"%s\" on %s (%s).\n"
                 "Type yes to go on: ",
                 what.c_str(), database.c_str(), server.host().c_str(),
                 util::formatBytes(static_cast<double>(res.getInt(0, 0))).c_str());
    std::fflush(stderr);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
        throw UsageError("not confirmed; nothing was changed (give --yes to skip the question)");
    }
}

void requireEmptyTarget(pg::Connection& target) {
    pg::Result res = target.exec(
        "SELECT kind, name FROM ("
        " SELECT 'relation' AS kind, n.nspname || '.' || c.relname AS name"
        " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
        " UNION ALL SELECT 'schema', nspname FROM pg_catalog.pg_namespace"
        " WHERE nspname <> 'information_schema' AND nspname !~ '^pg_' AND nspname <> 'public'"
        " UNION ALL SELECT 'extension', extname FROM pg_catalog.pg_extension"
        " WHERE extname <> 'plpgsql'"
        " UNION ALL SELECT 'function', n.nspname || '.' || p.proname"
        " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
        " UNION ALL SELECT 'type', n.nspname || '.' || t.typname"
        " FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' AND t.typrelid = 0"
        " AND t.typelem = 0"
        " UNION ALL SELECT 'large object', oid::text FROM pg_catalog.pg_largeobject_metadata"
        ") o ORDER BY kind <> 'relation', 1, 2");
    if (res.rows() == 0) {
        return;
    }
    std::string examples;
    for (int r = 0; r < res.rows() && r < 5; ++r) {
        examples += fmt::format("{}{} {}", r ? ", " : "", res.get(r, 0), res.get(r, 1));
    }
    throw UsageError(fmt::format(
        "the target database {} is not empty ({} objects, e.g. {}).\nGive --clean to drop and "
        "recreate the copied objects, or use an empty database.",
        target.describe(), res.rows(), examples));
}

}  // namespace pgsluice::engine
