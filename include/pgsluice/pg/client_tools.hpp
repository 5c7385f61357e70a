#pragma once

// Which pg_dump and pg_restore a run uses: pg_dump must be at least the source server's major
// version (it refuses older ones, and an older pg_restore cannot read what a newer pg_dump
// wrote). The choice itself (chooseClientTools) is pure; findClientTools probes the candidates.

#include <string>
#include <string_view>
#include <vector>

namespace pgsluice::pg {

// A directory that may hold pg_dump and pg_restore, with the versions they report
// (server_version_num style, 170002 for 17.2; 0 when missing or unreadable).
struct ToolCandidate {
    std::string dir;     // empty: found on PATH by name
    std::string origin;  // where it came from: "--pg-bin", "PGSLUICE_PG_BIN", "PATH", ...
    int pg_dump_version = 0;
    int pg_restore_version = 0;
};

// The pg_dump and pg_restore a run uses.
struct ClientTools {
    std::string pg_dump;     // path, or "pg_dump" to be found on PATH
    std::string pg_restore;  // path, or "pg_restore"
    int version = 0;         // both report this version (server_version_num style)
    std::string origin;

    // "pg_dump 17.2 (/usr/lib/postgresql/17/bin/pg_dump, from /usr/lib/postgresql)".
    std::string describe() const;
};

// The version in `pg_dump --version` output ("pg_dump (PostgreSQL) 17.2 (Debian ...)" gives
// 170002, "9.6.24" gives 90624, "18beta1" gives 180000); 0 when there is none.
int parseToolVersion(std::string_view version_output);

// The major version of a server_version_num: 17 for 170002, 906 for 90624 (9.6).
int majorVersion(int version_num);

// The major version as people write it: "17", "9.6".
std::string majorName(int version_num);

// The first candidate whose pg_dump and pg_restore are both at least `needed_version`'s major
// version (and pg_restore at least pg_dump's). Candidates are in order of preference. Throws
// UsageError naming the version needed, what was found, and the Debian package that provides
// it (postgresql-client-N) when none fits. `what_needs` says why ("the source server is 17.2").
ClientTools chooseClientTools(const std::vector<ToolCandidate>& candidates, int needed_version,
                              const std::string& what_needs);

// The candidates, in order: `pg_bin_option` (--pg-bin) alone when given, else PGSLUICE_PG_BIN
// (or the older PGSLUICE_PG_BINDIR) alone when set, else pg_dump on PATH, then
// /usr/lib/postgresql/*/bin newest first; each probed with --version.
std::vector<ToolCandidate> findToolCandidates(const std::string& pg_bin_option);

// chooseClientTools(findToolCandidates(pg_bin_option), ...).
ClientTools findClientTools(const std::string& pg_bin_option, int needed_version,
                            const std::string& what_needs);

}  // namespace pgsluice::pg
