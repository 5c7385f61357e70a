#pragma once

// The built-in name lists of first_name, last_name and full_name. Their contents and order are
// part of the output: changing them changes every sanitised name, so they only grow in a new
// rules version.

#include <span>
#include <string_view>

namespace pgsluice::sanitize {

// The first names, each valid UTF-8 and at most 12 characters; some are multi-byte.
std::span<const std::string_view> firstNames() noexcept;

// The last names, each valid UTF-8 and at most 12 characters; some are multi-byte.
std::span<const std::string_view> lastNames() noexcept;

}  // namespace pgsluice::sanitize
