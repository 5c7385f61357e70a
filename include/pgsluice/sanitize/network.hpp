#pragma once

// IP addresses as `ip` reads and writes them: the text forms (IPv4 dotted quads, IPv6 with `::`
// and an optional embedded IPv4 tail, either with an optional /mask) and the binary form of
// inet and cidr (family, bits, is_cidr, address length, address bytes).

#include <cstdint>
#include <string>
#include <string_view>

namespace pgsluice::sanitize {

// inet_send's family bytes: PGSQL_AF_INET and PGSQL_AF_INET6 (not the platform's AF_*).
inline constexpr std::uint8_t pg_af_inet = 2;
inline constexpr std::uint8_t pg_af_inet6 = 3;

// An address with its mask length.
struct IpAddress {
    bool v6 = false;
    unsigned char bytes[16] = {};  // the address, network order; IPv4 uses the first 4
    int bits = 32;                 // the mask length, 0 to 32 (IPv4) or 128 (IPv6)
    bool has_mask = false;         // the text wrote a /mask

    int width() const noexcept { return v6 ? 128 : 32; }
};

// Parses TEXT as an address with an optional /mask; false when it is not one. IPv4 needs four
// decimal parts of 0 to 255; IPv6 takes hex groups of one to four digits in either case, one
// `::`, and an IPv4 tail. Leading zeros are allowed (`010.0.0.1` is 10.0.0.1).
bool parseIpAddress(std::string_view text, IpAddress& out);

// Appends ADDRESS in its canonical text: dotted quad for IPv4; for IPv6 RFC 5952's form
// (lowercase, no leading zeros, the longest run of two or more zero groups as `::`) with an
// IPv4-mapped address as ::ffff:a.b.c.d; then /bits when ADDRESS.has_mask.
void appendIpAddress(const IpAddress& address, std::string& out);

}  // namespace pgsluice::sanitize
