#include "pgsluice/engine/pump.hpp"

#include "pgsluice/sanitize/stream_rewriter.hpp"

namespace pgsluice::engine {

void pump(copy::ChunkSource& from, copy::ChunkSink& to, const AbortSignal& abort,
          const std::function<void(std::size_t)>& count) {
    while (std::optional<std::string_view> chunk = from.next()) {
        to.write(*chunk);
        if (count) {
            count(chunk->size());
        }
        if (abort.aborted()) {
            throw Cancelled("stopped");
        }
    }
    to.finish();
}

void pump(copy::ChunkSource& from, const sanitize::TableSanitizer* rules, copy::ChunkSink& to,
          const AbortSignal& abort, const std::function<void(std::size_t)>& count) {
    if (!rules) {
        pump(from, to, abort, count);
        return;
    }
    sanitize::SanitizingSink rewrite(*rules, to);
    pump(from, rewrite, abort, count);
}

}  // namespace pgsluice::engine
