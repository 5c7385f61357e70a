#include "pgsluice/engine/inspect_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "pgsluice/engine/inspection.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::engine {

namespace {

using archive::ArchivedTable;
using archive::ArchivedUnit;
using archive::FrameType;
using archive::IndexEntry;
using archive::UnitResult;
using nlohmann::ordered_json;

// The strings of a report come from the archive: control characters are shown escaped so that
// they cannot move the terminal's cursor or change its colours.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

// A JSON string, or `absent` for null; escaped for the terminal.
std::string textOf(const ordered_json& value, const std::string& absent = "-") {
    if (value.is_null()) {
        return absent;
    }
    if (value.is_string()) {
        return printable(value.get<std::string>());
    }
    return value.dump();
}

// A JSON byte count for people, or "-" for null.
std::string bytesOf(const ordered_json& value) {
    return value.is_null() ? "-" : util::formatBytes(value.get<double>());
}

// "1 frame" / "2 frames".
std::string plural(std::uint64_t count, const char* word) {
    return fmt::format("{} {}{}", count, word, count == 1 ? "" : "s");
}

}  // namespace

std::string formatServerVersion(int server_version_num) {
    const int v = server_version_num;
    if (v <= 0) {
        return "unknown";
    }
    if (v >= 100000) {
        return fmt::format("{}.{}", v / 10000, v % 10000);
    }
    return fmt::format("{}.{}.{}", v / 10000, v / 100 % 100, v % 100);
}

std::string formatUnixMicros(std::int64_t micros) {
    // Floor division, so that times before 1970 get a non-negative fraction.
    std::int64_t seconds = micros / 1000000;
    std::int64_t fraction = micros % 1000000;
    if (fraction < 0) {
        fraction += 1000000;
        --seconds;
    }
    const auto time = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (::gmtime_r(&time, &tm) == nullptr || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        return fmt::format("{} microseconds after 1970-01-01T00:00:00Z", micros);
    }
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fraction);
}

namespace {

// Builds the report: cross-checks the contents manifest, the results manifest and the frames,
// collecting what disagrees in `problems`.
class ReportBuilder {
  public:
    ReportBuilder(const ArchiveFacts& facts, const archive::Contents& contents,
                  const archive::Results* results)
        : facts_(facts), contents_(contents), results_(results), units_(unitsOf(facts.frames)) {
        if (results_ != nullptr) {
            for (const UnitResult& r : results_->units) {
                unit_results_.emplace(r.id, &r);
            }
        } else {
            problems_.push_back(
                "the results manifest (manifest stream 1, written after the data) is missing, "
                "so row counts and checksums are unknown");
        }
    }

    ordered_json build();

  private:
    // Totals over the tables.
    struct Totals {
        std::size_t tables_with_data = 0;
        std::uint64_t units = 0;
        std::uint64_t rows = 0;
        std::uint64_t raw = 0;
        std::uint64_t stored = 0;
    };
    // Frame counts by type.
    struct FrameCounts {
        std::uint64_t schema_raw = 0;
        std::uint64_t schema_stored = 0;
        std::uint64_t schema = 0;
        std::uint64_t data = 0;
        std::uint64_t unit_end = 0;
        std::uint64_t manifest = 0;
    };

    ordered_json tableEntry(const ArchivedTable& table, Totals& totals);
    ordered_json largeObjects();
    void checkUnclaimed();
    FrameCounts countFrames() const;

    const ArchiveFacts& facts_;
    const archive::Contents& contents_;
    const archive::Results* results_;
    const std::map<std::uint32_t, UnitFrames> units_;
    std::map<std::uint32_t, const UnitResult*> unit_results_;
    std::vector<std::string> problems_;
    std::set<std::uint32_t> claimed_;  // units the contents account for
};

// One table's line, checking each of its units against the frames and the results.
ordered_json ReportBuilder::tableEntry(const ArchivedTable& table, Totals& totals) {
    const std::string name = tableName(contents_, table);
    copy::RowDigest digest;
    std::uint64_t raw = 0;
    std::uint64_t stored = 0;
    std::uint64_t attempts = 0;  // over the units (a retried unit counts each attempt)
    bool retried = false;
    bool digest_known = results_ != nullptr;
    for (const ArchivedUnit& unit : table.units) {
        claimed_.insert(unit.id);
        const auto frames = units_.find(unit.id);
        attempts += frames == units_.end() ? 1 : frames->second.attempts;
        retried = retried || (frames != units_.end() && frames->second.attempts > 1);
        if (frames == units_.end() || !frames->second.closed) {
            problems_.push_back(
                fmt::format("table {}: unit {} is not in the archive", name, unit.id));
        } else {
            raw += frames->second.raw_bytes;
            stored += frames->second.stored_bytes;
        }
        if (results_ == nullptr) {
            continue;
        }
        const auto result = unit_results_.find(unit.id);
        if (result == unit_results_.end()) {
            problems_.push_back(fmt::format(
                "table {}: unit {} has no entry in the results manifest", name, unit.id));
            digest_known = false;
            continue;
        }
        digest.add(result->second->digest);
        if (frames != units_.end() && frames->second.rows != result->second->digest.rows) {
            problems_.push_back(fmt::format(
                "table {}: unit {} holds {} rows in its frames, the results manifest says {}", name,
                unit.id, frames->second.rows, result->second->digest.rows));
        }
    }
    if (table.with_data) {
        ++totals.tables_with_data;
    }
    totals.units += table.units.size();
    totals.rows += digest.rows;
    totals.raw += raw;
    totals.stored += stored;
    const bool known = table.with_data && digest_known;
    ordered_json entry = {{"table", name},
                          {"action", table.with_data ? "data" : "schema only"},
                          {"format", table.with_data ? ordered_json(table.format) : nullptr},
                          {"units", table.units.size()},
                          {"rows", known ? ordered_json(digest.rows) : nullptr},
                          {"raw_bytes", raw},
                          {"stored_bytes", stored},
                          {"checksum", known ? ordered_json(digest.hex()) : nullptr}};
    if (table.subset != "whole") {
        entry["subset"] = table.subset;  // only in a subset dump, and not for whole tables
    }
    if (retried) {
        // Only for a table with a retried unit, so that the usual report does not change: the
        // attempts of all its units, the abandoned ones included (their frames are void).
        entry["attempts"] = attempts;
    }
    return entry;
}

ordered_json ReportBuilder::largeObjects() {
    ordered_json large_objects = {
        {"count", results_ ? ordered_json(results_->large_objects) : nullptr},
        {"bytes", results_ ? ordered_json(results_->large_object_bytes) : nullptr},
        {"unit", nullptr},
        {"raw_bytes", 0},
        {"stored_bytes", 0},
    };
    if (contents_.large_object_unit) {
        const std::uint32_t id = *contents_.large_object_unit;
        claimed_.insert(id);
        large_objects["unit"] = id;
        const auto frames = units_.find(id);
        if (frames == units_.end() || !frames->second.closed) {
            problems_.push_back(fmt::format("the large-object unit {} is not in the archive", id));
        } else {
            large_objects["raw_bytes"] = frames->second.raw_bytes;
            large_objects["stored_bytes"] = frames->second.stored_bytes;
        }
        if (frames != units_.end() && frames->second.attempts > 1) {
            large_objects["attempts"] = frames->second.attempts;
        }
    }
    return large_objects;
}

// Units in the frames or the results that no table of the contents claims.
void ReportBuilder::checkUnclaimed() {
    for (const auto& [id, frames] : units_) {
        if (!claimed_.count(id)) {
            problems_.push_back(
                fmt::format("data unit {} ({}) belongs to no table of the contents manifest", id,
                            plural(frames.rows, "row")));
        }
    }
    if (results_ != nullptr) {
        for (const UnitResult& r : results_->units) {
            if (!claimed_.count(r.id)) {
                problems_.push_back(fmt::format(
                    "the results manifest lists unit {}, which the contents manifest does not",
                    r.id));
            }
        }
    }
}

ReportBuilder::FrameCounts ReportBuilder::countFrames() const {
    FrameCounts n;
    for (const IndexEntry& entry : facts_.frames) {
        switch (entry.header.type) {
            case FrameType::schema:
                ++n.schema;
                n.schema_raw += entry.header.raw_length;
                n.schema_stored += entry.header.stored_length;
                break;
            case FrameType::data:
                ++n.data;
                break;
            case FrameType::unit_end:
                ++n.unit_end;
                break;
            case FrameType::manifest:
                ++n.manifest;
                break;
            case FrameType::footer:
                break;
        }
    }
    return n;
}

ordered_json ReportBuilder::build() {
    ordered_json tables = ordered_json::array();
    Totals totals;
    for (const ArchivedTable& table : contents_.tables) {
        tables.push_back(tableEntry(table, totals));
    }
    ordered_json large_objects = largeObjects();
    checkUnclaimed();
    const FrameCounts frames = countFrames();
    const archive::Results* results = results_;
    const archive::Contents& contents = contents_;
    const std::string status =
        results == nullptr ? "incomplete" : (problems_.empty() ? "complete" : "damaged");
    ordered_json filters = ordered_json::array();
    for (const std::string& f : contents.selection) {
        filters.push_back(f);
    }
    return {
        {"file",
         {{"name", facts_.name},
          {"size_bytes", facts_.size},
          {"format_version", facts_.header.version},
          {"writer", facts_.header.writer},
          {"created", formatUnixMicros(facts_.header.created_unix_micros)},
          {"io", facts_.io_backend},
          {"read", facts_.seekable ? "footer index" : "sequential"}}},
        {"source",
         {{"host", contents.source.host},
          {"database", contents.source.database},
          {"server_version", formatServerVersion(contents.source.server_version)},
          {"server_version_num", contents.source.server_version},
          {"system_id", contents.source.system_id},
          {"snapshot_time", contents.source.snapshot_time}}},
        {"dump",
         {{"filters", filters},
          {"rules_hash",
           contents.rules_hash.empty() ? ordered_json(nullptr) : ordered_json(contents.rules_hash)},
          {"subset", contents.subset},
          {"compression_level", contents.compression_level},
          {"jobs", contents.jobs},
          {"finished", results ? ordered_json(results->finished) : nullptr},
          {"seconds", results ? ordered_json(results->seconds) : nullptr}}},
        {"tables", tables},
        {"totals",
         {{"tables", contents.tables.size()},
          {"tables_with_data", totals.tables_with_data},
          {"units", totals.units},
          {"rows", results ? ordered_json(totals.rows) : nullptr},
          {"raw_bytes", totals.raw},
          {"stored_bytes", totals.stored}}},
        {"schema",
         {{"raw_bytes", frames.schema_raw},
          {"stored_bytes", frames.schema_stored},
          {"frames", frames.schema}}},
        {"sequences", results ? results->sequences.size() : contents.catalog.sequences.size()},
        {"large_objects", large_objects},
        {"frames",
         {{"total", facts_.frames.size()},
          {"data", frames.data},
          {"unit_end", frames.unit_end},
          {"schema", frames.schema},
          {"manifest", frames.manifest}}},
        {"status", status},
        {"payloads_verified", facts_.payloads_verified},
        {"problems", problems_},
    };
}

}  // namespace

ordered_json buildInspectReport(const ArchiveFacts& facts, const archive::Contents& contents,
                                const archive::Results* results) {
    return ReportBuilder(facts, contents, results).build();
}

namespace {

// The tables of the report as aligned columns, sized to their widest cell.
std::string tableText(const ordered_json& report) {
    std::string out;
    const std::vector<std::string> heads = {"table", "action", "format", "units",
                                            "rows",  "raw",    "stored", "checksum"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : report["tables"]) {
        const bool data = t["action"] == "data";
        const std::string action = t.contains("subset")
                                       ? fmt::format("data, subset: {}", textOf(t["subset"]))
                                       : textOf(t["action"]);
        rows.push_back({textOf(t["table"]), action, textOf(t["format"]), textOf(t["units"]),
                        textOf(t["rows"]), data ? bytesOf(t["raw_bytes"]) : "-",
                        data ? bytesOf(t["stored_bytes"]) : "-", textOf(t["checksum"])});
    }
    const ordered_json& totals = report["totals"];
    rows.push_back({fmt::format("total: {} tables, {} with data", textOf(totals["tables"]),
                                textOf(totals["tables_with_data"])),
                    "", "", textOf(totals["units"]), textOf(totals["rows"]),
                    bytesOf(totals["raw_bytes"]), bytesOf(totals["stored_bytes"]), ""});
    std::vector<std::size_t> widths;
    for (const auto& h : heads) {
        widths.push_back(h.size());
    }
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            widths[i] = std::max(widths[i], r[i].size());
        }
    }
    const auto row = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            // Names and words left, numbers right.
            const bool right = i >= 3 && i <= 6;
            text += right ? fmt::format("{:>{}}  ", cells[i], widths[i])
                          : fmt::format("{:<{}}  ", cells[i], widths[i]);
        }
        text.erase(text.find_last_not_of(' ') + 1);
        out += text + "\n";
    };
    out += "\n";
    row(heads);
    for (const auto& r : rows) {
        row(r);
    }
    out += "\n";

    return out;
}

}  // namespace

std::string formatInspectText(const ordered_json& report) {
    const ordered_json& file = report["file"];
    const ordered_json& source = report["source"];
    const ordered_json& dump = report["dump"];
    std::string out;
    const auto line = [&out](std::string_view label, const std::string& value) {
        out += fmt::format("{:<14}{}\n", label, value);
    };

    line("archive", fmt::format("{} ({} bytes)", textOf(file["name"]), textOf(file["size_bytes"])));
    line("format", fmt::format("version {}, written by {} at {}", textOf(file["format_version"]),
                               textOf(file["writer"]), textOf(file["created"])));
    line("read", fmt::format("{}, {} I/O{}", textOf(file["read"]), textOf(file["io"]),
                             file["read"] == "footer index" ? " (positional reads)" : ""));
    line("source", fmt::format("host {}, database {}, PostgreSQL {}", textOf(source["host"]),
                               textOf(source["database"]), textOf(source["server_version"])));
    line("snapshot", textOf(source["snapshot_time"]));
    std::string filters;
    for (const auto& f : dump["filters"]) {
        filters += (filters.empty() ? "" : " ") + textOf(f);
    }
    line("filters", filters.empty() ? "none (the whole database)" : filters);
    line("rules hash", textOf(dump["rules_hash"], "none"));
    for (const auto& s : dump["subset"]) {
        line("subset", textOf(s));
    }
    line("compression", fmt::format("zstd level {}, {} jobs", textOf(dump["compression_level"]),
                                    textOf(dump["jobs"])));
    if (!dump["finished"].is_null()) {
        line("finished", fmt::format("{} after {:.1f} s", textOf(dump["finished"]),
                                     dump["seconds"].get<double>()));
    }

    out += tableText(report);
    for (const auto& t : report["tables"]) {
        if (t.contains("attempts")) {
            const auto attempts = t["attempts"].get<std::uint64_t>();
            const auto units = t["units"].get<std::uint64_t>();
            line("retried", fmt::format("table {}: {} for {} ({} abandoned, their frames void)",
                                        textOf(t["table"]), plural(attempts, "attempt"),
                                        plural(units, "unit"), attempts - units));
        }
    }

    const ordered_json& schema = report["schema"];
    line("schema", fmt::format("{} ({} stored, {})", bytesOf(schema["raw_bytes"]),
                               bytesOf(schema["stored_bytes"]),
                               plural(schema["frames"].get<std::uint64_t>(), "frame")));
    line("sequences", textOf(report["sequences"]));
    const ordered_json& lo = report["large_objects"];
    std::string large = fmt::format("{} ({})", textOf(lo["count"]), bytesOf(lo["bytes"]));
    if (!lo["unit"].is_null()) {
        large +=
            fmt::format(" in unit {}, {} stored", textOf(lo["unit"]), bytesOf(lo["stored_bytes"]));
    }
    if (lo.contains("attempts")) {
        large += fmt::format(", {} (the frames of the earlier ones are void)",
                             plural(lo["attempts"].get<std::uint64_t>(), "attempt"));
    }
    line("large objects", large);
    const ordered_json& frames = report["frames"];
    line("frames",
         fmt::format("{} data, {} unit-end, {} schema, {} manifest; {} in all + footer",
                     textOf(frames["data"]), textOf(frames["unit_end"]), textOf(frames["schema"]),
                     textOf(frames["manifest"]), textOf(frames["total"])));
    line("status", textOf(report["status"]));
    const bool verified = report["payloads_verified"].get<bool>();
    if (file["read"] == "footer index") {
        line("checked", verified ? "trailer, footer index and every frame's checksum"
                                 : "trailer, footer index and manifests; data and schema frames "
                                   "not re-read (--verify reads them)");
    } else {
        line("checked", "every frame's checksum, footer index and trailer, read to the end");
    }
    for (const auto& p : report["problems"]) {
        line("problem", textOf(p));
    }
    return out;
}

}  // namespace pgsluice::engine
