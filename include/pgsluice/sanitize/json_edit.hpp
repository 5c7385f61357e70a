#pragma once

// Removes, replaces or rewrites values of a JSON document by editing its text in one forward
// scan, without building a DOM: objects and arrays off the edited paths are copied as byte
// ranges, so a document the rules do not touch comes out byte for byte, and only the objects
// and arrays along an edited path are re-assembled member by member (each kept member keeps
// its own text and leading whitespace).

#include <string>
#include <string_view>
#include <vector>

#include "pgsluice/sanitize/rules.hpp"

namespace pgsluice::sanitize {

struct Scratch;  // transform.hpp

// The reusable buffers a JsonEditor and its value rewriters use.
struct JsonScratch {
    std::string key;     // an escaped key, decoded
    std::string value;   // a string value, decoded, for a rewriter
    std::string result;  // a rewriter's output before it is quoted
    std::string number;  // a rewriter's number work
};

// What a `json` path does to each value it reaches; the transforms implement it.
class JsonValueRewriter {
  public:
    virtual ~JsonValueRewriter() = default;
    // VALUE is one whole JSON value as the document spells it (a string with its quotes, a
    // number, true, an object...); appends its replacement to OUT (VALUE itself to keep it).
    // SCRATCH is the worker's; the rewriter may use SCRATCH.json's value, result and number.
    virtual void rewrite(std::string_view value, std::string& out, Scratch& scratch) const = 0;
};

// A `json` path (a `*` segment is every element or member at that level) and its rewriter.
struct JsonValueRule {
    std::string path;
    const JsonValueRewriter* rewriter = nullptr;  // owned by the caller, outlives the editor
};

// The edits of one json/json_remove/json_set rule, as a tree of key paths. Immutable once
// built, so one editor serves every worker; each worker brings its own scratch.
class JsonEditor {
  public:
    // Builds the path tree of EDITS (dotted paths, `*` a literal key) and RULES (dotted, `*`
    // every element or member), already checked not to overlap.
    explicit JsonEditor(const std::vector<JsonEdit>& edits,
                        const std::vector<JsonValueRule>& rules = {});

    // Appends DOCUMENT to OUT with the edits applied: a key on a path is dropped (remove) or
    // gets the new value (set, only where the key exists; nothing is added); a value a rule
    // reaches goes through its rewriter. Literal path segments go through objects; `*` also
    // through arrays. A path that meets a scalar or a missing key changes nothing. Every
    // occurrence of a duplicated key (legal in json) is edited. Throws FormatError when
    // DOCUMENT is not well-formed JSON as far as the scan reads it.
    void edit(std::string_view document, std::string& out, Scratch& scratch) const;
    // The same for an editor without rules (json_remove and json_set only).
    void edit(std::string_view document, std::string& out, JsonScratch& scratch) const;

  private:
    struct Node {
        std::string key;
        enum class Action : unsigned char {
            descend,
            remove,
            set,
            rewrite
        } action = Action::descend;
        std::string value;                            // set: compact JSON text
        const JsonValueRewriter* rewriter = nullptr;  // rewrite
        std::vector<int> children;                    // literal keys: indexes into nodes_
        int any = -1;                                 // `*`: index into nodes_, or -1
    };

    int addPath(std::string_view path, bool wildcards);
    int newNode(std::string key);
    void merge(int into, int from);
    void resolve(int node);
    void editDocument(std::string_view document, std::string& out, JsonScratch& scratch,
                      Scratch* outer) const;

    // The child of node PARENT whose key is KEY, or -1.
    int child(int parent, std::string_view key) const;
    // The node for member KEY of an object at PARENT: its literal child, else `*`, else -1.
    int member(int parent, std::string_view key) const;
    // Rewrites the object that starts at POS (a '{') for node NODE; returns the position after
    // its closing brace.
    std::size_t editObject(std::string_view text, std::size_t pos, int node, std::string& out,
                           JsonScratch& scratch, Scratch* outer) const;
    // Rewrites the array that starts at POS (a '[') whose elements node ELEMENT reaches.
    std::size_t editArray(std::string_view text, std::size_t pos, int element, std::string& out,
                          JsonScratch& scratch, Scratch* outer) const;
    // Edits the value at POS for node NODE (reached by a path); returns the position after it.
    std::size_t editValue(std::string_view text, std::size_t pos, int node, std::string& out,
                          JsonScratch& scratch, Scratch* outer) const;

    std::vector<Node> nodes_;  // nodes_[0] is the document root
    bool has_rules_ = false;
};

// Decodes the escapes of a JSON string's BODY (between the quotes) into OUT; throws
// FormatError for a bad escape.
void decodeJsonString(std::string_view body, std::string& out);

// Appends TEXT as a JSON string (quotes, and escapes for ", \ and control characters).
void appendJsonString(std::string_view text, std::string& out);

// True when TEXT is one JSON number (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
bool isJsonNumber(std::string_view text) noexcept;

}  // namespace pgsluice::sanitize
