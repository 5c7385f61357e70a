#include "pgsluice/engine/target.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "pgsluice/engine/sql_pool.hpp"

namespace pgsluice::engine {

std::string describeState(TargetState state) {
    switch (state) {
        case TargetState::untouched:
            return "The target was not changed.";
        case TargetState::schema_partial:
            return "The target may hold part of the schema: run again with --clean to start over.";
        case TargetState::schema_loaded:
            return "The target holds the schema and part of the data (see the tables marked "
                   "INCOMPLETE), without constraints: run again with --clean to start over.";
        case TargetState::data_loaded:
            return "The target holds all the data, but not every index, constraint or trigger: "
                   "run again with --clean to start over.";
        case TargetState::complete:
            return "The target is complete.";
    }
    return "";
}

TempDir::TempDir(const std::string& prefix) {
    std::string base = std::filesystem::temp_directory_path().string();
    std::string pattern = base + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) {
        throw Error(
            fmt::format("cannot create a temporary directory under {}: set TMPDIR to a "
                        "writable directory",
                        base));
    }
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

pg::Connection openTargetSession(const std::string& conninfo, const std::string& database) {
    pg::Connection conn = pg::Connection::open(conninfo, pg::Role::target, database);
    conn.exec(
        "SELECT pg_catalog.set_config('search_path', '', false);"
        "SET statement_timeout = 0; SET lock_timeout = 0;"
        "SET idle_in_transaction_session_timeout = 0; SET client_encoding = 'UTF8';"
        "SET extra_float_digits = 3");
    return conn;
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

std::vector<std::string> cleanTarget(pg::Connection& target, const pg::SchemaTool& tool,
                                     const std::string& archive, const pg::RestoreOptions& options,
                                     const std::string& list_file) {
    // pg_restore --clean prints one statement per line; it runs them ignoring errors, because
    // some drops only work after a later one (a partition's inherited constraint goes away with
    // its parent's). Do the same, but visibly: each statement in a savepoint, the failures
    // retried once after all others, and whatever still fails reported.
    std::vector<std::string> statements;
    std::string current;
    std::istringstream lines(tool.cleanScript(archive, options, list_file));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line.rfind("--", 0) == 0) {
            continue;
        }
        current += current.empty() ? line : "\n" + line;
        if (line.back() == ';') {
            statements.push_back(std::move(current));
            current.clear();
        }
    }
    target.exec("BEGIN");
    std::vector<std::pair<std::string, std::string>> failed;
    auto run = [&](const std::string& sql) -> std::string {
        target.exec("SAVEPOINT pgsluice_clean");
        try {
            target.exec(sql);
            target.exec("RELEASE SAVEPOINT pgsluice_clean");
            return "";
        } catch (const pg::PgError& e) {
            target.exec("ROLLBACK TO SAVEPOINT pgsluice_clean");
            return e.what();
        }
    };
    for (const auto& sql : statements) {
        if (std::string error = run(sql); !error.empty()) {
            failed.emplace_back(sql, error);
        }
    }
    std::vector<std::string> warnings;
    for (const auto& [sql, first_error] : failed) {
        if (std::string error = run(sql); !error.empty()) {
            warnings.push_back(fmt::format("--clean could not run `{}`: {}", sql, error));
        }
    }
    target.exec("COMMIT");
    // The script set search_path for itself; restore the loader's settings.
    target.exec("SELECT pg_catalog.set_config('search_path', '', false)");
    return warnings;
}

std::set<int> leftOutEntries(const std::vector<pg::TocEntry>& toc,
                             const SelectionResult& selection) {
    constexpr uint32_t kPgClass = 1259;
    const std::set<std::string>& schemas = selection.excluded_schemas;
    std::set<int> out;
    std::vector<const pg::TocEntry*> queue;
    for (const auto& e : toc) {
        // pg_dump 15 lists no SCHEMA entry for a default public schema and so no dependency on
        // it: the namespace column finds that schema's objects.
        if ((e.catalog_oid == kPgClass && selection.skip.count(e.oid)) ||
            (e.desc == "SCHEMA" && schemas.count(e.tag)) || schemas.count(e.schema)) {
            if (out.insert(e.dump_id).second) {
                queue.push_back(&e);
            }
        }
    }
    std::unordered_map<int, std::vector<const pg::TocEntry*>> dependents;
    std::unordered_map<int, const pg::TocEntry*> by_id;
    for (const auto& e : toc) {
        by_id.emplace(e.dump_id, &e);
        for (int d : e.dependencies) {
            dependents[d].push_back(&e);
        }
    }
    // A kept table's CREATE TABLE stands alone in pg_dump 15 (partitions are attached by a
    // TABLE ATTACH entry of their own): its dependency on a parent only orders the entries.
    auto kept_table = [&](const pg::TocEntry& e) {
        return e.catalog_oid == kPgClass && (e.desc == "TABLE" || e.desc == "FOREIGN TABLE") &&
               !selection.skip.count(e.oid);
    };
    auto leave_out = [&](const pg::TocEntry& e) {
        if (!kept_table(e) && out.insert(e.dump_id).second) {
            queue.push_back(&e);
        }
    };
    while (!queue.empty()) {
        const pg::TocEntry* e = queue.back();
        queue.pop_back();
        if (auto it = dependents.find(e->dump_id); it != dependents.end()) {
            for (const pg::TocEntry* d : it->second) {
                leave_out(*d);
            }
        }
        // The owned sequence of a table that is left out goes too. pg_dump 15 makes the
        // SEQUENCE depend on its table, so this only matters if OWNED BY alone says it.
        if (e->desc == "SEQUENCE OWNED BY") {
            for (int d : e->dependencies) {
                if (auto it = by_id.find(d); it != by_id.end() && it->second->desc == "SEQUENCE") {
                    leave_out(*it->second);
                }
            }
        }
    }
    return out;
}

std::string writeRestoreList(const std::vector<pg::TocEntry>& toc, const std::set<int>& leave_out,
                             const std::string& dir, const std::string& name) {
    std::string path = dir + "/" + name;
    std::ofstream out(path);
    for (const auto& e : toc) {
        out << (leave_out.count(e.dump_id) ? ";" : "") << e.line << "\n";
    }
    out.close();
    if (!out) {
        throw Error(fmt::format("cannot write {}", path));
    }
    return path;
}

std::string writePostDataList(const std::vector<pg::TocEntry>& toc, const pg::Catalog& catalog,
                              const std::set<uint32_t>& drop_constraints,
                              const std::set<int>& leave_out, const std::string& dir) {
    constexpr uint32_t kPgClass = 1259;
    constexpr uint32_t kPgConstraint = 2606;
    std::set<uint32_t> indexes;
    std::set<uint32_t> constraints = drop_constraints;
    for (const auto& t : catalog.tables) {
        for (const auto& idx : t.indexes) {
            indexes.insert(idx.index_oid);
            if (idx.constraint_oid) {
                constraints.insert(idx.constraint_oid);
            }
        }
    }
    std::set<int> commented = leave_out;
    for (const auto& e : toc) {
        if ((e.catalog_oid == kPgClass && indexes.count(e.oid)) ||
            (e.catalog_oid == kPgConstraint && constraints.count(e.oid))) {
            commented.insert(e.dump_id);
        }
    }
    return writeRestoreList(toc, commented, dir, "post-data.list");
}

void attachIndexes(pg::Connection& target, const Plan& plan) {
    std::string sql;
    for (const auto& pt : plan.tables) {
        for (const auto& idx : pt.table->indexes) {
            sql += idx.attach_sql;
        }
    }
    if (!sql.empty()) {
        target.exec("BEGIN;" + sql + "COMMIT;");
    }
}

void runAfterStatements(pg::Connection& target, const sanitize::Rules& rules) {
    // The statements were written against the default search_path, not the loader's empty one.
    target.exec("BEGIN; RESET search_path");
    for (const auto& stmt : rules.after) {
        try {
            target.exec(stmt.sql);
        } catch (const pg::PgError& e) {
            target.exec("ROLLBACK");
            throw Error(fmt::format("{}: after statement `{}` failed: {}", rules.where(stmt.line),
                                    stmt.sql, e.what()));
        }
    }
    target.exec("COMMIT; SELECT pg_catalog.set_config('search_path', '', false)");
}

const pg::TocEntry* findTocEntry(const std::vector<pg::TocEntry>& toc, std::string_view desc,
                                 uint32_t oid) {
    for (const auto& e : toc) {
        if (e.oid == oid && e.desc.rfind(desc, 0) == 0 &&
            (e.desc.size() == desc.size() || e.desc[desc.size()] == ' ')) {
            return &e;
        }
    }
    return nullptr;
}

bool tocHas(const std::vector<pg::TocEntry>& toc, std::string_view desc, uint32_t oid) {
    return findTocEntry(toc, desc, oid) != nullptr;
}

void analyzeTables(const std::string& target_conninfo, const std::string& database,
                   const pg::Catalog& catalog, const std::set<uint32_t>& skip, int jobs,
                   AbortSignal& abort) {
    SqlPool pool(
        jobs, [&] { return openTargetSession(target_conninfo, database); }, abort, nullptr);
    for (const auto& t : catalog.tables) {
        if ((t.relkind == 'r' || t.relkind == 'p' || t.relkind == 'm') && !skip.count(t.oid)) {
            pool.push({"ANALYZE " + t.qualified, "ANALYZE " + t.qualified});
        }
    }
    pool.close();
    pool.join();
}

}  // namespace pgsluice::engine
