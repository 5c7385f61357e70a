#include "pgsluice/engine/target_steps.hpp"

#include <fmt/format.h>

#include <algorithm>
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
    // A transaction per few hundred drops: one for all would hold a lock per dropped object
    // and run out of shared memory at the default max_locks_per_transaction. Each drop in a
    // savepoint, sent with it in one round trip.
    constexpr size_t kChunk = 500;
    std::vector<std::pair<std::string, std::string>> failed;
    auto run = [&](const std::string& sql) -> std::string {
        try {
            target.exec("SAVEPOINT pgsluice_clean;" + sql + "\n;RELEASE SAVEPOINT pgsluice_clean");
            return "";
        } catch (const pg::PgError& e) {
            if (e.connectionLost()) {
                throw;
            }
            target.exec("ROLLBACK TO SAVEPOINT pgsluice_clean");
            return e.what();
        }
    };
    target.exec("BEGIN");
    for (size_t i = 0; i < statements.size(); ++i) {
        if (i > 0 && i % kChunk == 0) {
            target.exec("COMMIT; BEGIN");
        }
        if (std::string error = run(statements[i]); !error.empty()) {
            failed.emplace_back(statements[i], error);
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

std::vector<std::string> attachSql(const Plan& plan, const std::vector<bool>& attached) {
    // Each ALTER TABLE locks its table until the transaction ends: a few hundred tables per
    // transaction stay well within the default max_locks_per_transaction.
    constexpr size_t kTablesPerChunk = 200;
    std::vector<std::string> chunks;
    size_t tables = 0;
    for (size_t i = 0; i < plan.tables.size(); ++i) {
        const PlannedTable& pt = plan.tables[i];
        if (i < attached.size() && attached[i]) {
            continue;
        }
        std::string sql;
        for (const auto& idx : pt.table->indexes) {
            sql += idx.attach_sql;
        }
        if (sql.empty()) {
            continue;
        }
        if (chunks.empty() || tables == kTablesPerChunk) {
            chunks.emplace_back();
            tables = 0;
        }
        chunks.back() += sql;
        ++tables;
    }
    return chunks;
}

void runAfterStatements(pg::Connection& target, const sanitize::Rules& rules,
                        CommitTracker& commit) {
    // The statements were written against the default search_path, not the loader's empty one.
    commit.begin(target, "RESET search_path");
    for (const auto& stmt : rules.after) {
        try {
            target.exec(stmt.sql);
        } catch (const pg::PgError& e) {
            target.exec("ROLLBACK");
            throw Error(fmt::format("{}: after statement `{}` failed: {}", rules.where(stmt.line),
                                    stmt.sql, e.what()));
        }
    }
    commit.commit(target);
    target.exec("SELECT pg_catalog.set_config('search_path', '', false)");
}

namespace {

// How to find an entry of a kind on the target, as a query over unnest($1 schemas, $2 tags)
// that returns the (schema, tag) pairs that exist. A tag "table name" is compared whole, so
// names with spaces in them match exactly.
struct PresenceQuery {
    std::vector<std::string_view> descs;
    const char* sql;
};

const PresenceQuery kPresence[] = {
    {{"INDEX"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) JOIN pg_catalog.pg_class c "
     "ON c.relname = w.t JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND "
     "n.nspname = w.s WHERE c.relkind IN ('i', 'I')"},
    {{"CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_constraint x JOIN pg_catalog.pg_class r ON r.oid = x.conrelid JOIN "
     "pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = w.s AND "
     "r.relname || ' ' || x.conname = w.t)"},
    {{"TRIGGER"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_trigger x JOIN pg_catalog.pg_class r ON r.oid = x.tgrelid JOIN "
     "pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = w.s AND "
     "r.relname || ' ' || x.tgname = w.t)"},
    {{"RULE"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_rewrite x JOIN pg_catalog.pg_class r ON r.oid = x.ev_class JOIN "
     "pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = w.s AND "
     "r.relname || ' ' || x.rulename = w.t)"},
    {{"POLICY"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_policy x JOIN pg_catalog.pg_class r ON r.oid = x.polrelid JOIN "
     "pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = w.s AND "
     "r.relname || ' ' || x.polname = w.t)"},
    {{"INDEX ATTACH"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN "
     "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = w.s AND "
     "c.relname = w.t AND c.relkind IN ('i', 'I'))"},
    {{"STATISTICS"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_statistic_ext x JOIN pg_catalog.pg_namespace n ON n.oid = x.stxnamespace "
     "WHERE n.nspname = w.s AND x.stxname = w.t)"},
    {{"EVENT TRIGGER"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) WHERE EXISTS (SELECT 1 FROM "
     "pg_catalog.pg_event_trigger x WHERE x.evtname = w.t)"},
    {{"MATERIALIZED VIEW DATA"},
     "SELECT w.s, w.t FROM unnest($1::text[], $2::text[]) w(s, t) JOIN pg_catalog.pg_class c "
     "ON c.relname = w.t JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND "
     "n.nspname = w.s WHERE c.relkind = 'm' AND c.relispopulated"},
};

// A text[] literal of `items`, for execParams.
std::string textArray(const std::vector<std::string>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : items[i]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

}  // namespace

std::set<int> presentPostDataEntries(pg::Connection& target, const std::vector<pg::TocEntry>& toc) {
    std::set<int> present;
    for (const PresenceQuery& q : kPresence) {
        std::vector<const pg::TocEntry*> entries;
        std::vector<std::string> schemas;
        std::vector<std::string> tags;
        for (const auto& e : toc) {
            if (std::find(q.descs.begin(), q.descs.end(), e.desc) != q.descs.end()) {
                entries.push_back(&e);
                schemas.push_back(e.schema);
                tags.push_back(e.tag);
            }
        }
        if (entries.empty()) {
            continue;
        }
        pg::Result res = target.execParams(q.sql, {textArray(schemas), textArray(tags)});
        std::set<std::pair<std::string, std::string>> found;
        for (int r = 0; r < res.rows(); ++r) {
            found.emplace(std::string(res.get(r, 0)), std::string(res.get(r, 1)));
        }
        for (const pg::TocEntry* e : entries) {
            if (found.count({e->schema, e->tag})) {
                present.insert(e->dump_id);
            }
        }
    }
    return present;
}

}  // namespace pgsluice::engine
