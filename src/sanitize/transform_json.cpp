// `json`: any transform applied to the values at paths of json and jsonb documents.

#include <charconv>
#include <limits>
#include <optional>
#include <vector>

#include "pgsluice/sanitize/json_edit.hpp"
#include "transform_parts.hpp"

namespace pgsluice::sanitize::detail {

namespace {

// What one `json` path does to a value it reaches. The inner transform sees a JSON string's
// text (unescaped) as a text value, so `email` in a document writes exactly what it writes in
// a text column; its output is written back as a JSON string. Which values it touches:
//  - `null`: every value becomes JSON null;
//  - `noise`: numbers only (strings stay), keeping the digits after the point;
//  - `digits` and `phone`: strings, and numbers through their text; a result that is no longer
//    a JSON number (digits can give a leading zero) is written as a string;
//  - every other transform: strings only; numbers, booleans, null, objects and arrays stay.
class JsonPathRewriter final : public JsonValueRewriter {
  public:
    JsonPathRewriter(const TransformSpec& inner, const SaltKey& key) : kind_(inner.kind) {
        if (kind_ == TransformKind::noise) {
            noise_.emplace(key, inner.percent);
        } else if (kind_ != TransformKind::null_value) {
            transform_ = makeTransform(inner, ColumnType{TypeKind::text}, key);
        }
    }

    void rewrite(std::string_view value, std::string& out, Scratch& scratch) const override {
        if (kind_ == TransformKind::null_value) {
            out += "null";
            return;
        }
        const char first = value.front();
        if (first == '"') {
            if (!transform_) {
                out.append(value);
                return;
            }
            std::string_view text = value.substr(1, value.size() - 2);
            if (text.find('\\') != std::string_view::npos) {
                decodeJsonString(text, scratch.json.value);
                text = scratch.json.value;
            }
            std::string& result = scratch.json.result;
            result.clear();
            transform_->apply(copy::asBytes(text), result, scratch);
            if (result == text) {
                out.append(value);  // left as it is: keep its own spelling and escapes
                return;
            }
            appendJsonString(result, out);
            return;
        }
        const bool number = first == '-' || (first >= '0' && first <= '9');
        if (!number) {
            out.append(value);
            return;
        }
        if (noise_) {
            noiseNumber(value, out, scratch);
            return;
        }
        if (kind_ != TransformKind::digits && kind_ != TransformKind::phone) {
            out.append(value);
            return;
        }
        std::string& result = scratch.json.result;
        result.clear();
        transform_->apply(copy::asBytes(value), result, scratch);
        if (isJsonNumber(result)) {
            out.append(result);
        } else {
            appendJsonString(result, out);
        }
    }

  private:
    void noiseNumber(std::string_view value, std::string& out, Scratch& scratch) const {
        if (value.find_first_of("eE") != std::string_view::npos) {
            double parsed = 0;
            const auto [end, error] =
                std::from_chars(value.data(), value.data() + value.size(), parsed);
            if (error != std::errc{} || end != value.data() + value.size()) {
                out.append(value);  // beyond double's range: kept
                return;
            }
            const double noisy = noise_->noiseDouble(parsed, std::numeric_limits<double>::max());
            char buffer[32];
            const auto [text_end, text_error] =
                std::to_chars(buffer, buffer + sizeof buffer, noisy);
            (void)text_error;
            out.append(buffer, static_cast<std::size_t>(text_end - buffer));
            return;
        }
        Decimal& decimal = scratch.decimal;
        if (!parseDecimal(value, decimal) || decimal.zero()) {
            out.append(value);  // 0 stays 0, as written
            return;
        }
        noise_->noiseDecimal(decimal, scratch);
        appendDecimalText(decimal, out);
    }

    TransformKind kind_;
    std::unique_ptr<const Transform> transform_;
    std::optional<NoiseCore> noise_;
};

class JsonPathsTransform final : public Transform {
  public:
    JsonPathsTransform(const TransformSpec& spec, const ColumnType& type, const SaltKey& key)
        : Transform(spec, type) {
        std::vector<JsonValueRule> rules;
        for (const JsonPathTransform& path : spec.json_paths) {
            rewriters_.push_back(std::make_unique<JsonPathRewriter>(*path.transform, key));
            rules.push_back({path.path, rewriters_.back().get()});
        }
        editor_ = std::make_unique<JsonEditor>(spec.json_edits, rules);
    }

    void apply(copy::ByteSpan in, std::string& out, Scratch& scratch) const override {
        if (columnType().kind == TypeKind::jsonb) {
            if (in.empty() || std::to_integer<char>(in[0]) != jsonb_version) {
                throw FormatError(
                    in.empty() ? std::string("a jsonb field is empty; its binary form starts "
                                             "with version byte 1")
                               : "a jsonb field has format version " +
                                     std::to_string(std::to_integer<int>(in[0])) +
                                     "; pgsluice reads version 1");
            }
            out += jsonb_version;
            editor_->edit(copy::asText(in.subspan(1)), out, scratch);
            return;
        }
        editor_->edit(copy::asText(in), out, scratch);
    }

  private:
    std::vector<std::unique_ptr<const JsonPathRewriter>> rewriters_;
    std::unique_ptr<const JsonEditor> editor_;
};

}  // namespace

std::unique_ptr<const Transform> makeJsonPathsTransform(const TransformSpec& spec,
                                                        const ColumnType& type,
                                                        const SaltKey& key) {
    return std::make_unique<JsonPathsTransform>(spec, type, key);
}

}  // namespace pgsluice::sanitize::detail
