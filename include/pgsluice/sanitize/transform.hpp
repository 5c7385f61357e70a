#pragma once

// The transforms: one object per ruled column, built once from the rule's spec, the column's
// type and the salt, then applied to every non-NULL field of that column. A Transform is
// immutable, so every worker of a table shares it; per-worker state lives in a Scratch.

#include <memory>
#include <string>
#include <string_view>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/sanitize/json_edit.hpp"
#include "pgsluice/sanitize/numeric.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/types.hpp"

namespace pgsluice::sanitize {

// The fixed domain of every sanitised e-mail address: .invalid is reserved by RFC 2606 and can
// never deliver mail.
inline constexpr std::string_view email_domain = "example.invalid";
// "user_" + 32 hex digits + "@example.invalid".
inline constexpr int email_length = 53;
// A character that keep_first writes for each masked character.
inline constexpr char mask_character = '*';

// Buffers one worker reuses across rows, so that the transforms allocate nothing per row once
// the buffers have grown to the largest value seen.
struct Scratch {
    std::string digits;       // digits: the digit string being permuted
    std::string round_input;  // digits: a round's hash input, when too long for the stack
    JsonScratch json;
    Decimal decimal;   // noise: the numeric value being changed
    std::string work;  // noise: the product; phone: the hash input
    std::string text;  // noise: the value's canonical text (its key)
};

// What a transform promises, as the rules check needs it.
struct TransformTraits {
    TypeSet accepted;               // column types it can rewrite
    bool keeps_uniqueness = false;  // distinct inputs stay distinct (see docs/rules.md)
    bool deterministic = true;      // one input gives one output in every table and run
    bool needs_salt = false;        // keyed by the salt
};

// The types TransformKind KIND accepts.
TypeSet acceptedTypes(TransformKind kind);

// The traits of SPEC: uniqueness depends on options (hash with a shortened length does not
// keep it). `null` counts as keeping uniqueness because unique indexes treat NULLs as
// distinct; the rules check refuses it on NULLS NOT DISTINCT columns.
TransformTraits traitsOf(const TransformSpec& spec);

// The traits of SPEC on a column of TYPE, where they differ by type: `hash` on bytea keeps
// uniqueness at its full 16 bytes, and `ip` keeps it on inet and cidr and on text.
TransformTraits traitsOf(const TransformSpec& spec, const ColumnType& type);

// One column's rewrite.
class Transform {
  public:
    virtual ~Transform() = default;

    // Appends to OUT the value that replaces the non-NULL field IN (its COPY BINARY bytes).
    // Throws FormatError when IN is not a valid binary form of the column's type.
    virtual void apply(copy::ByteSpan in, std::string& out, Scratch& scratch) const = 0;

    // True when every value, NULL or not, becomes NULL (`null`); apply() is then never called.
    // Every other transform leaves NULL as NULL.
    bool outputsNull() const noexcept { return spec_.kind == TransformKind::null_value; }

    // The rule this transform was built from.
    const TransformSpec& spec() const noexcept { return spec_; }
    // The column type it was built for.
    const ColumnType& columnType() const noexcept { return type_; }
    // Its promises.
    TransformTraits traits() const { return traitsOf(spec_); }

  protected:
    Transform(TransformSpec spec, ColumnType type) : spec_(std::move(spec)), type_(type) {}

  private:
    TransformSpec spec_;
    ColumnType type_;
};

// Builds the transform SPEC names for a column of TYPE. Throws UsageError, without file and
// line (the rules check adds them), when TYPE is not accepted or an option cannot fit the
// column (a constant of the wrong type, an output longer than character varying(n) allows).
// KEY must hold a salt when spec.needsSalt().
std::unique_ptr<const Transform> makeTransform(const TransformSpec& spec, const ColumnType& type,
                                               const SaltKey& key);

}  // namespace pgsluice::sanitize
