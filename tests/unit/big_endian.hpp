#pragma once

// Test helper: integers as the big-endian bytes COPY BINARY and the archive write them.

#include <cstdint>
#include <string>

namespace pgsluice::testing {

template <class T>
std::string be16(T value) {
    const auto v = static_cast<std::uint16_t>(value);
    return {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
}

template <class T>
std::string be32(T value) {
    const auto v = static_cast<std::uint32_t>(value);
    return be16(v >> 16) + be16(v);
}

template <class T>
std::string be64(T value) {
    const auto v = static_cast<std::uint64_t>(value);
    return be32(v >> 32) + be32(v);
}

}  // namespace pgsluice::testing
