#pragma once

#include <string>
#include <string_view>

namespace pgsluice {

// The value of one hexadecimal digit (either case), or -1 for any other character.
inline int hexDigitValue(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Appends `bytes` to `out` as lowercase hex digits, two per byte.
inline void appendHex(std::string& out, std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    out.reserve(out.size() + bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
}

}  // namespace pgsluice
