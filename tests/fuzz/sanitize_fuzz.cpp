// libFuzzer target for the sanitiser's parsers of untrusted text: the rules file (YAML from the
// user) and the JSON editor (json/jsonb values from the source server). Neither may crash, hang
// or read out of bounds; bad input must be a pgsluice::Error. For a valid JSON document (all
// the server ever sends for json/jsonb), the output must be valid JSON equal to the input when no
// edit matches, and no removed key may survive anywhere it was asked for (duplicates included).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pgsluice/error.hpp"
#include "pgsluice/sanitize/json_edit.hpp"
#include "pgsluice/sanitize/rules.hpp"

namespace {

using pgsluice::sanitize::JsonEdit;

const pgsluice::sanitize::JsonEditor& editor() {
    static const pgsluice::sanitize::JsonEditor e({JsonEdit{"ip", true, ""},
                                                   JsonEdit{"card.number", true, ""},
                                                   JsonEdit{"user.name", false, "\"x\""}});
    return e;
}

const pgsluice::sanitize::JsonEditor& noMatchEditor() {
    static const pgsluice::sanitize::JsonEditor e({JsonEdit{"\x01never", true, ""}});
    return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        pgsluice::sanitize::Rules rules = pgsluice::sanitize::parseRules(text, "fuzz.yaml");
        (void)pgsluice::sanitize::rulesHash(rules);
    } catch (const pgsluice::Error&) {
    }
    std::string out;
    pgsluice::sanitize::JsonScratch scratch;
    bool valid = nlohmann::json::accept(text);
    try {
        editor().edit(text, out, scratch);
        if (valid) {
            nlohmann::json j = nlohmann::json::parse(out);  // throws (crashes) if invalid
            // Duplicate keys: nlohmann keeps the last one, so a surviving duplicate shows here.
            if (j.is_object() &&
                (j.contains("ip") ||
                 (j.contains("card") && j["card"].is_object() && j["card"].contains("number")))) {
                __builtin_trap();
            }
        }
    } catch (const pgsluice::Error&) {
    }
    out.clear();
    try {
        noMatchEditor().edit(text, out, scratch);
        if (valid && nlohmann::json::parse(out) != nlohmann::json::parse(text)) {
            __builtin_trap();  // an edit that matches nothing must not change the document
        }
    } catch (const pgsluice::Error&) {
    }
    return 0;
}
