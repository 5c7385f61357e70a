#include "pgsluice/sanitize/row_rewriter.hpp"

#include <limits>

#include "pgsluice/error.hpp"

namespace pgsluice::sanitize {

namespace {

void appendLength(std::string& out, std::int32_t length) {
    const auto v = static_cast<std::uint32_t>(length);
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, sizeof bytes);
}

}  // namespace

RowRewriter::RowRewriter(const TableSanitizer& table)
    : table_(&table),
      by_column_(static_cast<std::size_t>(table.column_count), nullptr),
      rule_by_column_(static_cast<std::size_t>(table.column_count), -1) {
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        const RuledColumn& column = table.columns[i];
        if (column.index < 0 || column.index >= table.column_count) {
            throw Error("internal error: rule for column " + std::to_string(column.index) + " of " +
                        table.schema + "." + table.name + ", which has " +
                        std::to_string(table.column_count) + " columns");
        }
        by_column_[static_cast<std::size_t>(column.index)] = column.transform.get();
        rule_by_column_[static_cast<std::size_t>(column.index)] = static_cast<int>(i);
    }
}

void RowRewriter::rewrite(copy::ByteSpan row, std::string& out, std::uint64_t row_number,
                          PassThrough* pass) {
    auto untouched = [&](const char* from, std::size_t length) {
        if (pass != nullptr && length >= pass_through_bytes) {
            pass->pass(out, std::string_view(from, length));
        } else {
            out.append(from, length);
        }
    };
    // RowView checks the field count and every length against the row. Fields are contiguous,
    // so each field's extent follows from the lengths already checked, and a run of untouched
    // fields is copied as one block instead of field by field.
    const copy::RowView view(row, table_->column_count, row_number);
    const char* bytes = reinterpret_cast<const char*>(row.data());
    std::size_t cursor = 2;     // start of the current field's length header
    std::size_t run_start = 0;  // start of the bytes not yet copied (the field count first)
    for (const copy::Field& field : view) {
        const std::size_t end = cursor + 4 + field.bytes.size();
        const Transform* transform = by_column_[static_cast<std::size_t>(field.index)];
        if (transform == nullptr) {
            cursor = end;
            continue;
        }
        untouched(bytes + run_start, cursor - run_start);
        if (field.is_null || transform->outputsNull()) {
            appendLength(out, copy::null_length);
        } else {
            const std::size_t header = out.size();
            appendLength(out, 0);
            try {
                transform->apply(field.bytes, out, scratch_);
            } catch (const FormatError& error) {
                rethrow(error, field.index, row_number);
            }
            patchLength(out, header, field.index, row_number);
        }
        cursor = run_start = end;
    }
    untouched(bytes + run_start, cursor - run_start);
}

void RowRewriter::patchLength(std::string& out, std::size_t header, int column,
                              std::uint64_t row_number) const {
    const std::size_t length = out.size() - header - 4;
    if (length > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        rethrow(FormatError("the rewritten value has " + std::to_string(length) +
                            " bytes, more than a COPY field can hold"),
                column, row_number);
    }
    const auto v = static_cast<std::uint32_t>(length);
    out[header] = static_cast<char>(v >> 24);
    out[header + 1] = static_cast<char>(v >> 16);
    out[header + 2] = static_cast<char>(v >> 8);
    out[header + 3] = static_cast<char>(v);
}

void RowRewriter::rethrow(const FormatError& error, int column, std::uint64_t row_number) const {
    const RuledColumn& rule =
        table_
            ->columns[static_cast<std::size_t>(rule_by_column_[static_cast<std::size_t>(column)])];
    throw FormatError("table " + table_->schema + "." + table_->name + ", column " + rule.name +
                      (row_number > 0 ? ", row " + std::to_string(row_number) : std::string{}) +
                      ": " + rule.transform->spec().name() + ": " + error.what());
}

}  // namespace pgsluice::sanitize
