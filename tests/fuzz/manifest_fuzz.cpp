// libFuzzer target for the archive manifests and large-object chunk records.
//
// Each input is read three ways: as a contents manifest, as a results manifest and as a
// large-object frame payload. Anything but a FormatError escaping a parser is a crash. What is
// accepted must survive a round trip: the JSON written from a parsed manifest parses again to
// the same JSON, qualified names are the quoted schema and name, and the chunk records re-encode
// to the very bytes they were read from.
//
// Built by scripts/fuzz.sh, or by hand from the repository root:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
//       -I/usr/include/postgresql src/engine/manifest.cpp src/pg/catalog.cpp
//       src/pg/connection.cpp tests/fuzz/manifest_fuzz.cpp -lpq -lfmt -o manifest_fuzz
//   ./manifest_fuzz -max_total_time=180 tests/fuzz/corpus/manifest

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgsluice/archive/manifest.hpp"
#include "pgsluice/error.hpp"

namespace pgsluice::archive {
namespace {

void check(bool condition) {
    if (!condition) {
        __builtin_trap();
    }
}

std::string quoted(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

void fuzzContents(std::string_view input) {
    Contents contents;
    try {
        contents = parseContents(input, "fuzz");
    } catch (const FormatError&) {
        return;
    }
    check(contents.version == manifest_version);
    check(contents.tables.size() == contents.catalog.tables.size());
    for (std::size_t i = 0; i < contents.tables.size(); ++i) {
        const pg::Table& t = contents.catalog.tables[i];
        check(contents.tables[i].oid == t.oid);
        check(t.qualified == quoted(t.schema) + "." + quoted(t.name));
        for (const ArchivedUnit& u : contents.tables[i].units) {
            check(u.parts >= 1 && u.part >= 0 && u.part < u.parts);
        }
    }
    for (const pg::Sequence& s : contents.catalog.sequences) {
        check(s.qualified == quoted(s.schema) + "." + quoted(s.name));
    }
    // Written again, it must be read again, to the same JSON.
    const std::string once = toJson(contents);
    check(toJson(parseContents(once, "fuzz")) == once);
}

void fuzzResults(std::string_view input) {
    Results results;
    try {
        results = parseResults(input, "fuzz");
    } catch (const FormatError&) {
        return;
    }
    check(results.version == manifest_version);
    const std::string once = toJson(results);
    check(toJson(parseResults(once, "fuzz")) == once);
}

void fuzzChunks(std::string_view input) {
    std::string rebuilt;
    try {
        forEachLargeObjectChunk(input, "fuzz", [&](const LargeObjectChunk& chunk) {
            check(chunk.bytes.data() >= input.data() &&
                  chunk.bytes.data() + chunk.bytes.size() <= input.data() + input.size());
            appendLargeObjectChunk(rebuilt, chunk);
        });
    } catch (const FormatError&) {
        return;
    }
    check(rebuilt == input);
}

}  // namespace
}  // namespace pgsluice::archive

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    pgsluice::archive::fuzzContents(input);
    pgsluice::archive::fuzzResults(input);
    pgsluice::archive::fuzzChunks(input);
    return 0;
}
