#pragma once

// The country calling codes of ITU-T E.164, compiled in, for `phone`: which leading digits of
// an international number name its country and must be kept.

#include <cstddef>
#include <string_view>

namespace pgsluice::sanitize {

// The length (1 to 3) of the calling code that DIGITS (ASCII digits after the + or 00) starts
// with, by longest prefix among the assigned codes; 0 when none matches (an unassigned code).
std::size_t callingCodeLength(std::string_view digits) noexcept;

}  // namespace pgsluice::sanitize
