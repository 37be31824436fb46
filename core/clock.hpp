#pragma once

#include <cstdint>
#include <string>

namespace shelfsync {

/// Milliseconds since the epoch, by the wall clock.
int64_t wall_ms();

/// Formats `ms` since the epoch as RFC 3339 UTC with milliseconds, e.g.
/// "2026-11-27T10:00:00.123Z".
std::string rfc3339(int64_t ms);

} // namespace shelfsync
