#pragma once

// What a pgsluice archive says about itself, beyond the frames: two JSON manifests.
//
// - The contents manifest (manifest stream 0) is written after the schema and before any data,
//   so a restore reading from a pipe knows every table, column, index and unit before the first
//   row arrives.
// - The results manifest (manifest stream 1) is written after the last data unit: rows and an
//   order-independent digest per unit, sequence values, large-object totals.
//
// Both are parsed from untrusted bytes: anything malformed, of the wrong JSON type, out of range
// or inconsistent (duplicate unit ids, a unit naming no table...) is a FormatError naming the
// archive, never a crash. The archive's DDL (schema stream, index definitions) is trusted as
// much as a pg_dump archive is: restoring runs it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/copy/row_digest.hpp"
#include "pgsluice/pg/catalog.hpp"

namespace pgsluice::archive {

// The version of the manifests' JSON layout; a reader refuses any other.
inline constexpr int manifest_version = 1;

// Stream ids in the archive.
inline constexpr std::uint32_t schema_stream = 0;    // pg_dump custom format, pre+post-data
inline constexpr std::uint32_t contents_stream = 0;  // manifest: before the data
inline constexpr std::uint32_t results_stream = 1;   // manifest: after the data

// One work unit stored in the archive: a whole table or a ctid range of it.
struct ArchivedUnit {
    std::uint32_t id = 0;  // the data frames' unit id, unique in the archive
    int part = 0;          // 0-based
    int parts = 1;
    long long estimated_bytes = 0;  // on-disk size the planner gave it (for ordering restores)
};

// One table of the archive.
struct ArchivedTable {
    std::uint32_t oid = 0;  // the source oid: Contents::catalog's table and the schema TOC's
    bool with_data = true;  // false: the definition only (--exclude-table-data at dump)
    // COPY format of the data frames: "binary" when catalog's table is binary_safe, else "text".
    std::string format = "binary";
    std::vector<ArchivedUnit> units;             // empty when !with_data
    std::vector<std::string> rewritten_columns;  // columns rewritten by --rules at dump time
    // Its part in the dump's subset: "whole", "condition" or "follows parents" (absent in
    // manifests written before subsets existed: whole).
    std::string subset = "whole";
};

// The server and database the archive was taken from.
struct SourceInfo {
    std::string system_id;  // pg_control_system().system_identifier (restore's self guard)
    std::string host;
    std::string database;
    int server_version = 0;     // server_version_num
    std::string snapshot_time;  // ISO 8601 UTC, the snapshot's now()
};

// Manifest stream 0.
struct Contents {
    int version = manifest_version;
    std::string writer;  // "pgsluice 0.1.0"
    SourceInfo source;
    std::vector<std::string> selection;  // the dump's filter options as given ("-T", "audit.*")
    std::string rules_hash;              // of the --rules applied at dump time; empty: none
    // The subset the dump took, as given: "public.users: id % 100 = 0 (--subset)", and virtual
    // foreign keys as "virtual public.a(x) -> public.b(y)"; empty: every row of every table.
    std::vector<std::string> subset;
    int compression_level = 0;
    // Dump workers: at most this many units are open at once, interleaved in the stream; a
    // restore from a pipe needs at least this many connections.
    int jobs = 1;
    // What the dump selected: tables (with their columns, indexes, ancestors), sequences,
    // schemas, foreign keys, other relations and the large objects' oids.
    pg::Catalog catalog;
    std::vector<ArchivedTable> tables;  // one per catalog table, same order
    // The unit holding large-object chunks, when the archive has any.
    std::optional<std::uint32_t> large_object_unit;
};

// Rows and digest of one unit as the dump wrote it.
struct UnitResult {
    std::uint32_t id = 0;
    copy::RowDigest digest;       // digest.rows is the unit's row count
    std::uint64_t raw_bytes = 0;  // uncompressed payload bytes
};

// A sequence's value in the snapshot.
struct SequenceValue {
    std::uint32_t oid = 0;
    std::string qualified;
    std::string last_value;  // decimal text (bigint)
    bool is_called = false;
};

// Manifest stream 1.
struct Results {
    int version = manifest_version;
    std::vector<UnitResult> units;
    std::vector<SequenceValue> sequences;
    std::uint64_t large_objects = 0;
    std::uint64_t large_object_bytes = 0;
    std::string finished;  // ISO 8601 UTC
    double seconds = 0;    // the dump's wall time
};

// Large-object chunks as stored in the large-object unit's data frames: each record is
// u32 oid, u64 offset, u32 length (little-endian), then `length` bytes; one record per row.
struct LargeObjectChunk {
    std::uint32_t oid = 0;
    std::uint64_t offset = 0;
    std::string_view bytes;
};

// Appends one chunk record to `out`.
void appendLargeObjectChunk(std::string& out, const LargeObjectChunk& chunk);

// Calls on_chunk(const LargeObjectChunk&) for every record of a frame payload; throws
// FormatError naming `source` if the payload is not a whole number of valid records.
void forEachLargeObjectChunk(std::string_view payload, std::string_view source,
                             const std::function<void(const LargeObjectChunk&)>& on_chunk);

// JSON text of the manifests.
std::string toJson(const Contents& contents);
std::string toJson(const Results& results);

// Parses and checks a manifest; throws FormatError naming `source` (the archive) on anything
// malformed or inconsistent. Table::qualified is rebuilt from schema and name (always quoted),
// never taken from the archive.
Contents parseContents(std::string_view json, std::string_view source);
Results parseResults(std::string_view json, std::string_view source);

}  // namespace pgsluice::archive
