#pragma once

#include <string>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::pg {

// The source transaction whose exported snapshot every reader (and pg_dump) shares.
// It stays open for as long as this object lives, which keeps the snapshot importable.
class Snapshot {
  public:
    // Connects, starts REPEATABLE READ READ ONLY and exports the snapshot. `role` only names the
    // server in messages: every session of a snapshot is read-only.
    static Snapshot exportFrom(const std::string& conninfo, Role role = Role::source,
                               const std::string& database = "");

    // A new source connection inside a transaction that uses this snapshot. Throws Error
    // (never transient) when the snapshot is gone: its control connection was lost.
    Connection openReader() const;
    // Ends `reader`'s transaction and starts another in the same snapshot: what it read stays
    // the same, and the locks it took on the tables it read are let go (a reader that reads
    // thousands of tables in one transaction runs out of shared memory at the default
    // max_locks_per_transaction).
    void refresh(Connection& reader) const;
    // The message for a run that lost the snapshot's control connection to `cause`.
    std::string lostMessage(const std::string& cause) const;
    // Runs use(control()). A failure that ended the control session (PgError::transient(): the
    // connection was lost or terminated, the server shut down) ended the snapshot with it: it
    // is thrown as Error(lostMessage()), never transient, so that nothing is retried in a
    // snapshot that no longer exists.
    template <class Use>
    decltype(auto) onControl(Use&& use) {
        try {
            return use(control_);
        } catch (const PgError& e) {
            if (!e.transient()) {
                throw;
            }
            throw Error(lostMessage(e.what()));
        }
    }

    // The snapshot id, as given to pg_dump --snapshot.
    const std::string& id() const { return id_; }
    // The connection holding the snapshot; usable for catalog queries.
    Connection& control() { return control_; }

  private:
    // Runs `begin` (which starts a transaction) and joins it to the snapshot.
    void join(Connection& conn, const std::string& begin) const;

    Snapshot(Connection control, std::string id, std::string conninfo, Role role,
             std::string database)
        : control_(std::move(control)),
          id_(std::move(id)),
          conninfo_(std::move(conninfo)),
          role_(role),
          database_(std::move(database)) {}

    Connection control_;
    std::string id_;
    std::string conninfo_;
    Role role_;
    std::string database_;
};

}  // namespace pgsluice::pg
