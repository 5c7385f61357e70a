#pragma once

#include <istream>
#include <string>
#include <string_view>

#include "pgsluice/filter/selection.hpp"

namespace pgsluice::filter {

// Reads a pg_dump --filter file (PostgreSQL 17 syntax; PATH "-" is standard input) and appends
// its patterns to the lists of OPTIONS, after any already there. Accepted lines:
//   include table|table_and_children|schema PATTERN
//   exclude table|table_and_children|table_data|table_data_and_children|schema PATTERN
// On the first bad line throws UsageError "FILE:LINE: what is wrong; what to do" and leaves
// OPTIONS unchanged.
void loadFilterFile(const std::string& path, SelectionOptions& options);

// The same as loadFilterFile, reading INPUT; SOURCE names it in messages.
void readFilter(std::istream& input, std::string_view source, SelectionOptions& options);

}  // namespace pgsluice::filter
