#include "actors/log.hpp"

#include "core/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace shelfsync {

namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::atomic<int> format{static_cast<int>(log_format::text)};
std::mutex out_mutex;
/// The status line shown below the log lines; guarded by out_mutex.
std::string status;

const char* name(log_level x) {
  switch (x) {
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warning:
    return "warning";
  case log_level::error:
    return "error";
  }
  return "info";
}

/// Carriage return and erase-line: the cursor back at the start of an
/// empty line.
constexpr const char* clear_line = "\r\033[K";

/// Writes `line` (with its newline) above the status line, if any.
void emit(const std::string& line) {
  std::lock_guard<std::mutex> guard{out_mutex};
  if (status.empty()) {
    std::fputs(line.c_str(), stderr);
    return;
  }
  std::fputs(clear_line, stderr);
  std::fputs(line.c_str(), stderr);
  std::fputs(status.c_str(), stderr);
  std::fflush(stderr);
}

std::string json_line(nlohmann::json fields) {
  return fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

} // namespace

void set_log_level(log_level level) { min_level = static_cast<int>(level); }

void set_log_format(log_format f) { format = static_cast<int>(f); }

void log_line(log_level level, std::string_view component,
              std::string_view message) {
  if (static_cast<int>(level) < min_level) return;
  auto stamp = rfc3339(wall_ms());
  if (format == static_cast<int>(log_format::json)) {
    emit(json_line({{"time", stamp},
                    {"level", name(level)},
                    {"component", component},
                    {"message", message}}));
    return;
  }
  std::string line = stamp + " " + name(level) + " ";
  line.append(component);
  line += ": ";
  line.append(message);
  line += '\n';
  emit(line);
}

void log_access(log_level level, std::string_view method, std::string_view path,
                int status, double ms) {
  if (static_cast<int>(level) < min_level) return;
  auto stamp = rfc3339(wall_ms());
  char took[32];
  std::snprintf(took, sizeof(took), "%.1f", ms);
  if (format == static_cast<int>(log_format::json)) {
    emit(json_line({{"time", stamp},
                    {"level", name(level)},
                    {"component", "access"},
                    {"method", method},
                    {"path", path},
                    {"status", status},
                    {"ms", std::stod(took)}}));
    return;
  }
  std::string line = stamp + " " + name(level) + " access: ";
  line.append(method);
  line += ' ';
  line.append(path);
  line += ' ' + std::to_string(status) + ' ' + took + " ms\n";
  emit(line);
}

void apply_log_settings(std::string_view level, std::string_view format) {
  for (auto x : {log_level::debug, log_level::info, log_level::warning,
                 log_level::error})
    if (level == name(x)) set_log_level(x);
  if (format == "text") set_log_format(log_format::text);
  if (format == "json") set_log_format(log_format::json);
}

void set_status_line(std::string text) {
  std::lock_guard<std::mutex> guard{out_mutex};
  std::fputs(clear_line, stderr);
  status = std::move(text);
  std::fputs(status.c_str(), stderr);
  std::fflush(stderr);
}

} // namespace shelfsync
