#include "pgsluice/engine/retry.hpp"

#include <fmt/format.h>

#include <thread>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

std::chrono::milliseconds RetryPolicy::waitBefore(int attempt) const {
    std::chrono::milliseconds wait = first_wait;
    for (int i = 2; i < attempt && wait < max_wait; ++i) {
        wait *= 2;
    }
    return std::min(wait, max_wait);
}

void CommitTracker::begin(pg::Connection& conn, const std::string& first) {
    pg::Result res = conn.exec(
        "BEGIN;" + (first.empty() ? "" : first + ";") +
        "SELECT pg_catalog.txid_current(), pg_catalog.pg_backend_pid(), (SELECT backend_start "
        "FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid())::text");
    xid_ = std::string(res.get(0, 0));
    pid_ = std::string(res.get(0, 1));
    backend_start_ = std::string(res.get(0, 2));
    commit_sent_ = false;
}

void CommitTracker::commit(pg::Connection& conn) {
    commit_sent_ = true;
    conn.exec("COMMIT");
    commit_sent_ = false;
    xid_.clear();
    pid_.clear();
}

bool CommitTracker::committedBefore(pg::Connection& conn) {
    if (xid_.empty()) {
        return false;
    }
    // The session is matched by its start time too, so that a new session that got the same
    // pid is never touched.
    const std::string still_there =
        "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = $1::int AND "
        "backend_start = $2::timestamptz";
    conn.execParams(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
        "WHERE pid = $1::int AND backend_start = $2::timestamptz",
        {pid_, backend_start_});
    for (int i = 0; i < 100 && conn.execParams(still_there, {pid_, backend_start_}).getInt(0, 0);
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    bool committed = false;
    if (commit_sent_) {
        pg::Result res = conn.execParams("SELECT pg_catalog.txid_status($1::bigint)", {xid_});
        committed = res.get(0, 0) == "committed";
    }
    commit_sent_ = false;
    xid_.clear();
    pid_.clear();
    return committed;
}

std::optional<std::string> transientCause(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Cancelled&) {
        return std::nullopt;
    } catch (const TransientError& e) {
        return std::string(e.what());
    } catch (const pg::PgError& e) {
        if (e.transient()) {
            return std::string(e.what());
        }
    } catch (...) {
    }
    return std::nullopt;
}

}  // namespace pgsluice::engine
