#pragma once

#include <string>

#include <caf/error.hpp>

namespace shelfsync {

/// The words an error carries (its string context) without CAF's framing,
/// for one clear line on stderr; the error's code when it carries none.
std::string error_text(const caf::error& err);

} // namespace shelfsync
