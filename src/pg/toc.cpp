#include "pgsluice/pg/toc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <unordered_map>

#include "pgsluice/error.hpp"

namespace pgsluice::pg {

namespace {

// System catalogue OIDs of the entries' tableoid column.
constexpr uint32_t kPgClass = 1259;
constexpr uint32_t kPgConstraint = 2606;

// Every entry description pg_dump writes (ArchiveEntry's .description, pg_dump 15 to 18).
// Several are a word followed by more words, so the longest that matches wins.
constexpr std::string_view kDescriptions[] = {
    "ACCESS METHOD",
    "ACL",
    "AGGREGATE",
    "BLOB",
    "BLOB COMMENTS",
    "BLOB METADATA",
    "BLOBS",
    "CAST",
    "CHECK CONSTRAINT",
    "COLLATION",
    "COMMENT",
    "CONSTRAINT",
    "CONVERSION",
    "DATABASE",
    "DATABASE PROPERTIES",
    "DEFAULT",
    "DEFAULT ACL",
    "DOMAIN",
    "ENCODING",
    "EVENT TRIGGER",
    "EXTENSION",
    "FK CONSTRAINT",
    "FOREIGN DATA WRAPPER",
    "FOREIGN SERVER",
    "FOREIGN TABLE",
    "FUNCTION",
    "INDEX",
    "INDEX ATTACH",
    "LARGE OBJECT",
    "LARGE OBJECTS",
    "MATERIALIZED VIEW",
    "MATERIALIZED VIEW DATA",
    "OPERATOR",
    "OPERATOR CLASS",
    "OPERATOR FAMILY",
    "POLICY",
    "PROCEDURAL LANGUAGE",
    "PROCEDURE",
    "PUBLICATION",
    "PUBLICATION TABLE",
    "PUBLICATION TABLES IN SCHEMA",
    "ROW SECURITY",
    "RULE",
    "SCHEMA",
    "SEARCHPATH",
    "SECURITY LABEL",
    "SEQUENCE",
    "SEQUENCE OWNED BY",
    "SEQUENCE SET",
    "SERVER",
    "SHELL TYPE",
    "STATISTICS",
    "STATISTICS DATA",
    "STDSTRINGS",
    "SUBSCRIPTION",
    "SUBSCRIPTION TABLE",
    "TABLE",
    "TABLE ATTACH",
    "TABLE DATA",
    "TEXT SEARCH CONFIGURATION",
    "TEXT SEARCH DICTIONARY",
    "TEXT SEARCH PARSER",
    "TEXT SEARCH TEMPLATE",
    "TRANSFORM",
    "TRIGGER",
    "TYPE",
    "USER MAPPING",
    "VIEW",
};

// Reads a decimal number at the start of `text` into `value` and drops it from `text`.
template <typename T>
bool takeNumber(std::string_view& text, T& value) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) {
        return false;
    }
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    return true;
}

// Drops `prefix` from the start of `text`; false when `text` does not start with it.
bool takePrefix(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

// Fills `e` from an entry line `dumpId; tableoid oid DESC NAMESPACE TAG OWNER`; false when the
// line does not have that shape.
bool parseEntryLine(std::string_view line, TocEntry& e) {
    std::string_view rest = line;
    if (!takeNumber(rest, e.dump_id) || e.dump_id <= 0 || !takePrefix(rest, "; ") ||
        !takeNumber(rest, e.catalog_oid) || !takePrefix(rest, " ") || !takeNumber(rest, e.oid) ||
        !takePrefix(rest, " ") || rest.empty()) {
        return false;
    }
    std::string_view desc;
    for (std::string_view d : kDescriptions) {
        if (d.size() > desc.size() && rest.starts_with(d) &&
            (rest.size() == d.size() || rest[d.size()] == ' ')) {
            desc = d;
        }
    }
    if (desc.empty()) {
        // A description newer than this list: assume one word.
        desc = rest.substr(0, rest.find(' '));
    }
    e.desc = desc;
    rest.remove_prefix(desc.size());
    takePrefix(rest, " ");
    // pg_restore prints "-" for no namespace and nothing at all for no owner, so the line ends
    // with the space that follows the tag.
    size_t space = rest.find(' ');
    std::string_view schema = rest.substr(0, space);
    e.schema = schema == "-" ? "" : std::string(schema);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    e.tag = rest.substr(0, rest.rfind(' '));
    e.line = line;
    return true;
}

// Reads the dump ids of a ";\tdepends on: 12 34" line into `deps`; false when `line` is
// another comment. Throws FormatError when the ids cannot be read.
bool parseDependsLine(std::string_view line, size_t line_no, std::vector<int>& deps) {
    std::string_view rest = line.substr(1);
    while (!rest.empty() && (rest.front() == '\t' || rest.front() == ' ')) {
        rest.remove_prefix(1);
    }
    if (!takePrefix(rest, "depends on:")) {
        return false;
    }
    while (!rest.empty()) {
        int id = 0;
        if (!takePrefix(rest, " ") || !takeNumber(rest, id) || id <= 0) {
            throw FormatError(
                fmt::format("line {} is not a list of dump ids: `{}`", line_no, line));
        }
        deps.push_back(id);
    }
    return true;
}

}  // namespace

std::vector<TocEntry> parseTocList(std::string_view text) {
    std::vector<TocEntry> entries;
    // A depends line belongs to the entry line right above it.
    bool after_entry = false;
    size_t line_no = 0;
    while (!text.empty()) {
        size_t eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++line_no;
        if (line.empty()) {
            after_entry = false;
            continue;
        }
        if (line.front() == ';') {
            std::vector<int> deps;
            if (parseDependsLine(line, line_no, deps)) {
                if (!after_entry) {
                    throw FormatError(
                        fmt::format("line {} lists dependencies but follows no entry", line_no));
                }
                auto& target = entries.back().dependencies;
                target.insert(target.end(), deps.begin(), deps.end());
            }
            after_entry = false;
            continue;
        }
        TocEntry e;
        if (!parseEntryLine(line, e)) {
            throw FormatError(
                fmt::format("line {} is not a table of contents entry: `{}`", line_no, line));
        }
        entries.push_back(std::move(e));
        after_entry = true;
    }
    return entries;
}

std::set<int> leftOutEntries(const std::vector<TocEntry>& toc, const std::set<uint32_t>& skipped,
                             const std::set<std::string>& schemas) {
    std::set<int> out;
    std::vector<const TocEntry*> queue;
    for (const auto& e : toc) {
        // pg_dump 15 lists no SCHEMA entry for a default public schema and so no dependency on
        // it: the namespace column finds that schema's objects.
        if ((e.catalog_oid == kPgClass && skipped.count(e.oid)) ||
            (e.desc == "SCHEMA" && schemas.count(e.tag)) || schemas.count(e.schema)) {
            if (out.insert(e.dump_id).second) {
                queue.push_back(&e);
            }
        }
    }
    std::unordered_map<int, std::vector<const TocEntry*>> dependents;
    std::unordered_map<int, const TocEntry*> by_id;
    for (const auto& e : toc) {
        by_id.emplace(e.dump_id, &e);
        for (int d : e.dependencies) {
            dependents[d].push_back(&e);
        }
    }
    // A kept table's CREATE TABLE stands alone in pg_dump 15 (partitions are attached by a
    // TABLE ATTACH entry of their own): its dependency on a parent only orders the entries.
    auto kept_table = [&](const TocEntry& e) {
        return e.catalog_oid == kPgClass && (e.desc == "TABLE" || e.desc == "FOREIGN TABLE") &&
               !skipped.count(e.oid);
    };
    auto leave_out = [&](const TocEntry& e) {
        if (!kept_table(e) && out.insert(e.dump_id).second) {
            queue.push_back(&e);
        }
    };
    while (!queue.empty()) {
        const TocEntry* e = queue.back();
        queue.pop_back();
        if (auto it = dependents.find(e->dump_id); it != dependents.end()) {
            for (const TocEntry* d : it->second) {
                leave_out(*d);
            }
        }
        // The owned sequence of a table that is left out goes too. pg_dump 15 makes the
        // SEQUENCE depend on its table, so this only matters if OWNED BY alone says it.
        if (e->desc == "SEQUENCE OWNED BY") {
            for (int d : e->dependencies) {
                if (auto it = by_id.find(d); it != by_id.end() && it->second->desc == "SEQUENCE") {
                    leave_out(*it->second);
                }
            }
        }
    }
    return out;
}

RestoreWaves restoreWaves(const std::vector<TocEntry>& toc, const std::set<int>& leave_out) {
    auto is = [](const TocEntry& e, std::initializer_list<std::string_view> descs) {
        return std::find(descs.begin(), descs.end(), e.desc) != descs.end();
    };
    std::unordered_map<int, std::size_t> position;
    for (std::size_t i = 0; i < toc.size(); ++i) {
        position.emplace(toc[i].dump_id, i);
    }
    RestoreWaves out;
    // pg_dump sorts its entries so that each comes after what it depends on: one pass in TOC
    // order sees every dependency's wave before the dependent entry. A dependency listed later
    // (which a damaged list could have) is taken as already done rather than looped on.
    std::vector<int> wave(toc.size(), -1);
    std::vector<std::pair<std::size_t, std::size_t>> group_of(toc.size());  // wave, group
    for (std::size_t i = 0; i < toc.size(); ++i) {
        const TocEntry& e = toc[i];
        if (leave_out.count(e.dump_id)) {
            continue;
        }
        if (is(e, {"ENCODING", "STDSTRINGS", "SEARCHPATH"})) {
            out.session.push_back(i);
            continue;
        }
        if (is(e, {"COMMENT", "SECURITY LABEL", "ACL"}) && !e.dependencies.empty()) {
            auto it = position.find(e.dependencies.front());
            if (it != position.end() && it->second < i && wave[it->second] >= 0) {
                // With its object, in the same run.
                auto [w, g] = group_of[it->second];
                wave[i] = wave[it->second];
                group_of[i] = {w, g};
                out.waves[w][g].push_back(i);
                continue;
            }
        }
        int w = 0;
        for (int dep : e.dependencies) {
            if (auto it = position.find(dep); it != position.end() && it->second < i) {
                w = std::max(w, wave[it->second] + 1);
            }
        }
        wave[i] = w;
        if (out.waves.size() <= static_cast<std::size_t>(w)) {
            out.waves.resize(static_cast<std::size_t>(w) + 1);
        }
        auto& groups = out.waves[static_cast<std::size_t>(w)];
        group_of[i] = {static_cast<std::size_t>(w), groups.size()};
        groups.push_back({i});
    }
    return out;
}

std::string writeRestoreSubset(const std::vector<TocEntry>& toc,
                               const std::vector<std::size_t>& entries, const std::string& dir,
                               const std::string& name) {
    std::string path = dir + "/" + name;
    std::ofstream out(path);
    for (std::size_t i : entries) {
        out << toc[i].line << "\n";
    }
    out.close();
    if (!out) {
        throw Error(fmt::format("cannot write {}", path));
    }
    return path;
}

std::string writeRestoreList(const std::vector<TocEntry>& toc, const std::set<int>& leave_out,
                             const std::string& dir, const std::string& name) {
    std::string path = dir + "/" + name;
    std::ofstream out(path);
    for (const auto& e : toc) {
        out << (leave_out.count(e.dump_id) ? ";" : "") << e.line << "\n";
    }
    out.close();
    if (!out) {
        throw Error(fmt::format("cannot write {}", path));
    }
    return path;
}

std::string writePostDataList(const std::vector<TocEntry>& toc, const Catalog& catalog,
                              const std::set<uint32_t>& drop_constraints,
                              const std::set<int>& leave_out, const std::string& dir) {
    std::set<uint32_t> indexes;
    std::set<uint32_t> constraints = drop_constraints;
    for (const auto& t : catalog.tables) {
        for (const auto& idx : t.indexes) {
            indexes.insert(idx.index_oid);
            if (idx.constraint_oid) {
                constraints.insert(idx.constraint_oid);
            }
        }
    }
    std::set<int> commented = leave_out;
    for (const auto& e : toc) {
        if ((e.catalog_oid == kPgClass && indexes.count(e.oid)) ||
            (e.catalog_oid == kPgConstraint && constraints.count(e.oid))) {
            commented.insert(e.dump_id);
        }
    }
    return writeRestoreList(toc, commented, dir, "post-data.list");
}

const TocEntry* findTocEntry(const std::vector<TocEntry>& toc, std::string_view desc,
                             uint32_t oid) {
    for (const auto& e : toc) {
        if (e.oid == oid && e.desc.rfind(desc, 0) == 0 &&
            (e.desc.size() == desc.size() || e.desc[desc.size()] == ' ')) {
            return &e;
        }
    }
    return nullptr;
}

bool tocHas(const std::vector<TocEntry>& toc, std::string_view desc, uint32_t oid) {
    return findTocEntry(toc, desc, oid) != nullptr;
}

}  // namespace pgsluice::pg
