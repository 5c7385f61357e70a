#pragma once

// The live progress display on a terminal, as text: pure functions of the counters, so the
// layout can be tested without one. engine::Progress draws it in place.

#include <string>
#include <vector>

namespace pgsluice::engine {

// A table being loaded, as the live display shows it.
struct LiveTable {
    std::string name;
    long long bytes = 0;            // COPY bytes so far
    long long estimated_bytes = 0;  // its size on the source (0: unknown)
    int parts_done = 0;
    int parts = 1;
};

// The whole run, for the totals line.
struct LiveTotals {
    int tables_done = 0;
    int tables = 0;
    long long bytes = 0;
    double fraction = 0;          // of the plan's estimate, 0..1
    double bytes_per_second = 0;  // averaged since the start
    double eta_seconds = -1;      // -1: not known yet
    int indexes_built = 0;
    int indexes = 0;
    std::string verb = "copied";
};

// "[#########-----------]" with `fraction` (clamped to 0..1) of `width` characters filled.
std::string progressBar(double fraction, int width);

// The lines of the live display, each at most `columns` characters (at least 20): one per
// running table (at most `max_tables`, then "... and N more"), then the totals line with a bar,
// MB/s and the ETA, and the indexes built.
std::vector<std::string> liveLines(const std::vector<LiveTable>& running, const LiveTotals& totals,
                                   int columns, int max_tables);

// The escape sequence that takes the cursor from the end of a display of `lines` lines back to
// its first column and erases it ("" when nothing is shown).
std::string eraseLive(int lines);

}  // namespace pgsluice::engine
