#pragma once

// The column types the sanitiser understands, identified by name rather than OID: citext and
// other extension types get a different OID on every server, while their names are stable.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pgsluice::sanitize {

// The families of column types a transform can accept, by their COPY BINARY form.
enum class TypeKind : std::uint8_t {
    text,         // text: the UTF-8 bytes
    varchar,      // character varying(n): the UTF-8 bytes, at most n characters
    bpchar,       // character(n): the UTF-8 bytes blank-padded to n characters
    name,         // name: the UTF-8 bytes, at most 63 bytes
    citext,       // citext (extension): the UTF-8 bytes
    json,         // json: the document's text
    jsonb,        // jsonb: version byte 1, then the document's text
    date,         // date: int32 days since 2000-01-01
    timestamp,    // timestamp without time zone: int64 microseconds since 2000-01-01
    timestamptz,  // timestamp with time zone: int64 microseconds since 2000-01-01 UTC
    int2,         // smallint: big-endian int16
    int4,         // integer: big-endian int32
    int8,         // bigint: big-endian int64
    boolean,      // boolean: one byte, 0 or 1
    uuid,         // uuid: 16 bytes
    numeric,      // numeric[(p,s)]: ndigits, weight, sign, dscale, then base-10000 digits
    float4,       // real: big-endian IEEE 754 single
    float8,       // double precision: big-endian IEEE 754 double
    bytea,        // bytea: the raw bytes
    inet,         // inet: family, bits, is_cidr, address length, address bytes
    cidr,         // cidr: as inet, with the host bits zero
    other,        // anything else: only `null` accepts it (keep it last: TypeSet::all())
};

// A column's type as the sanitiser needs it: its family and, for character varying(n) and
// character(n), the declared length n in characters (-1 when undeclared); for numeric(p,s),
// the declared precision p (-1 when undeclared: any numeric) and scale s (which PostgreSQL 15
// allows to be negative or larger than p).
struct ColumnType {
    TypeKind kind = TypeKind::other;
    int max_chars = -1;
    int precision = -1;  // numeric(p,s): p, or -1
    int scale = 0;       // numeric(p,s): s (0 when p is -1)

    bool operator==(const ColumnType&) const = default;
};

// name has NAMEDATALEN 64: at most 63 bytes, or the server refuses the value.
inline constexpr int name_max_bytes = 63;

// Classifies a type as pg_catalog.format_type() spells it ("character varying(255)",
// "timestamp(3) with time zone", "public.citext") or as pg_type.typname does ("varchar",
// "timestamptz", "int4"). Arrays, domains and unknown types are TypeKind::other: give a
// domain's base type instead.
ColumnType classifyType(std::string_view type_name);

// The SQL name of a type family, for messages ("character varying", "jsonb").
std::string_view typeKindName(TypeKind kind);

// True for the families whose binary form is plain UTF-8 text.
constexpr bool isTextLike(TypeKind kind) {
    return kind == TypeKind::text || kind == TypeKind::varchar || kind == TypeKind::bpchar ||
           kind == TypeKind::name || kind == TypeKind::citext;
}

// A set of type families, as each transform declares the ones it accepts.
class TypeSet {
  public:
    // The empty set.
    constexpr TypeSet() = default;
    // The set of the listed families.
    constexpr TypeSet(std::initializer_list<TypeKind> kinds) {
        for (const TypeKind kind : kinds) {
            bits_ |= bit(kind);
        }
    }

    // Every family, TypeKind::other included.
    static constexpr TypeSet all() {
        TypeSet set;
        set.bits_ = (std::uint32_t{1} << (static_cast<int>(TypeKind::other) + 1)) - 1;
        return set;
    }

    // True when the set holds KIND.
    constexpr bool contains(TypeKind kind) const { return (bits_ & bit(kind)) != 0; }

    // The families in declaration order, as SQL names joined by ", " (for messages).
    std::string describe() const;

  private:
    static constexpr std::uint32_t bit(TypeKind kind) {
        return std::uint32_t{1} << static_cast<int>(kind);
    }
    std::uint32_t bits_ = 0;
};

// The integer families.
constexpr bool isInteger(TypeKind kind) {
    return kind == TypeKind::int2 || kind == TypeKind::int4 || kind == TypeKind::int8;
}

// The families whose binary form is UTF-8 text.
inline constexpr TypeSet text_like_types{TypeKind::text, TypeKind::varchar, TypeKind::bpchar,
                                         TypeKind::name, TypeKind::citext};

}  // namespace pgsluice::sanitize
