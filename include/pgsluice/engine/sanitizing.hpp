#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pgsluice/copy/row_splitter.hpp"
#include "pgsluice/engine/selection.hpp"
#include "pgsluice/pg/catalog.hpp"
#include "pgsluice/sanitize/row_rewriter.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/validate.hpp"

namespace pgsluice::engine {

// A --rules file checked against the source catalogue: what every worker needs to rewrite rows.
struct Sanitizing {
    sanitize::Rules rules;
    sanitize::SaltKey key;
    sanitize::SanitizePlan plan;
    std::string rules_hash;  // of the rules, never of the salt

    // The rewrites of `table`, or nullptr when its rows pass through untouched.
    const sanitize::TableSanitizer* forTable(const pg::Table& table) const {
        return plan.find(table.schema, table.name);
    }
};

// Reads the rules file (UsageError with FILE:LINE) and adds its exclude_table_data patterns to
// `selection`, so they act like --exclude-table-data. Call before applySelection.
sanitize::Rules loadRules(const std::string& path, filter::SelectionOptions& selection);

// Checks every rule against the tables whose rows move (exit 2 listing every problem) and
// builds the transforms with the salt from the rules' salt_env.
std::unique_ptr<Sanitizing> checkRules(sanitize::Rules rules, const pg::Catalog& catalog,
                                       const SelectionResult& selection);

// Rewrites a COPY BINARY stream fed in arbitrary chunks, row by row, into `out` (header and
// trailer included). One per worker and unit; buffers are reused between chunks.
class StreamRewriter {
  public:
    explicit StreamRewriter(const sanitize::TableSanitizer& table);

    // Appends the rewritten rows completed by `chunk` (and the header first) to `out`.
    void feed(std::string_view chunk, std::string& out);
    // Checks the stream ended with its trailer and appends the trailer to `out`.
    void finish(std::string& out);

  private:
    copy::RowSplitter splitter_;
    sanitize::RowRewriter rewriter_;
    bool header_written_ = false;
};

}  // namespace pgsluice::engine
