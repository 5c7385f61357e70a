#include "pgsluice/engine/target_steps.hpp"

#include <fmt/format.h>

#include <sstream>

namespace pgsluice::engine {

std::vector<std::string> cleanTarget(pg::Connection& target, const pg::SchemaTool& tool,
                                     const std::string& archive, const pg::RestoreFlags& options,
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

}  // namespace pgsluice::engine
