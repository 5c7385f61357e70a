#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgsluice::pg {

// An identifier as SQL needs it: always double-quoted, embedded quotes doubled. It is the text
// PQescapeIdentifier gives on a UTF8 session (a '"' byte never occurs inside a multibyte
// character of any server encoding), so names built here and on a connection compare equal.
// The same text is an exact pg_dump pattern: quoted parts match literally.
std::string quoteIdentifier(std::string_view name);

// "schema"."name", both parts quoted.
std::string qualifiedName(std::string_view schema, std::string_view name);

// Removes one double-quoted identifier from the front of `text` and returns it unquoted;
// nothing (and `text` unchanged) when `text` does not start with a complete one.
std::optional<std::string> takeQuotedIdentifier(std::string_view& text);

}  // namespace pgsluice::pg
