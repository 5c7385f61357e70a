#include "pgsluice/sanitize/salt.hpp"

// Inlined: the same XXH3 (its output is fixed by the format), but compiled here rather than
// called in the shared library, which is about ten times slower on short inputs.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pgsluice/error.hpp"

namespace pgsluice::sanitize {

namespace {

// memset that the optimiser may not drop because the memory is about to die.
void wipe(void* data, std::size_t size) noexcept {
    volatile unsigned char* p = static_cast<volatile unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        p[i] = 0;
    }
}

// Separates the purposes so that "email" + "x" never derives the same secret as "emai" + "lx".
constexpr std::string_view purpose_tag = "pgsluice sanitize v1 purpose:";

}  // namespace

Hash128 KeyedHash::hash128(const void* data, std::size_t size) const noexcept {
    const XXH128_hash_t hash = XXH3_128bits_withSecret(data, size, secret_.data(), secret_.size());
    return {hash.high64, hash.low64};
}

std::uint64_t KeyedHash::hash64(const void* data, std::size_t size) const noexcept {
    return XXH3_64bits_withSecret(data, size, secret_.data(), secret_.size());
}

KeyedHash::~KeyedHash() {
    wipe(secret_.data(), secret_.size());
}

SaltKey SaltKey::fromSalt(std::string_view salt) {
    if (salt.size() < min_salt_bytes) {
        throw UsageError("the salt has " + std::to_string(salt.size()) + " bytes; use at least " +
                         std::to_string(min_salt_bytes) +
                         " random bytes, e.g. the output of `openssl rand -hex 32`");
    }
    SaltKey key;
    if (XXH3_generateSecret(key.master_.data(), key.master_.size(), salt.data(), salt.size()) !=
        XXH_OK) {
        throw Error("internal error: XXH3_generateSecret refused the salt");
    }
    key.present_ = true;
    return key;
}

KeyedHash SaltKey::hasherFor(std::string_view purpose) const {
    if (!present_) {
        throw Error("internal error: a keyed transform was built without a salt");
    }
    // The purpose's secret is derived from the salt's secret, so the salt is needed only once.
    std::vector<unsigned char> seed(master_.begin(), master_.end());
    seed.insert(seed.end(), purpose_tag.begin(), purpose_tag.end());
    seed.insert(seed.end(), purpose.begin(), purpose.end());
    KeyedHash hasher;
    const XXH_errorcode status =
        XXH3_generateSecret(hasher.secret_.data(), hasher.secret_.size(), seed.data(), seed.size());
    wipe(seed.data(), seed.size());
    if (status != XXH_OK) {
        throw Error("internal error: XXH3_generateSecret refused a derived seed");
    }
    return hasher;
}

SaltKey::~SaltKey() {
    wipe(master_.data(), master_.size());
}

SaltKey loadSaltKey(const Rules& rules) {
    if (!rules.needsSalt()) {
        return {};
    }
    int first_line = 0;
    std::vector<std::string> kinds;  // the keyed transforms used, for the message
    for (const TableRule& table : rules.tables) {
        for (const ColumnRule& column : table.columns) {
            if (!column.transform.needsSalt()) {
                continue;
            }
            first_line = first_line == 0 ? column.line : first_line;
            if (std::find(kinds.begin(), kinds.end(), column.transform.name()) == kinds.end()) {
                kinds.push_back(column.transform.name());
            }
        }
    }
    std::string names;
    for (const std::string& kind : kinds) {
        names += names.empty() ? "" : ", ";
        names += kind;
    }
    if (rules.salt_env.empty()) {
        throw UsageError(rules.where(first_line) + ": rules using " + names +
                         " need a salt, but the rules file has no salt_env; add `salt_env: "
                         "PGSLUICE_SALT` and export a secret of at least 16 random bytes in it");
    }
    const char* salt = std::getenv(rules.salt_env.c_str());
    if (salt == nullptr || *salt == '\0') {
        throw UsageError(rules.where(rules.salt_env_line) + ": the environment variable " +
                         rules.salt_env + " is " + (salt == nullptr ? "not set" : "empty") +
                         "; rules using " + names + " need the salt it holds: export " +
                         rules.salt_env +
                         " with the same secret as in earlier runs (or a new one of at least 16 "
                         "random bytes)");
    }
    try {
        return SaltKey::fromSalt(salt);
    } catch (const UsageError& error) {
        throw UsageError(rules.where(rules.salt_env_line) + ": in " + rules.salt_env + ": " +
                         error.what());
    }
}

}  // namespace pgsluice::sanitize
