#pragma once

#include <string>
#include <string_view>

namespace shelfsync {

/// Severity of a log line.
enum class log_level { debug, info, warning, error };

/// How a log line is written, from `node.log_format`.
enum class log_format {
  /// `2026-12-04T13:00:00.000Z info serve: listening on ...`
  text,
  /// One JSON object a line: {"time", "level", "component", "message"},
  /// and the request's fields on an access line.
  json,
};

/// Writes one line to stderr: time, level, component, message. Thread-safe.
/// Never pass secrets: nothing here can tell them apart.
void log_line(log_level level, std::string_view component,
              std::string_view message);

/// Writes the access line of one API request (component "access"):
/// method, path (without its query, which may carry secrets), status and
/// milliseconds taken.
void log_access(log_level level, std::string_view method, std::string_view path,
                int status, double ms);

/// Sets the lowest level written (default info).
void set_log_level(log_level level);

/// Sets how lines are written (default text).
void set_log_format(log_format format);

/// Applies `node.log_level` and `node.log_format` as the config checked
/// them ("debug".."error", "text" or "json"); other values change nothing.
void apply_log_settings(std::string_view level, std::string_view format);

/// Shows `text` as a status line at the bottom of a terminal (import's
/// progress): log lines clear it, print, then redraw it, so that a warning
/// never breaks it. An empty text removes it. Only for a stderr that is a
/// terminal.
void set_status_line(std::string text);

} // namespace shelfsync
