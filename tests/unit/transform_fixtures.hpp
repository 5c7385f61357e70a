#pragma once

// Test helpers for the sanitize transforms: fixed keys, and a transform made from the YAML a
// rules file gives it (so that the documented forms are what the tests exercise).

#include <memory>
#include <string>
#include <string_view>

#include "pgsluice/copy/binary_reader.hpp"
#include "pgsluice/sanitize/rules.hpp"
#include "pgsluice/sanitize/salt.hpp"
#include "pgsluice/sanitize/transform.hpp"
#include "pgsluice/sanitize/types.hpp"

namespace pgsluice::testing {

inline const sanitize::SaltKey& testKey() {
    static const sanitize::SaltKey key =
        sanitize::SaltKey::fromSalt("pgsluice unit test salt 0123456789");
    return key;
}

inline const sanitize::SaltKey& otherKey() {
    static const sanitize::SaltKey key =
        sanitize::SaltKey::fromSalt("another salt entirely, 9876543210");
    return key;
}

// The rules file that gives column public.t.c the transform written as `yaml`.
inline std::string rulesText(const std::string& yaml) {
    return "version: 1\nsalt_env: S\ntables:\n  public.t:\n    c: " + yaml + "\n";
}

// The spec of the transform written as `yaml`, parsed through a whole rules file.
inline sanitize::TransformSpec specOf(const std::string& yaml) {
    return sanitize::parseRules(rulesText(yaml), "rules.yaml").tables.at(0).columns.at(0).transform;
}

inline std::unique_ptr<const sanitize::Transform> make(const std::string& yaml,
                                                       const std::string& type,
                                                       const sanitize::SaltKey& key = testKey()) {
    return sanitize::makeTransform(specOf(yaml), sanitize::classifyType(type), key);
}

// The transform's output for one non-NULL input.
inline std::string run(const sanitize::Transform& transform, std::string_view input) {
    sanitize::Scratch scratch;
    std::string out;
    transform.apply(copy::asBytes(input), out, scratch);
    return out;
}

inline std::string run(const std::string& yaml, const std::string& type, std::string_view input,
                       const sanitize::SaltKey& key = testKey()) {
    return run(*make(yaml, type, key), input);
}

}  // namespace pgsluice::testing
