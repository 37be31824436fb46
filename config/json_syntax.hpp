#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace shelfsync {

/// What a JSON syntax error is, for people: the part of nlohmann's message
/// after the position ("syntax error while parsing value - invalid literal;
/// last read: 'oo'"). The quoted input is shown as is where it is valid
/// UTF-8 and byte by byte as \xNN where it is not, so that the text can be
/// printed and carried in a JSON answer whatever the input was.
std::string describe_syntax_error(const nlohmann::json::parse_error& e);

/// Returns `text` with every byte that is not part of a valid UTF-8 sequence
/// replaced by \xNN.
std::string escape_invalid_utf8(const std::string& text);

} // namespace shelfsync
