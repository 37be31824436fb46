#pragma once

#include <string>
#include <string_view>

#include "storage/records.hpp"

namespace shelfsync::cluster {

/// Appends `text` as a JSON string: the bytes nlohmann::json's `dump()`
/// writes for it (no ASCII escaping; `"`, `\`, \b \f \n \r \t and the
/// other control characters below U+0020 escaped, these as \u00xx). Text
/// that is not valid UTF-8 (an API-validated event never holds any) has
/// each bad sequence replaced by U+FFFD, as `dump` does when asked to
/// replace rather than throw.
void append_json_string(std::string& out, std::string_view text);

/// Appends one event as the events stream holds it: a JSON object with the
/// keys in alphabetical order and only the fields the event has, byte for
/// byte what `dump()` of the equivalent nlohmann::json object writes (so
/// that msg-ids derived from the text stay what they were). Read back by
/// `decode_events`.
void append_event_json(std::string& out, const stock_event& e);

} // namespace shelfsync::cluster
