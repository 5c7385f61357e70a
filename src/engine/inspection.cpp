#include "pgsluice/engine/inspection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "pgsluice/archive/archive_input.hpp"
#include "pgsluice/archive/archive_reader.hpp"
#include "pgsluice/archive/frame_codec.hpp"
#include "pgsluice/archive/seekable_archive.hpp"
#include "pgsluice/error.hpp"
#include "pgsluice/io/file_reader.hpp"

namespace pgsluice::engine {

using archive::FrameType;
using archive::IndexEntry;

// The data units of `frames`, by unit id.
std::map<std::uint32_t, UnitFrames> unitsOf(const std::vector<IndexEntry>& frames) {
    std::map<std::uint32_t, UnitFrames> units;
    for (const IndexEntry& entry : frames) {
        if (entry.header.type == FrameType::unit_end && entry.header.abandoned()) {
            // The attempt's frames are void: count the unit again from its next frame.
            UnitFrames& unit = units[entry.header.unit];
            unit = UnitFrames{.attempts = unit.attempts + 1};
        } else if (entry.header.type == FrameType::unit_end) {
            units[entry.header.unit].closed = true;
        } else if (entry.header.type == FrameType::data) {
            UnitFrames& unit = units[entry.header.unit];
            ++unit.data_frames;
            unit.rows += entry.header.rows;
            unit.raw_bytes += entry.header.raw_length;
            unit.stored_bytes += entry.header.stored_length;
        }
    }
    return units;
}

// "schema.name" of an archived table, from the contents' catalog.
std::string tableName(const archive::Contents& contents, const archive::ArchivedTable& table) {
    const pg::Table* t = contents.catalog.find(table.oid);
    return t ? t->schema + "." + t->name : "table with oid " + std::to_string(table.oid);
}

// Up to `limit` names joined by `separator`, with "..." when there are more.
std::string joinNames(const std::vector<std::string>& names, std::size_t limit,
                      std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < limit; ++i) {
        out += (i ? std::string(separator) : "") + names[i];
    }
    if (names.size() > limit) {
        out += std::string(separator) + "...";
    }
    return out;
}

namespace {

using archive::ArchivedTable;
using archive::ArchivedUnit;
using archive::Contents;

// What was read intact before the damage, as the start of an error message: which tables with
// data had every unit closed by a verified unit-end frame among `frames`. Empty without
// contents.
std::string readableBefore(const Contents* contents, const std::vector<IndexEntry>& frames) {
    if (contents == nullptr) {
        return "";
    }
    const std::map<std::uint32_t, UnitFrames> units = unitsOf(frames);
    std::vector<std::string> complete;
    std::size_t with_data = 0;
    for (const ArchivedTable& table : contents->tables) {
        if (!table.with_data) {
            continue;
        }
        ++with_data;
        const bool all_closed =
            std::all_of(table.units.begin(), table.units.end(), [&](const ArchivedUnit& unit) {
                const auto it = units.find(unit.id);
                return it != units.end() && it->second.closed;
            });
        if (all_closed) {
            complete.push_back(tableName(*contents, table));
        }
    }
    std::string out = fmt::format("{} frames were read intact before the damage; ", frames.size());
    if (complete.empty()) {
        out += fmt::format("none of the {} tables with data was complete", with_data);
    } else {
        out += fmt::format("{} of {} tables with data were complete ({})", complete.size(),
                           with_data, joinNames(complete));
    }
    if (contents->large_object_unit) {
        const auto it = units.find(*contents->large_object_unit);
        out += it != units.end() && it->second.closed ? ", the large objects too"
                                                      : ", the large objects were not";
    }
    return out + ": ";
}

// A FormatError with what could be read put in front of `error`'s message.
[[noreturn]] void rethrowDamage(const Error& error, const Contents* contents,
                                const std::vector<IndexEntry>& frames) {
    throw FormatError(readableBefore(contents, frames) + error.what());
}

// "archive X is not a pgsluice dump" error.
Error notADump(const std::string& name) {
    return FormatError("archive " + name +
                       " is not a pgsluice dump: it has no contents manifest (manifest stream 0). "
                       "It was written by something else that uses the archive format");
}

// Reads the archive front to back, checking every frame, keeping only the manifests.
Inspection readSequential(archive::ArchiveReader& reader) {
    const std::string name = reader.name();
    std::optional<Contents> contents;
    std::optional<archive::Results> results;
    std::string contents_json;
    std::string results_json;
    archive::Frame frame;
    try {
        while (reader.next(frame)) {
            if (frame.header.type != FrameType::manifest) {
                continue;
            }
            // Contents are parsed as soon as they are whole, so that damage further on can be
            // reported with the tables read complete before it.
            if (frame.header.unit == archive::contents_stream) {
                contents_json.append(frame.payload);
                if (frame.header.final()) {
                    contents = archive::parseContents(contents_json, name);
                    contents_json = std::string();
                }
            } else if (frame.header.unit == archive::results_stream) {
                results_json.append(frame.payload);
                if (frame.header.final()) {
                    results = archive::parseResults(results_json, name);
                    results_json = std::string();
                }
            }
        }
    } catch (const FormatError& e) {
        rethrowDamage(e, contents ? &*contents : nullptr, reader.framesRead());
    }
    if (!contents) {
        throw notADump(name);
    }
    Inspection out;
    out.facts.name = name;
    out.facts.size = reader.position();
    out.facts.header = reader.header();
    out.facts.io_backend = std::string(reader.backendName());
    out.facts.seekable = false;
    out.facts.payloads_verified = true;
    out.facts.frames = reader.framesRead();
    out.contents = std::move(*contents);
    out.results = std::move(results);
    return out;
}

// True when `frames` hold manifest stream `stream`.
bool hasManifest(const std::vector<IndexEntry>& frames, std::uint32_t stream) {
    return std::any_of(frames.begin(), frames.end(), [&](const IndexEntry& entry) {
        return entry.header.type == FrameType::manifest && entry.header.unit == stream;
    });
}

// Reads a file through its footer index: the manifests, and with `verify` every frame.
Inspection readSeekable(const archive::SeekableArchive& seekable, std::uint64_t size, bool verify) {
    const std::string& name = seekable.name();
    const std::vector<IndexEntry>& frames = seekable.entries();
    if (!hasManifest(frames, archive::contents_stream)) {
        throw notADump(name);
    }
    archive::FrameDecoder decoder;
    Inspection out;
    out.contents = archive::parseContents(
        seekable.readBlob(FrameType::manifest, archive::contents_stream, decoder), name);
    if (hasManifest(frames, archive::results_stream)) {
        out.results = archive::parseResults(
            seekable.readBlob(FrameType::manifest, archive::results_stream, decoder), name);
    }
    if (verify) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            try {
                seekable.readFrame(frames[i], decoder);
            } catch (const FormatError& e) {
                rethrowDamage(e, &out.contents,
                              std::vector<IndexEntry>(frames.begin(), frames.begin() + i));
            }
        }
    }
    out.facts.name = name;
    out.facts.size = size;
    out.facts.header = seekable.header();
    // SeekableArchive reads with pread(2) whatever the reader's backend (see FileReader::readAt).
    out.facts.io_backend = std::string(io::backendName(io::Backend::sync));
    out.facts.seekable = true;
    out.facts.payloads_verified = verify;
    out.facts.frames = frames;
    return out;
}

}  // namespace

Inspection inspectArchive(const std::string& file, io::IoMode io, bool verify) {
    const std::string what = "pgsluice dump -f - ... | pgsluice inspect -";
    std::optional<archive::ArchiveInput> input;
    try {
        input.emplace(archive::ArchiveInput::open(file, io, archive::Access::best, what));
    } catch (const FormatError&) {
        std::error_code ec;
        if (file != "-" && std::filesystem::is_regular_file(file, ec)) {
            // The footer or trailer is missing or damaged (most often a dump that was stopped):
            // reading the frames in order tells which tables are complete and where it broke
            // off. That read fails too; should it not (the file changed meanwhile), the first
            // error stands.
            archive::ArchiveInput again =
                archive::ArchiveInput::open(file, io, archive::Access::sequential, what);
            readSequential(*again.stream);
        }
        throw;
    }
    if (input->stream) {
        return readSequential(*input->stream);
    }
    return readSeekable(*input->file, input->size, verify);
}

}  // namespace pgsluice::engine
