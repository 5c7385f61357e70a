#include "pgsluice/engine/swap.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "pgsluice/engine/create_database.hpp"
#include "pgsluice/pg/identifier.hpp"

namespace pgsluice::engine {

namespace {

// PostgreSQL truncates identifiers to 63 bytes; keep the suffix whole so names stay distinct.
std::string withSuffix(const std::string& base, const std::string& suffix) {
    constexpr size_t kMaxIdentifier = 63;
    size_t keep = kMaxIdentifier > suffix.size() ? kMaxIdentifier - suffix.size() : 0;
    return base.substr(0, std::min(base.size(), keep)) + suffix;
}

}  // namespace

Swap::Swap(pg::Connection server, std::string live)
    : server_(std::move(server)),
      live_(std::move(live)),
      new_(withSuffix(live_, "_pgsluice_new")) {}

Swap Swap::open(const std::string& target_conninfo) {
    pg::Connection server = openMaintenance(target_conninfo);
    std::string live = pg::databaseNamed(target_conninfo, server.user());
    return Swap(std::move(server), std::move(live));
}

bool Swap::liveExists() {
    return databaseExists(server_, live_);
}

std::string Swap::create(const pg::DatabaseLocale& source_locale) {
    std::string warning;
    if (databaseExists(server_, new_)) {
        // Only a failed or killed --swap run leaves this name behind: it never held live data.
        terminateSessions(new_);
        server_.exec("DROP DATABASE " + pg::quoteIdentifier(new_));
        warning = fmt::format("dropped {}, left behind by an earlier --swap run", new_);
    }
    pg::DatabaseLocale locale = source_locale;
    std::string owner;
    std::vector<std::string> settings;
    if (liveExists()) {
        locale = databaseLocale(server_, live_);
        pg::Result res = server_.execParams(
            "SELECT pg_catalog.pg_get_userbyid(datdba), oid FROM pg_catalog.pg_database "
            "WHERE datname = $1",
            {live_});
        owner = std::string(res.get(0, 0));
        pg::Result config = server_.execParams(
            "SELECT pg_catalog.unnest(setconfig) FROM pg_catalog.pg_db_role_setting "
            "WHERE setdatabase = $1::pg_catalog.oid AND setrole = 0",
            {std::string(res.get(0, 1))});
        for (int r = 0; r < config.rows(); ++r) {
            std::string_view item = config.get(r, 0);
            size_t eq = item.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            std::string key(item.substr(0, eq));
            std::string value(item.substr(eq + 1));
            // List-valued settings are stored already quoted element by element.
            bool list = key == "search_path" || key == "temp_tablespaces" ||
                        key.find("preload_libraries") != std::string::npos;
            settings.push_back(fmt::format("ALTER DATABASE {} SET {} TO {}",
                                           pg::quoteIdentifier(new_), key,
                                           list ? value : server_.quoteLiteral(value)));
        }
    }
    createDatabase(server_, new_, locale, owner);
    created_ = true;
    for (const auto& sql : settings) {
        server_.exec(sql);
    }
    return warning;
}

long long Swap::sessionsOn(const std::string& database) {
    return server_
        .execParams(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1 "
            "AND pid <> pg_catalog.pg_backend_pid()",
            {database})
        .getInt(0, 0);
}

void Swap::terminateSessions(const std::string& database) {
    server_.execParams(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
        {database});
}

double Swap::commit(bool terminate, int wait_seconds, bool keep_old, std::string& old_name) {
    using Clock = std::chrono::steady_clock;
    bool live = liveExists();
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "_old_%Y%m%d%H%M%S", std::gmtime(&now));
    old_name = live ? withSuffix(live_, stamp) : "";
    std::string sql = "BEGIN;";
    if (live) {
        sql += fmt::format("ALTER DATABASE {} RENAME TO {};", pg::quoteIdentifier(live_),
                           pg::quoteIdentifier(old_name));
    }
    sql += fmt::format("ALTER DATABASE {} RENAME TO {}; COMMIT;", pg::quoteIdentifier(new_),
                       pg::quoteIdentifier(live_));
    auto start = Clock::now();
    auto deadline = start + std::chrono::seconds(wait_seconds);
    for (;;) {
        if (live && terminate) {
            terminateSessions(live_);
        }
        if ((!live || sessionsOn(live_) == 0) && sessionsOn(new_) == 0) {
            try {
                server_.exec(sql);
                break;
            } catch (const pg::PgError& e) {
                server_.exec("ROLLBACK");
                if (e.sqlstate() != "55006") {  // object_in_use: someone connected meanwhile
                    throw;
                }
            }
        }
        if (Clock::now() >= deadline) {
            throw Error(fmt::format(
                "database \"{}\" still has {} other session(s) after {} s ({} on \"{}\"), so "
                "it cannot be renamed. Close them, or give --terminate-connections.",
                live_, live ? sessionsOn(live_) : 0, wait_seconds, sessionsOn(new_), new_));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    // With --terminate-connections the live name was unusable from the first termination on;
    // otherwise only for the rename itself.
    double unavailable = std::chrono::duration<double>(Clock::now() - start).count();
    created_ = false;
    if (live && !keep_old) {
        server_.exec("DROP DATABASE " + pg::quoteIdentifier(old_name));
        old_name.clear();
    }
    return unavailable;
}

std::string Swap::abandon() noexcept {
    if (!created_) {
        return "";
    }
    try {
        terminateSessions(new_);
        server_.exec("DROP DATABASE IF EXISTS " + pg::quoteIdentifier(new_));
        created_ = false;
        return "";
    } catch (const std::exception& e) {
        return fmt::format("could not drop {}: {}; drop it by hand", new_, e.what());
    }
}

}  // namespace pgsluice::engine
