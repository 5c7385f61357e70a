#include "pgsluice/engine/archive_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "pgsluice/engine/runner.hpp"
#include "pgsluice/engine/verify.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/pg/snapshot.hpp"
#include "pgsluice/util/sizes.hpp"

namespace pgsluice::engine {

ServerIdentity ArchiveSource::open() {
    input_ = archive::ArchiveInput::open(path_, io_, archive::Access::best,
                                         "pgsluice dump -f - ... | pgsluice restore -f - ...");
    readHead();
    run_.progress().info(fmt::format("reading {} ({}, {})", input_.name,
                                     input_.file ? "seekable: units load in any order" : "a stream",
                                     input_.file ? "footer index" : input_.stream->backendName()),
                         true);
    const archive::SourceInfo& s = contents_.source;
    return {s.system_id, s.database, s.host};
}

// The schema and the contents manifest: everything that comes before the data.
void ArchiveSource::readHead() {
    std::string contents;
    try {
        if (input_.file) {
            archive::FrameDecoder decoder;
            schema_ =
                input_.file->readBlob(archive::FrameType::schema, archive::schema_stream, decoder);
            contents = input_.file->readBlob(archive::FrameType::manifest, archive::contents_stream,
                                             decoder);
            results_ =
                archive::parseResults(input_.file->readBlob(archive::FrameType::manifest,
                                                            archive::results_stream, decoder),
                                      input_.name);
        } else {
            archive::Frame frame;
            for (;;) {
                if (!input_.stream->next(frame)) {
                    throw FormatError(fmt::format(
                        "{} ends before its contents manifest: it is not a pgsluice dump",
                        input_.name));
                }
                if (frame.header.type == archive::FrameType::schema) {
                    schema_.append(frame.payload);
                } else if (frame.header.type == archive::FrameType::manifest &&
                           frame.header.unit == archive::contents_stream) {
                    contents.append(frame.payload);
                    if (frame.header.final()) {
                        break;
                    }
                } else {
                    throw FormatError(fmt::format(
                        "{}: {} at byte {} comes before the contents manifest: not a pgsluice "
                        "dump",
                        input_.name, archive::describeFrame(frame.header), frame.offset));
                }
            }
        }
    } catch (const FormatError&) {
        throw;
    } catch (const Error& e) {
        throw FormatError(fmt::format("{}: {} (is it a pgsluice dump?)", input_.name, e.what()));
    }
    contents_ = archive::parseContents(contents, input_.name);
}

std::string ArchiveSource::describe() {
    const archive::SourceInfo& s = contents_.source;
    return fmt::format("archive {} (database {} on {}, snapshot of {}, written by {})", input_.name,
                       s.database, s.host, s.snapshot_time, contents_.writer);
}

std::set<uint32_t> ArchiveSource::tablesWithoutData() {
    std::set<uint32_t> out;
    for (const auto& t : contents_.tables) {
        if (!t.with_data) {
            out.insert(t.oid);
        }
    }
    return out;
}

Plan ArchiveSource::plan(const Prepared& prepared) {
    const TableSelection& selection = prepared.selection;
    if (!prepared.subset.empty()) {
        run_.progress().warn(
            "restore loads the rows the archive holds: a subset is taken when dumping, and "
            "the one given here is not applied");
    }
    Plan plan;
    const pg::Catalog& catalog = contents_.catalog;
    for (size_t i = 0; i < catalog.tables.size(); ++i) {
        const pg::Table& table = catalog.tables[i];
        const archive::ArchivedTable& archived = contents_.tables[i];
        if (selection.skip.count(table.oid) || !table.holdsData()) {
            continue;
        }
        PlannedTable pt{&table, !selection.schema_only.count(table.oid),
                        std::max<int>(1, static_cast<int>(archived.units.size()))};
        if (pt.with_data && archived.units.empty()) {
            throw FormatError(
                fmt::format("{}: table {} has data but no units", input_.name, table.qualified));
        }
        size_t index = plan.tables.size();
        plan.tables.push_back(pt);
        if (!pt.with_data) {
            continue;
        }
        for (const auto& u : archived.units) {
            long long bytes = std::max(0LL, u.estimated_bytes);
            if (input_.file) {
                const archive::UnitInfo* info = input_.file->findUnit(u.id);
                if (!info) {
                    throw FormatError(fmt::format("{}: the data of table {} (unit {}) is missing",
                                                  input_.name, table.qualified, u.id));
                }
                bytes = static_cast<long long>(info->raw_bytes);
            }
            plan.units.push_back(WorkUnit{index, u.id, u.part, u.parts, 0, -1, bytes});
            plan.total_bytes += bytes;
        }
    }
    // Largest first, so the last unit to finish is a small one.
    std::stable_sort(
        plan.units.begin(), plan.units.end(),
        [](const WorkUnit& a, const WorkUnit& b) { return a.estimated_bytes > b.estimated_bytes; });
    return plan;
}

void ArchiveSource::writeSchema(const pg::SchemaTool&, const std::string& path,
                                const TableSelection&) {
    std::ofstream out(path, std::ios::binary);
    out.write(schema_.data(), static_cast<std::streamsize>(schema_.size()));
    out.close();
    if (!out) {
        throw Error(fmt::format("cannot write {}", path));
    }
}

UnitFeed& ArchiveSource::feed(const Plan& plan, LargeObjectSink& large_objects) {
    plan_ = &plan;
    digests_.emplace(plan.units.size());
    if (input_.file) {
        feed_ = std::make_unique<FileFeed>(*input_.file, plan, *digests_);
    } else {
        feed_ = std::make_unique<PipeFeed>(*input_.stream, contents_, plan, *digests_,
                                           large_objects, results_, run_.abort(), run_.progress());
    }
    return *feed_;
}

std::vector<copy::RowDigest> ArchiveSource::writtenDigests() const {
    std::map<uint32_t, const archive::UnitResult*> written;
    for (const auto& u : results_->units) {
        written[u.id] = &u;
    }
    std::vector<copy::RowDigest> out;
    for (size_t i = 0; i < plan_->units.size(); ++i) {
        auto it = written.find(plan_->units[i].id);
        if (it == written.end()) {
            throw FormatError(fmt::format("{}: the results manifest has no entry for unit {} of {}",
                                          input_.name, plan_->units[i].id, tableOf(i).qualified));
        }
        out.push_back(it->second->digest);
    }
    return out;
}

// The rows read from the archive must be the rows the dump wrote, unit by unit.
void ArchiveSource::checkData() {
    std::vector<copy::RowDigest> expected = writtenDigests();
    for (size_t i = 0; i < expected.size(); ++i) {
        copy::RowDigest read = digests_->get(i);
        if (!(read == expected[i])) {
            throw FormatError(fmt::format(
                "{}: table {}: the rows read ({}, digest {}) differ from the rows the dump wrote "
                "({}, digest {})",
                input_.name, tableOf(i).qualified, read.rows, read.hex(), expected[i].rows,
                expected[i].hex()));
        }
    }
}

std::vector<archive::SequenceValue> ArchiveSource::sequenceValues() {
    return results_->sequences;
}

void ArchiveSource::readLargeObjects(LargeObjectSink& out) {
    if (!input_.file || !contents_.large_object_unit) {
        return;  // none, or they came with the stream
    }
    const archive::UnitInfo* info = input_.file->findUnit(*contents_.large_object_unit);
    if (!info) {
        throw FormatError(fmt::format("{}: the large objects' unit is missing", input_.name));
    }
    archive::FrameDecoder decoder;
    for (size_t f : info->frames) {
        run_.abort().check();
        archive::Frame frame = input_.file->readFrame(input_.file->entries()[f], decoder);
        archive::forEachLargeObjectChunk(
            frame.payload, input_.name,
            [&](const archive::LargeObjectChunk& chunk) { out.put(chunk); });
    }
}

// --verify: every table on the target, read back in one snapshot, must hash to what the dump
// wrote. Tables rewritten by this restore's --rules cannot be compared with the archive.
void ArchiveSource::verify(const LoadedTarget& target) {
    std::vector<copy::RowDigest> written = writtenDigests();
    std::map<size_t, copy::RowDigest> expected;  // plan table -> digest
    for (size_t i = 0; i < written.size(); ++i) {
        expected[plan_->units[i].table].add(written[i]);
    }
    std::vector<size_t> tables;
    std::vector<std::string> unverified;
    for (size_t t = 0; t < plan_->tables.size(); ++t) {
        const pg::Table& table = *plan_->tables[t].table;
        if (target.prepared.sanitizing && target.prepared.sanitizing->forTable(table)) {
            unverified.push_back(table.qualified);
        } else {
            tables.push_back(t);
        }
    }
    if (!unverified.empty()) {
        target.progress.warn(
            fmt::format("--verify: not comparing {} tables this restore's --rules rewrote: {}",
                        unverified.size(), fmt::join(unverified, ", ")));
    }
    pg::Snapshot snapshot =
        pg::Snapshot::exportFrom(target.conninfo, pg::Role::target, target.database);
    std::vector<copy::RowDigest> actual(tables.size());
    struct Reader {
        WatchedConnection session;
        size_t tables = 0;
    };
    forEachParallel(
        target.jobs, tables.size(), target.abort,
        [&](int) {
            return Reader{{snapshot.openReader(), target.abort}};
        },
        [&](Reader& reader, size_t i) {
            if (++reader.tables % 100 == 0) {
                snapshot.refresh(reader.session.conn);  // without the locks taken so far
            }
            const pg::Table& table = *plan_->tables[tables[i]].table;
            actual[i] =
                digestTable(reader.session.conn, table, table, table.binary_safe, target.abort);
        });
    std::vector<std::string> differing;
    for (size_t i = 0; i < tables.size(); ++i) {
        const copy::RowDigest& want = expected[tables[i]];
        if (!(actual[i] == want)) {
            const pg::Table& table = *plan_->tables[tables[i]].table;
            target.progress.warn(fmt::format(
                "--verify: {}: {} rows (digest {}) on the target, {} (digest {}) in the archive",
                table.qualified, actual[i].rows, actual[i].hex(), want.rows, want.hex()));
            differing.push_back(table.qualified);
        }
    }
    if (!differing.empty()) {
        throw Error("--verify: " + differMessage(differing));
    }
    target.progress.info(
        fmt::format("verified: all {} tables agree with the archive", tables.size()));
}

void ArchiveSource::extendReport(nlohmann::ordered_json& report) {
    report["archive"] = input_.name;
    report["source"] = {{"database", contents_.source.database},
                        {"host", contents_.source.host},
                        {"snapshot_time", contents_.source.snapshot_time}};
    if (!contents_.rules_hash.empty()) {
        report["archive_rules_hash"] = contents_.rules_hash;
    }
}

}  // namespace pgsluice::engine
