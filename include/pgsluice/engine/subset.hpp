#pragma once

// Subsetting: a consistent slice of the source, every foreign key intact on the target
// (docs/rules.md, "Subsets", says it for users).
//
// - A table with a condition keeps the rows that match it, plus the rows that kept rows of
//   other tables reference (pulled in), transitively.
// - A table without a condition that references, directly or through other such tables, a
//   table with a condition "follows its parents": it keeps the rows whose every non-NULL
//   foreign key to such a table points at a kept row, plus the rows pulled in.
// - Every other table is copied whole.
// Self-references and cycles are followed to a fixpoint. Virtual foreign keys (links the
// schema does not declare) count as foreign keys here and nowhere else.
//
// How: inside the run's snapshot and read-only (no temporary table can exist in a READ ONLY
// transaction), pgsluice keeps, in memory, the row identities (tableoid, ctid: stable within
// one snapshot) of the rows kept in every subsetted table: 8 bytes a kept row in the end,
// about 40 while the sets are computed. Conditions, foreign-key matches and pulls run on the
// server as queries that take those identities as array parameters; the COPY of a subsetted
// table reads exactly its kept rows by ctid (TID scans), so the time of a copy falls with the
// rows it moves. A table that follows its parents is scanned once per iteration of the
// fixpoint in which its parents grew.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgsluice/engine/table_selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// What the user asked to subset.
struct SubsetSpec {
    struct Condition {
        std::string pattern;  // a pg_dump table pattern
        std::string sql;      // an SQL condition on the table's own columns
        std::string where;    // "rules.yaml:12" or "--subset", for messages
    };
    // A link the schema does not declare: from table(columns) to table(columns).
    struct VirtualKey {
        std::string from_pattern;
        std::vector<std::string> from_columns;
        std::string to_pattern;
        std::vector<std::string> to_columns;
        std::string where;
    };
    std::vector<Condition> conditions;
    std::vector<VirtualKey> virtual_keys;

    bool empty() const { return conditions.empty(); }
};

// Parses a --subset option, 'TABLE:CONDITION' (the first ':' outside double quotes ends the
// table pattern). Throws UsageError.
SubsetSpec::Condition parseSubsetOption(const std::string& text);

// The conditions and virtual keys of `spec` as one line each, for the archive manifest and
// inspect: "public.users: id % 100 = 0 (--subset)", "virtual public.a(x) -> public.b(y)".
std::vector<std::string> describeSubset(const SubsetSpec& spec);

// How a table takes part in a subset.
enum class SubsetRole { whole, condition, follows };

// "whole", "condition", "follows parents".
const char* subsetRoleName(SubsetRole role);

// A row's place in its table, within one snapshot: block number and item, packed.
inline std::uint64_t packCtid(std::uint32_t block, std::uint16_t item) {
    return (std::uint64_t{block} << 16) | item;
}

// `ctids` (packed, from `begin` to `end`) as a tid[] literal: '{"(0,1)","(0,2)"}'.
std::string ctidArray(const std::vector<std::uint64_t>& ctids, std::size_t begin, std::size_t end);

// The rows a subset keeps, in one snapshot.
class Subset {
  public:
    // One table that holds rows (a plain table or a partition leaf).
    struct Table {
        SubsetRole role = SubsetRole::whole;
        std::vector<std::uint64_t> kept;  // packed ctids, sorted (empty for whole tables)
        std::uint64_t matched = 0;        // kept for its condition or by following its parents
        std::uint64_t pulled_in = 0;      // kept because kept rows of other tables point at them
    };

    // The role and rows of the table with this oid (whole when the subset does not touch it).
    const Table& table(std::uint32_t oid) const;
    // True when the table's rows are cut down to `kept`.
    bool restricts(std::uint32_t oid) const { return table(oid).role != SubsetRole::whole; }
    // Fixpoint iterations the computation took.
    int iterations() const { return iterations_; }
    // What the run was asked, as given.
    const SubsetSpec& spec() const { return spec_; }

  private:
    friend class SubsetBuilder;
    SubsetSpec spec_;
    std::map<std::uint32_t, Table> tables_;
    int iterations_ = 0;
};

// Computes the subset `spec` asks for, on `conn` (a session inside the run's snapshot), over
// the tables whose rows `selection` moves. Throws UsageError naming where the condition was
// written and the server's message for a condition that is not valid SQL for its table, and
// for a pattern that matches no table of the catalogue; both before anything is written.
std::shared_ptr<const Subset> computeSubset(pg::Connection& conn, const pg::Catalog& catalog,
                                            const TableSelection& selection,
                                            const SubsetSpec& spec);

}  // namespace pgsluice::engine
