#pragma once

#include <cstddef>
#include <functional>

#include "pgsluice/copy/chunk_stream.hpp"
#include "pgsluice/engine/abort.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::engine {

// The one COPY loop: moves every chunk of `from` into `to`, then finishes `to`. `count` (when
// given) is told each chunk's size as it passes; the loop stops with Cancelled as soon as the
// run aborts.
void pump(copy::ChunkSource& from, copy::ChunkSink& to, const AbortSignal& abort,
          const std::function<void(std::size_t bytes)>& count = {});

// The same through a sanitize::SanitizingSink in front of `to` when `rules` is not null: the one
// way the sanitiser is plugged into a data path.
void pump(copy::ChunkSource& from, const sanitize::TableSanitizer* rules, copy::ChunkSink& to,
          const AbortSignal& abort, const std::function<void(std::size_t bytes)>& count = {});

}  // namespace pgsluice::engine
