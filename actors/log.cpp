#include "actors/log.hpp"

#include "core/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace shelfsync {

namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::mutex out_mutex;

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

} // namespace

void set_log_level(log_level level) { min_level = static_cast<int>(level); }

void log_line(log_level level, std::string_view component,
              std::string_view message) {
  if (static_cast<int>(level) < min_level) return;
  auto stamp = rfc3339(wall_ms());
  std::lock_guard<std::mutex> guard{out_mutex};
  std::fprintf(stderr, "%s %s %.*s: %.*s\n", stamp.c_str(), name(level),
               static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

} // namespace shelfsync
