#pragma once

// Typed reads out of a parsed JSON manifest, private to the archive module: every value is
// checked for its JSON type and range, and every problem becomes a FormatError that names the
// archive, the manifest and the JSON path ("tables[3].units[0].id").

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pgsluice/error.hpp"

namespace pgsluice::archive::json {

using Json = nlohmann::json;

// nlohmann's what() without its "[json.exception.parse_error.101] " prefix.
inline std::string_view jsonMessage(const nlohmann::json::exception& e) {
    std::string_view what = e.what();
    if (!what.empty() && what[0] == '[') {
        const auto end = what.find("] ");
        if (end != std::string_view::npos) {
            what.remove_prefix(end + 2);
        }
    }
    return what;
}

inline std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

inline std::string element(const std::string& path, std::size_t index) {
    return fmt::format("{}[{}]", path, index);
}

// Reads typed values out of one parsed manifest and turns every problem into a FormatError
// that names the archive, the manifest and the JSON path ("tables[3].units[0].id").
class JsonReader {
  public:
    // Reads manifest `manifest` ("contents") of archive `source`, whose layout must be `version`.
    JsonReader(std::string_view source, std::string_view manifest, int version)
        : source_(source), manifest_(manifest), version_(version) {}

    [[noreturn]] void fail(const std::string& path, std::string_view what) const {
        if (path.empty()) {
            throw FormatError(fmt::format("archive {}: {} manifest: {}", source_, manifest_, what));
        }
        throw FormatError(
            fmt::format("archive {}: {} manifest: {}: {}", source_, manifest_, path, what));
    }

    // Parses the text and checks it is an object of this pgsluice's layout version.
    Json parse(std::string_view text) const {
        Json root;
        try {
            root = Json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            fail("", fmt::format("not valid JSON: {}", jsonMessage(e)));
        }
        requireObject(root, "");
        const auto version = root.find("version");
        if (version == root.end()) {
            fail("version", "required key is missing (is this a pgsluice archive?)");
        }
        const std::optional<std::int64_t> found = asSigned(*version);
        if (!found) {
            fail("version", "expected an integer");
        }
        if (*found != version_) {
            std::string writer;
            const auto w = root.find("writer");
            if (w != root.end() && w->is_string() && w->get_ref<const std::string&>().size() < 80) {
                writer = fmt::format(" (written by {})", w->get_ref<const std::string&>());
            }
            fail("version", fmt::format("the archive has layout version {}{}; this pgsluice reads "
                                        "version {} only{}",
                                        *found, writer, version_,
                                        *found > version_ ? ": use a newer pgsluice" : ""));
        }
        return root;
    }

    void requireObject(const Json& value, const std::string& path) const {
        if (!value.is_object()) {
            fail(path, "expected an object");
        }
    }

    // The member `key` of `object` (an object at `path`); it must be there.
    const Json& field(const Json& object, const std::string& path, std::string_view key) const {
        const auto it = object.find(key);
        if (it == object.end()) {
            fail(join(path, key), "required key is missing");
        }
        return *it;
    }

    const Json& array(const Json& object, const std::string& path, std::string_view key) const {
        const Json& value = field(object, path, key);
        if (!value.is_array()) {
            fail(join(path, key), "expected an array");
        }
        return value;
    }

    const Json& object(const Json& object, const std::string& path, std::string_view key) const {
        const Json& value = field(object, path, key);
        requireObject(value, join(path, key));
        return value;
    }

    // Calls f(element, element_path, index) for each element of `items` (the array at `path`),
    // each checked to be an object first.
    template <class F>
    void forEach(const Json& items, const std::string& path, F&& f) const {
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string p = element(path, i);
            requireObject(items[i], p);
            f(items[i], p, i);
        }
    }

    // The same for the array `key` of `object` (an object at `path`); it must be there.
    template <class F>
    void forEach(const Json& object, const std::string& path, std::string_view key, F&& f) const {
        forEach(array(object, path, key), join(path, key), std::forward<F>(f));
    }

    // Records that `id` stands at `where`; fails at `path` ("<what> <id> is also <where>") when
    // an earlier element already named it.
    void requireUnique(std::unordered_map<std::uint32_t, std::string>& seen, std::uint32_t id,
                       const std::string& where, const std::string& path,
                       std::string_view what) const {
        const auto [it, inserted] = seen.emplace(id, where);
        if (!inserted) {
            fail(path, fmt::format("{} {} is also {}", what, id, it->second));
        }
    }

    std::string asString(const Json& value, const std::string& path) const {
        if (!value.is_string()) {
            fail(path, "expected a string");
        }
        return value.get<std::string>();
    }

    std::string string(const Json& object, const std::string& path, std::string_view key) const {
        return asString(field(object, path, key), join(path, key));
    }

    // A name that goes into SQL quoted: not empty, no NUL byte (libpq would cut the statement).
    std::string identifier(const Json& object, const std::string& path,
                           std::string_view key) const {
        std::string name = string(object, path, key);
        if (name.empty()) {
            fail(join(path, key), "an SQL identifier cannot be empty");
        }
        if (name.find('\0') != std::string::npos) {
            fail(join(path, key), "an SQL identifier cannot contain a NUL byte");
        }
        return name;
    }

    std::vector<std::string> strings(const Json& object, const std::string& path,
                                     std::string_view key) const {
        const Json& items = array(object, path, key);
        std::vector<std::string> out;
        out.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            out.push_back(asString(items[i], element(join(path, key), i)));
        }
        return out;
    }

    bool boolean(const Json& object, const std::string& path, std::string_view key) const {
        const Json& value = field(object, path, key);
        if (!value.is_boolean()) {
            fail(join(path, key), "expected true or false");
        }
        return value.get<bool>();
    }

    std::uint32_t asU32(const Json& value, const std::string& path) const {
        const std::optional<std::uint64_t> n = asUnsigned(value);
        if (!n || *n > std::numeric_limits<std::uint32_t>::max()) {
            fail(path, "expected an unsigned 32-bit integer");
        }
        return static_cast<std::uint32_t>(*n);
    }

    std::uint32_t u32(const Json& object, const std::string& path, std::string_view key) const {
        return asU32(field(object, path, key), join(path, key));
    }

    // An array of u32; element paths are only built for the message (large_objects can hold
    // millions of oids).
    std::vector<std::uint32_t> u32s(const Json& object, const std::string& path,
                                    std::string_view key) const {
        const Json& items = array(object, path, key);
        std::vector<std::uint32_t> out;
        out.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::optional<std::uint64_t> n = asUnsigned(items[i]);
            if (!n || *n > std::numeric_limits<std::uint32_t>::max()) {
                fail(element(join(path, key), i), "expected an unsigned 32-bit integer");
            }
            out.push_back(static_cast<std::uint32_t>(*n));
        }
        return out;
    }

    std::uint64_t u64(const Json& object, const std::string& path, std::string_view key) const {
        const std::optional<std::uint64_t> n = asUnsigned(field(object, path, key));
        if (!n) {
            fail(join(path, key), "expected an unsigned 64-bit integer");
        }
        return *n;
    }

    // A u64 written as exactly 16 hex digits (digest sums: JSON tools lose integers past 2^53).
    std::uint64_t hexU64(const Json& object, const std::string& path, std::string_view key) const {
        const Json& value = field(object, path, key);
        std::uint64_t n = 0;
        if (value.is_string()) {
            const std::string& text = value.get_ref<const std::string&>();
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, n, 16);
            if (text.size() == 16 && ec == std::errc() && ptr == end &&
                std::all_of(text.begin(), text.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                })) {
                return n;
            }
        }
        fail(join(path, key), "expected a string of 16 lowercase hex digits");
    }

    // An integer in [min, max].
    long long integer(const Json& object, const std::string& path, std::string_view key,
                      long long min, long long max) const {
        const std::optional<std::int64_t> n = asSigned(field(object, path, key));
        if (!n || *n < min || *n > max) {
            fail(join(path, key), fmt::format("expected an integer from {} to {}", min, max));
        }
        return *n;
    }

    int integer(const Json& object, const std::string& path, std::string_view key) const {
        return static_cast<int>(integer(object, path, key, std::numeric_limits<int>::min(),
                                        std::numeric_limits<int>::max()));
    }

    // A size or count: an integer from 0 to the largest long long.
    long long count(const Json& object, const std::string& path, std::string_view key) const {
        return integer(object, path, key, 0, std::numeric_limits<long long>::max());
    }

    double nonNegative(const Json& object, const std::string& path, std::string_view key) const {
        const Json& value = field(object, path, key);
        if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
            fail(join(path, key), "expected a number not below 0");
        }
        return value.get<double>();
    }

  private:
    static std::optional<std::uint64_t> asUnsigned(const Json& value) {
        if (value.is_number_unsigned()) {
            return value.get<std::uint64_t>();
        }
        if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
            return static_cast<std::uint64_t>(value.get<std::int64_t>());
        }
        return std::nullopt;
    }

    static std::optional<std::int64_t> asSigned(const Json& value) {
        if (value.is_number_unsigned()) {
            const auto n = value.get<std::uint64_t>();
            if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                return std::nullopt;
            }
            return static_cast<std::int64_t>(n);
        }
        if (value.is_number_integer()) {
            return value.get<std::int64_t>();
        }
        return std::nullopt;
    }

    std::string_view source_;
    std::string_view manifest_;
    int version_;
};

}  // namespace pgsluice::archive::json
