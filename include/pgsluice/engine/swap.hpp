#pragma once

#include <string>

#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// --swap: the run loads into a new database beside the live one, and only a run that fully
// succeeded renames the live database away and the new one into its name.
class Swap {
  public:
    // Connects to the target server's maintenance database and works out the names.
    // Creates nothing yet.
    static Swap open(const std::string& target_conninfo);

    // The database the conninfo names (which the swap replaces).
    const std::string& liveName() const { return live_; }
    // The database the run loads into.
    const std::string& newName() const { return new_; }
    // True when the live database exists already.
    bool liveExists();
    // The maintenance connection (for guards and questions).
    pg::Connection& server() { return server_; }

    // Creates the new database with the live one's owner, encoding, locale and settings, or
    // with `source_locale` when there is no live one yet (dropping a leftover new database of
    // an earlier failed run, with a warning returned).
    std::string create(const pg::DatabaseLocale& source_locale);
    // Renames the live database away and the new one into its name in one transaction,
    // ending other sessions first when `terminate`, else waiting up to `wait_seconds` for them
    // to leave. Drops the old database unless `keep_old`. Returns the seconds the live name
    // was unavailable.
    double commit(bool terminate, int wait_seconds, bool keep_old, std::string& old_name);
    // Drops the new database after a failure; never throws, returns what went wrong if it could
    // not.
    std::string abandon() noexcept;

  private:
    Swap(pg::Connection server, std::string live);
    long long sessionsOn(const std::string& database);
    void terminateSessions(const std::string& database);

    pg::Connection server_;
    std::string live_;
    std::string new_;
    bool created_ = false;
};

}  // namespace pgsluice::engine
