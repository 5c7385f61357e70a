#include "pgsluice/sanitize/json_edit.hpp"

#include <cstring>
#include <string>

#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"
#include "pgsluice/sanitize/transform.hpp"

namespace pgsluice::sanitize {

namespace {

[[noreturn]] void malformed(std::size_t pos, std::string_view what) {
    throw FormatError("malformed JSON at byte " + std::to_string(pos) + ": " + std::string(what));
}

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skipSpace(std::string_view text, std::size_t pos) {
    while (pos < text.size() && isSpace(text[pos])) {
        ++pos;
    }
    return pos;
}

// The position after the string whose opening quote is at POS; ESCAPED is set when it holds a
// backslash, so that only such keys pay for decoding.
std::size_t scanString(std::string_view text, std::size_t pos, bool& escaped) {
    const std::size_t start = pos++;
    // memchr finds the candidate quotes quickly; a quote after an odd run of backslashes is
    // escaped and the search goes on past it.
    while (pos < text.size()) {
        const void* found = std::memchr(text.data() + pos, '"', text.size() - pos);
        if (found == nullptr) {
            break;
        }
        const auto quote = static_cast<std::size_t>(static_cast<const char*>(found) - text.data());
        std::size_t backslashes = 0;
        while (quote - backslashes > pos && text[quote - backslashes - 1] == '\\') {
            ++backslashes;
        }
        if (!escaped && std::memchr(text.data() + pos, '\\', quote - pos) != nullptr) {
            escaped = true;
        }
        if (backslashes % 2 == 0) {
            return quote + 1;
        }
        pos = quote + 1;
    }
    malformed(start, "unterminated string");
}

// The position after the value that starts at POS. Containers are skipped by counting
// brackets, without recursion, so a deeply nested document cannot exhaust the stack.
std::size_t skipValue(std::string_view text, std::size_t pos) {
    if (pos >= text.size()) {
        malformed(pos, "a value was expected");
    }
    const char first = text[pos];
    bool escaped = false;
    if (first == '"') {
        return scanString(text, pos, escaped);
    }
    if (first == '{' || first == '[') {
        const std::size_t start = pos;
        std::size_t depth = 0;
        while (pos < text.size()) {
            const char c = text[pos];
            if (c == '"') {
                pos = scanString(text, pos, escaped);
                continue;
            }
            if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    return pos + 1;
                }
            }
            ++pos;
        }
        malformed(start, "unterminated object or array");
    }
    const std::size_t start = pos;
    while (pos < text.size() && !isSpace(text[pos]) && text[pos] != ',' && text[pos] != '}' &&
           text[pos] != ']' && text[pos] != ':') {
        ++pos;
    }
    if (pos == start) {
        malformed(pos, "a value was expected");
    }
    return pos;
}

unsigned readHex4(std::string_view body, std::size_t pos, std::size_t at) {
    if (pos + 4 > body.size()) {
        malformed(at, "truncated \\u escape");
    }
    unsigned value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const int digit = hexDigitValue(body[pos + i]);
        if (digit < 0) {
            malformed(at, "bad \\u escape");
        }
        value = value << 4 | static_cast<unsigned>(digit);
    }
    return value;
}

void appendUtf8(std::string& out, unsigned code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | code >> 6);
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | code >> 12);
        out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | code >> 18);
        out += static_cast<char>(0x80 | (code >> 12 & 0x3F));
        out += static_cast<char>(0x80 | (code >> 6 & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

// Decodes the escapes of a string body (between the quotes) into OUT; AT is for messages.
void decodeStringAt(std::string_view body, std::string& out, std::size_t at) {
    out.clear();
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        if (++i >= body.size()) {
            malformed(at, "truncated escape");
        }
        switch (body[i]) {
            case '"':
            case '\\':
            case '/':
                out += body[i];
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned code = readHex4(body, i + 1, at);
                i += 4;
                if (code >= 0xD800 && code <= 0xDBFF && i + 2 < body.size() &&
                    body[i + 1] == '\\' && body[i + 2] == 'u') {
                    const unsigned low = readHex4(body, i + 3, at);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        i += 6;
                    }
                }
                if (code >= 0xD800 && code <= 0xDFFF) {
                    // An unpaired surrogate (json accepts the escape) has no UTF-8 form: a
                    // rewritten string must stay valid UTF-8, so it reads as U+FFFD.
                    code = 0xFFFD;
                }
                appendUtf8(out, code);
                break;
            }
            default:
                malformed(at, "unknown escape");
        }
    }
}

JsonScratch& scratchJson(Scratch& scratch) {
    return scratch.json;
}

}  // namespace

void decodeJsonString(std::string_view body, std::string& out) {
    decodeStringAt(body, out, 0);
}

void appendJsonString(std::string_view text, std::string& out) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the characters not yet copied
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        out.append(text.substr(run, i - run));
        run = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default: {
                const char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                out.append(escape, sizeof escape);
            }
        }
    }
    out.append(text.substr(run));
    out += '"';
}

bool isJsonNumber(std::string_view text) noexcept {
    std::size_t pos = 0;
    auto digits = [&] {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        return pos - start;
    };
    if (pos < text.size() && text[pos] == '-') {
        ++pos;
    }
    if (pos < text.size() && text[pos] == '0') {
        ++pos;
    } else if (digits() == 0) {
        return false;
    }
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        if (digits() == 0) {
            return false;
        }
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            ++pos;
        }
        if (digits() == 0) {
            return false;
        }
    }
    return pos == text.size();
}

JsonEditor::JsonEditor(const std::vector<JsonEdit>& edits,
                       const std::vector<JsonValueRule>& rules) {
    nodes_.emplace_back();
    for (const JsonEdit& edit : edits) {
        Node& leaf = nodes_[static_cast<std::size_t>(addPath(edit.path, false))];
        leaf.action = edit.remove ? Node::Action::remove : Node::Action::set;
        leaf.value = edit.value;
    }
    for (const JsonValueRule& rule : rules) {
        Node& leaf = nodes_[static_cast<std::size_t>(addPath(rule.path, true))];
        leaf.action = Node::Action::rewrite;
        leaf.rewriter = rule.rewriter;
        has_rules_ = true;
    }
    resolve(0);
}

int JsonEditor::newNode(std::string key) {
    nodes_.push_back(Node{std::move(key), Node::Action::descend, {}, nullptr, {}, -1});
    return static_cast<int>(nodes_.size() - 1);
}

int JsonEditor::addPath(std::string_view path, bool wildcards) {
    int node = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        const std::string key(path.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        int next = -1;
        if (wildcards && key == "*") {
            next = nodes_[static_cast<std::size_t>(node)].any;
            if (next < 0) {
                next = newNode(key);
                nodes_[static_cast<std::size_t>(node)].any = next;
            }
        } else {
            next = child(node, key);
            if (next < 0) {
                next = newNode(key);
                nodes_[static_cast<std::size_t>(node)].children.push_back(next);
            }
        }
        node = next;
        if (dot == std::string_view::npos) {
            return node;
        }
        start = dot + 1;
    }
}

// Copies the subtree at FROM into the node INTO (whose key stays). Paths were checked not to
// overlap, so a leaf never meets a leaf or an inner node here; a leaf INTO is left alone.
void JsonEditor::merge(int into, int from) {
    if (nodes_[static_cast<std::size_t>(into)].action != Node::Action::descend) {
        return;
    }
    if (nodes_[static_cast<std::size_t>(from)].action != Node::Action::descend) {
        Node& target = nodes_[static_cast<std::size_t>(into)];
        const Node& source = nodes_[static_cast<std::size_t>(from)];
        if (target.children.empty() && target.any < 0) {
            target.action = source.action;
            target.value = source.value;
            target.rewriter = source.rewriter;
        }
        return;
    }
    const std::vector<int> children = nodes_[static_cast<std::size_t>(from)].children;
    for (const int c : children) {
        const std::string key = nodes_[static_cast<std::size_t>(c)].key;
        int target = child(into, key);
        if (target < 0) {
            target = newNode(key);
            nodes_[static_cast<std::size_t>(into)].children.push_back(target);
        }
        merge(target, c);
    }
    const int any = nodes_[static_cast<std::size_t>(from)].any;
    if (any >= 0) {
        int target = nodes_[static_cast<std::size_t>(into)].any;
        if (target < 0) {
            target = newNode("*");
            nodes_[static_cast<std::size_t>(into)].any = target;
        }
        merge(target, any);
    }
}

// Gives every literal child of NODE what `*` at NODE holds too, so that an object member
// follows exactly one node: its literal child if there is one, else `*`.
void JsonEditor::resolve(int node) {
    const int any = nodes_[static_cast<std::size_t>(node)].any;
    const std::vector<int> children = nodes_[static_cast<std::size_t>(node)].children;
    if (any >= 0) {
        for (const int c : children) {
            merge(c, any);
        }
    }
    for (const int c : children) {
        resolve(c);
    }
    if (any >= 0) {
        resolve(any);
    }
}

int JsonEditor::child(int parent, std::string_view key) const {
    for (const int index : nodes_[static_cast<std::size_t>(parent)].children) {
        if (nodes_[static_cast<std::size_t>(index)].key == key) {
            return index;
        }
    }
    return -1;
}

int JsonEditor::member(int parent, std::string_view key) const {
    const int literal = child(parent, key);
    return literal >= 0 ? literal : nodes_[static_cast<std::size_t>(parent)].any;
}

void JsonEditor::edit(std::string_view document, std::string& out, Scratch& scratch) const {
    editDocument(document, out, scratchJson(scratch), &scratch);
}

void JsonEditor::edit(std::string_view document, std::string& out, JsonScratch& scratch) const {
    if (has_rules_) {
        throw Error("internal error: a JSON editor with value rules needs the worker's scratch");
    }
    editDocument(document, out, scratch, nullptr);
}

void JsonEditor::editDocument(std::string_view document, std::string& out, JsonScratch& scratch,
                              Scratch* outer) const {
    const std::size_t pos = skipSpace(document, 0);
    const Node& root = nodes_[0];
    const bool object =
        pos < document.size() && document[pos] == '{' && (!root.children.empty() || root.any >= 0);
    const bool array = pos < document.size() && document[pos] == '[' && root.any >= 0;
    if (!object && !array) {
        out.append(document);  // scalars and JSON null have no keys to edit
        return;
    }
    out.append(document.substr(0, pos));
    const std::size_t end = object ? editObject(document, pos, 0, out, scratch, outer)
                                   : editArray(document, pos, root.any, out, scratch, outer);
    out.append(document.substr(end));
}

std::size_t JsonEditor::editValue(std::string_view text, std::size_t value, int node,
                                  std::string& out, JsonScratch& scratch, Scratch* outer) const {
    const Node& target = nodes_[static_cast<std::size_t>(node)];
    if (target.action == Node::Action::rewrite) {
        const std::size_t value_end = skipValue(text, value);
        if (outer == nullptr) {
            throw Error("internal error: a JSON value rule without the worker's scratch");
        }
        target.rewriter->rewrite(text.substr(value, value_end - value), out, *outer);
        return value_end;
    }
    if (target.action == Node::Action::set) {
        out.append(target.value);
        return skipValue(text, value);
    }
    if (target.action == Node::Action::descend && value < text.size()) {
        if (text[value] == '{') {
            return editObject(text, value, node, out, scratch, outer);
        }
        if (text[value] == '[' && target.any >= 0) {
            return editArray(text, value, target.any, out, scratch, outer);
        }
    }
    const std::size_t value_end = skipValue(text, value);
    out.append(text.substr(value, value_end - value));
    return value_end;
}

std::size_t JsonEditor::editArray(std::string_view text, std::size_t pos, int element,
                                  std::string& out, JsonScratch& scratch, Scratch* outer) const {
    out += '[';
    ++pos;
    while (true) {
        const std::size_t chunk = pos;
        pos = skipSpace(text, pos);
        if (pos >= text.size()) {
            malformed(pos, "unterminated array");
        }
        out.append(text.substr(chunk, pos - chunk));  // the element's leading blanks
        if (text[pos] == ']') {
            out += ']';
            return pos + 1;
        }
        const std::size_t value_end = editValue(text, pos, element, out, scratch, outer);
        const std::size_t after = skipSpace(text, value_end);
        if (after >= text.size()) {
            malformed(after, "unterminated array");
        }
        out.append(text.substr(value_end, after - value_end));
        if (text[after] == ',') {
            out += ',';
            pos = after + 1;
        } else if (text[after] == ']') {
            out += ']';
            return after + 1;
        } else {
            malformed(after, "',' or ']' was expected after an array element");
        }
    }
}

std::size_t JsonEditor::editObject(std::string_view text, std::size_t pos, int node,
                                   std::string& out, JsonScratch& scratch, Scratch* outer) const {
    out += '{';
    ++pos;
    bool first_kept = true;
    // The blanks after '{'. The first member kept takes these rather than its own (which
    // followed a comma) so that removing leading members leaves the layout jsonb prints,
    // `{"a": 1}`, and a sanitised jsonb value hashes the same as what the target stores.
    std::string_view opening_blanks;
    bool first_member = true;
    while (true) {
        // A member's chunk runs from just after the '{' or ',' to the end of its value, so a
        // kept member brings its own leading whitespace along.
        const std::size_t chunk = pos;
        pos = skipSpace(text, pos);
        if (pos >= text.size()) {
            malformed(pos, "unterminated object");
        }
        if (text[pos] == '}') {
            out.append(text.substr(chunk, pos - chunk));  // the blanks of `{ }`
            out += '}';
            return pos + 1;
        }
        if (text[pos] != '"') {
            malformed(pos, "an object key was expected");
        }
        const std::size_t key_start = pos;
        if (first_member) {
            opening_blanks = text.substr(chunk, key_start - chunk);
            first_member = false;
        }
        bool escaped = false;
        const std::size_t key_end = scanString(text, pos, escaped);
        std::string_view key = text.substr(pos + 1, key_end - pos - 2);
        if (escaped) {
            decodeStringAt(key, scratch.key, pos);
            key = scratch.key;
        }
        pos = skipSpace(text, key_end);
        if (pos >= text.size() || text[pos] != ':') {
            malformed(pos, "':' was expected after an object key");
        }
        const std::size_t value = skipSpace(text, pos + 1);
        const int match = member(node, key);
        const Node* target = match < 0 ? nullptr : &nodes_[static_cast<std::size_t>(match)];
        std::size_t value_end = 0;
        if (target != nullptr && target->action == Node::Action::remove) {
            value_end = skipValue(text, value);
        } else {
            if (!first_kept) {
                out += ',';
            }
            out.append(first_kept ? opening_blanks : text.substr(chunk, key_start - chunk));
            first_kept = false;
            if (target != nullptr) {
                out.append(text.substr(key_start, value - key_start));
                value_end = editValue(text, value, match, out, scratch, outer);
            } else {
                value_end = skipValue(text, value);
                out.append(text.substr(key_start, value_end - key_start));
            }
        }
        const std::size_t after = skipSpace(text, value_end);
        if (after >= text.size()) {
            malformed(after, "unterminated object");
        }
        if (text[after] == ',') {
            pos = after + 1;
        } else if (text[after] == '}') {
            out.append(text.substr(value_end, after - value_end));
            out += '}';
            return after + 1;
        } else {
            malformed(after, "',' or '}' was expected after an object member");
        }
    }
}

}  // namespace pgsluice::sanitize
