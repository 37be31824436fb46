#pragma once

#include <string_view>

namespace shelfsync {

/// Severity of a log line.
enum class log_level { debug, info, warning, error };

/// Writes one line to stderr: time, level, component, message. Thread-safe.
/// Never pass secrets: nothing here can tell them apart.
void log_line(log_level level, std::string_view component,
              std::string_view message);

/// Sets the lowest level written (default info).
void set_log_level(log_level level);

} // namespace shelfsync
