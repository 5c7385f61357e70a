#include "pgsluice/sanitize/network.hpp"

#include <charconv>
#include <cstring>

#include "pgsluice/hex.hpp"

namespace pgsluice::sanitize {

namespace {

// Reads a dotted quad from TEXT into FOUR bytes.
bool parseIpv4(std::string_view text, unsigned char* four) {
    std::size_t pos = 0;
    for (int part = 0; part < 4; ++part) {
        if (part > 0) {
            if (pos >= text.size() || text[pos] != '.') {
                return false;
            }
            ++pos;
        }
        const std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
            value = value * 10 + static_cast<unsigned>(text[pos++] - '0');
        }
        if (pos == start || value > 255) {
            return false;
        }
        four[part] = static_cast<unsigned char>(value);
    }
    return pos == text.size();
}

bool parseIpv6(std::string_view text, unsigned char* sixteen) {
    // Up to 8 groups before and after one "::"; the last group may be an IPv4 tail.
    unsigned groups[8] = {};
    int count = 0;
    int gap = -1;  // index in groups where "::" stands
    std::size_t pos = 0;
    if (text.starts_with("::")) {
        gap = 0;
        pos = 2;
        if (pos == text.size()) {
            std::memset(sixteen, 0, 16);
            return true;
        }
    } else if (text.starts_with(":")) {
        return false;
    }
    while (true) {
        const std::size_t start = pos;
        unsigned value = 0;
        while (pos < text.size() && pos - start < 4 && hexDigitValue(text[pos]) >= 0) {
            value = value << 4 | static_cast<unsigned>(hexDigitValue(text[pos++]));
        }
        if (pos < text.size() && text[pos] == '.') {
            // An IPv4 tail takes the last two groups and ends the address.
            unsigned char four[4];
            if (count > 6 || !parseIpv4(text.substr(start), four)) {
                return false;
            }
            groups[count++] = static_cast<unsigned>(four[0] << 8 | four[1]);
            groups[count++] = static_cast<unsigned>(four[2] << 8 | four[3]);
            pos = text.size();
            break;
        }
        if (pos == start || count == 8) {
            return false;
        }
        groups[count++] = value;
        if (pos == text.size()) {
            break;
        }
        if (text[pos] != ':') {
            return false;
        }
        ++pos;
        if (pos < text.size() && text[pos] == ':') {
            if (gap >= 0) {
                return false;  // a second "::"
            }
            gap = count;
            ++pos;
            if (pos == text.size()) {
                break;
            }
        } else if (pos == text.size()) {
            return false;  // a trailing single ':'
        }
    }
    if (gap < 0 ? count != 8 : count > 7) {
        return false;
    }
    unsigned full[8] = {};
    const int tail = gap < 0 ? 0 : count - gap;
    for (int i = 0; i < count - tail; ++i) {
        full[i] = groups[i];
    }
    for (int i = 0; i < tail; ++i) {
        full[8 - tail + i] = groups[count - tail + i];
    }
    for (int i = 0; i < 8; ++i) {
        sixteen[2 * i] = static_cast<unsigned char>(full[i] >> 8);
        sixteen[2 * i + 1] = static_cast<unsigned char>(full[i] & 0xFF);
    }
    return true;
}

void appendDecimal(std::string& out, unsigned value) {
    char buffer[4];
    const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    (void)error;
    out.append(buffer, static_cast<std::size_t>(end - buffer));
}

void appendIpv4(const unsigned char* four, std::string& out) {
    for (int i = 0; i < 4; ++i) {
        if (i > 0) {
            out += '.';
        }
        appendDecimal(out, four[i]);
    }
}

}  // namespace

bool parseIpAddress(std::string_view text, IpAddress& out) {
    out = IpAddress{};
    const std::size_t slash = text.find('/');
    std::string_view address = text.substr(0, slash);
    if (address.find(':') != std::string_view::npos) {
        out.v6 = true;
        if (!parseIpv6(address, out.bytes)) {
            return false;
        }
    } else if (!parseIpv4(address, out.bytes)) {
        return false;
    }
    out.bits = out.width();
    if (slash != std::string_view::npos) {
        const std::string_view mask = text.substr(slash + 1);
        int bits = -1;
        const auto [end, error] = std::from_chars(mask.data(), mask.data() + mask.size(), bits);
        if (mask.empty() || mask.size() > 3 || error != std::errc{} ||
            end != mask.data() + mask.size() || bits < 0 || bits > out.width() || mask[0] == '+') {
            return false;
        }
        out.bits = bits;
        out.has_mask = true;
    }
    return true;
}

void appendIpAddress(const IpAddress& address, std::string& out) {
    if (!address.v6) {
        appendIpv4(address.bytes, out);
    } else {
        unsigned groups[8];
        for (int i = 0; i < 8; ++i) {
            groups[i] = static_cast<unsigned>(address.bytes[2 * i] << 8 | address.bytes[2 * i + 1]);
        }
        const bool mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 &&
                            groups[4] == 0 && groups[5] == 0xFFFF;
        const int shown = mapped ? 6 : 8;
        // The longest run of at least two zero groups (the first of equal runs) becomes "::".
        int best_start = -1;
        int best_length = 1;
        for (int i = 0; i < shown;) {
            if (groups[i] != 0) {
                ++i;
                continue;
            }
            int j = i;
            while (j < shown && groups[j] == 0) {
                ++j;
            }
            if (j - i > best_length) {
                best_start = i;
                best_length = j - i;
            }
            i = j;
        }
        static constexpr char hex[] = "0123456789abcdef";
        for (int i = 0; i < shown; ++i) {
            if (i == best_start) {
                out += "::";
                i += best_length - 1;
                continue;
            }
            if (i > 0 && i != best_start + best_length) {
                out += ':';
            }
            char buffer[4];
            int length = 0;
            bool started = false;
            for (int shift = 12; shift >= 0; shift -= 4) {
                const unsigned nibble = groups[i] >> shift & 0xF;
                if (nibble != 0 || started || shift == 0) {
                    buffer[length++] = hex[nibble];
                    started = true;
                }
            }
            out.append(buffer, static_cast<std::size_t>(length));
        }
        if (mapped) {
            if (best_start + best_length != shown) {
                out += ':';
            }
            appendIpv4(address.bytes + 12, out);
        }
    }
    if (address.has_mask) {
        out += '/';
        appendDecimal(out, static_cast<unsigned>(address.bits));
    }
}

}  // namespace pgsluice::sanitize
