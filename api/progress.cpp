#include "api/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace shelfsync {

std::string import_progress(size_t done, size_t total, double seconds) {
  char text[160];
  auto percent = total == 0 ? 100.0 : 100.0 * done / total;
  if (seconds < min_rate_seconds) {
    std::snprintf(text, sizeof(text), "importing %zu/%zu events (%.0f%%)", done,
                  total, percent);
    return text;
  }
  auto rate = done / seconds;
  auto left = total > done ? total - done : 0;
  auto eta = static_cast<long long>(left / std::max(rate, 1e-9) + 0.5);
  std::snprintf(text, sizeof(text),
                "importing %zu/%zu events (%.0f%%), %.0f/s, ETA %lldm%02llds",
                done, total, percent, rate, eta / 60, eta % 60);
  return text;
}

} // namespace shelfsync
