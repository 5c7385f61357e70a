#include "pgsluice/sanitize/json_edit.hpp"

#include <cstring>
#include <string>

#include "pgsluice/error.hpp"
#include "pgsluice/hex.hpp"

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
void decodeString(std::string_view body, std::string& out, std::size_t at) {
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
                appendUtf8(out, code);
                break;
            }
            default:
                malformed(at, "unknown escape");
        }
    }
}

}  // namespace

JsonEditor::JsonEditor(const std::vector<JsonEdit>& edits) {
    nodes_.emplace_back();
    for (const JsonEdit& edit : edits) {
        int node = 0;
        std::size_t start = 0;
        while (true) {
            const std::size_t dot = edit.path.find('.', start);
            const std::string key =
                edit.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            int next = child(node, key);
            if (next < 0) {
                next = static_cast<int>(nodes_.size());
                nodes_.push_back(Node{key, Node::Action::descend, {}, {}});
                nodes_[static_cast<std::size_t>(node)].children.push_back(next);
            }
            node = next;
            if (dot == std::string::npos) {
                break;
            }
            start = dot + 1;
        }
        Node& leaf = nodes_[static_cast<std::size_t>(node)];
        leaf.action = edit.remove ? Node::Action::remove : Node::Action::set;
        leaf.value = edit.value;
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

void JsonEditor::edit(std::string_view document, std::string& out, JsonScratch& scratch) const {
    const std::size_t pos = skipSpace(document, 0);
    if (pos >= document.size() || document[pos] != '{' || nodes_[0].children.empty()) {
        out.append(document);  // arrays, scalars and JSON null have no keys to edit
        return;
    }
    out.append(document.substr(0, pos));
    const std::size_t end = editObject(document, pos, 0, out, scratch);
    out.append(document.substr(end));
}

std::size_t JsonEditor::editObject(std::string_view text, std::size_t pos, int node,
                                   std::string& out, JsonScratch& scratch) const {
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
            decodeString(key, scratch.key, pos);
            key = scratch.key;
        }
        pos = skipSpace(text, key_end);
        if (pos >= text.size() || text[pos] != ':') {
            malformed(pos, "':' was expected after an object key");
        }
        const std::size_t value = skipSpace(text, pos + 1);
        const int match = child(node, key);
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
            if (target != nullptr && target->action == Node::Action::set) {
                out.append(text.substr(key_start, value - key_start));
                out.append(target->value);
                value_end = skipValue(text, value);
            } else if (target != nullptr && value < text.size() && text[value] == '{') {
                out.append(text.substr(key_start, value - key_start));
                value_end = editObject(text, value, match, out, scratch);
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
