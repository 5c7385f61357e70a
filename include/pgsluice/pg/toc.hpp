#pragma once

// pg_dump archives' tables of contents: the entries `pg_restore --list --verbose` prints, and the
// restore lists (-L files) pgsluice writes to restore only part of an archive.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/pg/catalog.hpp"

namespace pgsluice::pg {

// One entry of `pg_restore --list --verbose`:
//   `dumpId; tableoid oid DESC NAMESPACE TAG OWNER`, then `;\tdepends on: 12 34` when it has
// dependencies. The columns are separated by single spaces that the names themselves may hold,
// so SCHEMA and TAG are only exact when the namespace and the owner have no space in them.
struct TocEntry {
    int dump_id = 0;
    uint32_t catalog_oid = 0;  // 1259 pg_class, 2606 pg_constraint...
    uint32_t oid = 0;
    std::string desc;    // INDEX, CONSTRAINT, FK CONSTRAINT, SEQUENCE OWNED BY, TABLE ATTACH...
    std::string schema;  // the namespace column, empty for "-"
    std::string tag;     // the name column: "orders", "orders orders_pkey", "f(integer, text)"
    std::vector<int> dependencies;  // dump ids of the entries this one depends on
    std::string line;               // the entry line as listed, for -L lists
};

// Parses the output of `pg_restore --list --verbose` (or plain --list: no dependencies). Skips
// comment lines other than "depends on"; throws FormatError naming the line for anything else
// that is not an entry.
std::vector<TocEntry> parseTocList(std::string_view text);

// The archive's entry `desc` (or "desc ..." in newer pg_dumps, e.g. BLOB METADATA) for `oid`,
// or null.
const TocEntry* findTocEntry(const std::vector<TocEntry>& toc, std::string_view desc, uint32_t oid);

// True when the archive's table of contents holds an entry `desc` for `oid`.
bool tocHas(const std::vector<TocEntry>& toc, std::string_view desc, uint32_t oid);

// The dump ids of the entries to leave out so that restoring the archive leaves out the
// relations `skipped` (by oid) and the schemas `schemas` (their SCHEMA entries and everything in
// them), and every entry that depends on one of those, transitively. The TABLE entry of a
// relation that is kept is never left out for a dependency: a partition whose parent is left
// out is restored as a plain table (its TABLE ATTACH is left out).
std::set<int> leftOutEntries(const std::vector<TocEntry>& toc, const std::set<uint32_t>& skipped,
                             const std::set<std::string>& schemas);

// The entries of `toc` not in `leave_out`, arranged to be restored by several pg_restore runs
// side by side (indexes into `toc`, in TOC order within each list):
// - `session`: what every run's list must start with (ENCODING, STDSTRINGS, SEARCHPATH: the
//   settings the archive's DDL is written for);
// - `waves`: every entry comes in a later wave than the entries it depends on, so the groups of
//   one wave can go to different runs. A group is an object with its comments, security labels
//   and privileges, which pg_restore restores only in the same run as the object.
struct RestoreWaves {
    std::vector<std::size_t> session;
    std::vector<std::vector<std::vector<std::size_t>>> waves;
};
RestoreWaves restoreWaves(const std::vector<TocEntry>& toc, const std::set<int>& leave_out);

// Writes the entries `entries` (indexes into `toc`) to `dir/name` as a pg_restore --use-list
// file; returns its path.
std::string writeRestoreSubset(const std::vector<TocEntry>& toc,
                               const std::vector<std::size_t>& entries, const std::string& dir,
                               const std::string& name);

// Writes every entry of `toc` to `dir/name` as a pg_restore --use-list file, those in
// `leave_out` commented out; returns the file's path. Throws Error when it cannot be written.
std::string writeRestoreList(const std::vector<TocEntry>& toc, const std::set<int>& leave_out,
                             const std::string& dir, const std::string& name);

// Writes the pg_restore list of the archive with the indexes and constraints the run builds
// itself (IndexDef of the catalog), the constraints in `drop_constraints` and the entries in
// `leave_out` commented out; returns the list file's path.
std::string writePostDataList(const std::vector<TocEntry>& toc, const Catalog& catalog,
                              const std::set<uint32_t>& drop_constraints,
                              const std::set<int>& leave_out, const std::string& dir);

}  // namespace pgsluice::pg
