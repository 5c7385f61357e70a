#pragma once

// Reading the source database inside the run's snapshot: what copy and dump share.

#include <functional>
#include <vector>

#include "pgsluice/engine/abort.hpp"
#include "pgsluice/engine/manifest.hpp"
#include "pgsluice/engine/planner.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/pg/connection.hpp"

namespace pgsluice::engine {

// The current value of each sequence of `sequences`.
std::vector<SequenceValue> readSequenceValues(pg::Connection& source,
                                              const std::vector<pg::Sequence>& sequences);

// Reads the large objects `oids` in chunks of at most 1 MiB and hands each chunk to `on_chunk`
// (its bytes are valid during the call only).
void readLargeObjects(pg::Connection& source, const std::vector<uint32_t>& oids, AbortSignal& abort,
                      const std::function<void(const LargeObjectChunk&)>& on_chunk);

// Streams one unit of a table out of the source: COPY ... TO STDOUT, every chunk handed to
// `on_chunk` (valid during the call only).
void readUnit(pg::Connection& source, const pg::Table& table, const WorkUnit& unit,
              const std::function<void(std::string_view)>& on_chunk);

}  // namespace pgsluice::engine
