#pragma once

// An archive written by `pgsluice dump` as the source of a load: its schema and contents
// manifest up front, its units from a file through the footer index or from a pipe in stream
// order, and the results manifest that every unit's rows are checked against.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgsluice/archive/archive_input.hpp"
#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/engine/archive_feed.hpp"
#include "pgsluice/engine/target_load.hpp"
#include "pgsluice/io/io_mode.hpp"

namespace pgsluice::engine {

class ArchiveSource : public LoadSource {
  public:
    // Nothing is read before open(). `path` "-" is standard input.
    ArchiveSource(std::string path, io::IoMode io, Run& run)
        : path_(std::move(path)), io_(io), run_(run) {}

    ServerIdentity open() override;
    std::string describe() override;
    const pg::Catalog& catalog() override { return contents_.catalog; }
    int serverVersion() override { return contents_.catalog.server_version; }
    std::set<uint32_t> tablesWithoutData() override;
    Plan plan(const Prepared& prepared) override;
    void writeSchema(const pg::SchemaTool& tool, const std::string& path,
                     const TableSelection& selection) override;
    UnitFeed& feed(const Plan& plan, LargeObjectSink& large_objects) override;
    void checkData() override;
    std::vector<archive::SequenceValue> sequenceValues() override;
    void readLargeObjects(LargeObjectSink& out) override;
    void verify(const LoadedTarget& target) override;
    void extendReport(nlohmann::ordered_json& report) override;

  private:
    void readHead();
    const pg::Table& tableOf(std::size_t unit) const {
        return *plan_->tables[plan_->units[unit].table].table;
    }
    // The digest the dump recorded for each plan unit; FormatError for a unit it has none for.
    std::vector<copy::RowDigest> writtenDigests() const;

    std::string path_;
    io::IoMode io_;
    Run& run_;
    archive::ArchiveInput input_;
    std::string schema_;
    archive::Contents contents_;
    std::optional<archive::Results> results_;
    const Plan* plan_ = nullptr;
    std::optional<ReadDigests> digests_;
    std::unique_ptr<UnitFeed> feed_;
};

}  // namespace pgsluice::engine
