#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shelfsync {

/// Where and why a text is not one well-formed JSON document.
struct json_syntax_error {
  /// 0-based byte offset of the byte that did not fit.
  uint64_t offset = 0;
  /// What is wrong, e.g. "syntax error while parsing value - invalid
  /// literal; last read: 'oo'". The quoted input is shown as is where it is
  /// valid UTF-8 and as \xNN where it is not, so that the text can be
  /// printed and carried in a JSON answer whatever the input was.
  std::string detail;
};

/// Tells where `text` stops being one well-formed JSON document. Call it when
/// nlohmann::json::parse threw any json::exception: besides parse_error
/// (which has a position) the parser throws out_of_range 406, without a
/// position, for a number too large for a double (1E400). With `comments`,
/// // and /* */ comments count as whitespace (as in config files).
json_syntax_error locate_syntax_error(std::string_view text,
                                      bool comments = false);

/// Returns `text` with every byte that is not part of a valid UTF-8 sequence
/// replaced by \xNN.
std::string escape_invalid_utf8(const std::string& text);

/// How many characters of a value an error message quotes at most.
constexpr size_t echo_limit = 200;

/// Returns `text` as an error message quotes it: whole when it has at most
/// `limit` characters, else its first `limit` characters and "...". It is
/// cut between UTF-8 sequences, never inside one, so that a megabyte-long
/// value does not come back whole in the answer that refuses it.
std::string shorten(std::string_view text, size_t limit = echo_limit);

} // namespace shelfsync
