#pragma once

#include <string>

#include "pgsluice/pg/connection.hpp"

namespace pgsluice::pg {

// The source transaction whose exported snapshot every reader (and pg_dump) shares.
// It stays open for as long as this object lives, which keeps the snapshot importable.
class Snapshot {
  public:
    // Connects to the source, starts REPEATABLE READ READ ONLY and exports the snapshot.
    static Snapshot exportFrom(const std::string& conninfo);

    // A new source connection inside a transaction that uses this snapshot.
    Connection openReader() const;

    // The snapshot id, as given to pg_dump --snapshot.
    const std::string& id() const { return id_; }
    // The connection holding the snapshot; usable for catalog queries.
    Connection& control() { return control_; }

  private:
    Snapshot(Connection control, std::string id, std::string conninfo)
        : control_(std::move(control)), id_(std::move(id)), conninfo_(std::move(conninfo)) {}

    Connection control_;
    std::string id_;
    std::string conninfo_;
};

}  // namespace pgsluice::pg
