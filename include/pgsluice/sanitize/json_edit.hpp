#pragma once

// Removes or replaces keys of a JSON document by editing its text in one forward scan, without
// building a DOM: objects off the edited paths are copied as byte ranges, so a document the
// rules do not touch comes out byte for byte, and only the objects along an edited path are
// re-assembled member by member (each kept member keeps its own text and leading whitespace).

#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/sanitize/rules.hpp"

namespace pgsluice::sanitize {

// The reusable buffer a JsonEditor decodes escaped keys into.
struct JsonScratch {
    std::string key;
};

// The edits of one json_remove/json_set rule, as a tree of key paths. Immutable once built,
// so one editor serves every worker; each worker brings its own JsonScratch.
class JsonEditor {
  public:
    // Builds the path tree of EDITS (dotted paths, already checked not to overlap).
    explicit JsonEditor(const std::vector<JsonEdit>& edits);

    // Appends DOCUMENT to OUT with the edits applied: a key on a path is dropped (remove) or
    // gets the new value (set, only where the key exists; nothing is added). Paths go through
    // objects only; a path that meets an array, a scalar or a missing key changes nothing.
    // Every occurrence of a duplicated key (legal in json) is edited. Throws FormatError when
    // DOCUMENT is not well-formed JSON as far as the scan reads it.
    void edit(std::string_view document, std::string& out, JsonScratch& scratch) const;

  private:
    struct Node {
        std::string key;
        enum class Action : unsigned char { descend, remove, set } action = Action::descend;
        std::string value;          // set: compact JSON text
        std::vector<int> children;  // indexes into nodes_
    };

    // The child of node PARENT whose key is KEY, or -1.
    int child(int parent, std::string_view key) const;
    // Rewrites the object that starts at POS (a '{') for node NODE; returns the position after
    // its closing brace.
    std::size_t editObject(std::string_view text, std::size_t pos, int node, std::string& out,
                           JsonScratch& scratch) const;

    std::vector<Node> nodes_;  // nodes_[0] is the document root
};

}  // namespace pgsluice::sanitize
