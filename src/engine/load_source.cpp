#include "pgsluice/engine/load_source.hpp"

#include "pgsluice/hex.hpp"

namespace pgsluice::engine {

void LargeObjectSink::put(const archive::LargeObjectChunk& chunk) {
    if (!wanted_(chunk.oid)) {
        return;
    }
    abort_.check();
    if (!target_) {
        target_.emplace(connect_(), abort_);
        target_->conn.exec("BEGIN");
    }
    objects_.insert(chunk.oid);
    bytes_ += chunk.bytes.size();
    if (chunk.bytes.empty()) {
        return;
    }
    // lo_put takes bytea: send it in hex, which needs no escaping.
    std::string hex = "\\x";
    appendHex(hex, chunk.bytes);
    target_->conn.execParams("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2, $3::bytea)",
                             {std::to_string(chunk.oid), std::to_string(chunk.offset), hex});
}

void LargeObjectSink::commit() {
    if (target_) {
        target_->conn.exec("COMMIT");
        target_.reset();
    }
}

void LargeObjectSink::reset() {
    target_.reset();
    objects_.clear();
    bytes_ = 0;
}

void readCatalogBesideSchemaDump(LoadSource& source, const pg::SchemaTool& tool,
                                 const filter::SelectionOptions& selection) {
    if (auto args = pgDumpArgsBeforeCatalog(selection)) {
        source.startSchemaDump(tool, *args);
    }
    source.readCatalog();
}

}  // namespace pgsluice::engine
