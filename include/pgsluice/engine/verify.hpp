#pragma once

// Comparing two databases table by table: row counts and an order-independent content hash,
// each side read in its own snapshot. What `verify` and `copy --verify` do.

#include <string>
#include <vector>

#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/prepare.hpp"
#include "pgsluice/engine/subset.hpp"
#include "pgsluice/filter/selection.hpp"
#include "pgsluice/pg/snapshot.hpp"

namespace pgsluice::engine {

// The comparison of one table.
struct TableVerdict {
    std::string name;
    bool data = true;  // false: schema only, the target must be empty
    copy::RowDigest source;
    copy::RowDigest target;
    std::string verdict;  // "same" or why not

    bool same() const { return verdict == "same"; }
};

// Digests one table (COPY ... TO STDOUT), reading the columns of `columns_from` in its order,
// as COPY `binary` or text. With `rules`, the rows are rewritten as a sanitised copy writes them
// before being hashed.
copy::RowDigest digestTable(pg::Connection& conn, const pg::Table& table,
                            const pg::Table& columns_from, bool binary, const AbortSignal& abort,
                            const sanitize::TableSanitizer* rules = nullptr);

// Compares the tables `selection` keeps, each side read in its own snapshot, on `jobs`
// connection pairs. Differences are results, not errors.
// With `sanitizing`, the source side hashes the rewritten rows, so a sanitised copy verifies.
// With `subset` (computed in `source`'s snapshot), the source side of a subsetted table is
// its kept rows, so a subsetted copy verifies.
std::vector<TableVerdict> verifyDatabases(const pg::Snapshot& source, const pg::Snapshot& target,
                                          const filter::SelectionOptions& selection, int jobs,
                                          AbortSignal& abort,
                                          const Sanitizing* sanitizing = nullptr,
                                          const Subset* subset = nullptr);

// The verdicts as text lines or JSON, and the names of the tables that differ.
std::string formatVerdicts(const std::vector<TableVerdict>& verdicts, bool json,
                           std::vector<std::string>& differing);

// "N tables differ: a, b, ...": the error a failed verification ends with.
std::string differMessage(const std::vector<std::string>& differing);

}  // namespace pgsluice::engine
