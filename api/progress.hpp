#pragma once

#include <cstddef>
#include <string>

namespace shelfsync {

/// A rate from less time than this would be noise: the first batch of an
/// import is often taken in a millisecond.
constexpr double min_rate_seconds = 0.5;

/// The progress line `import` shows on a terminal after `seconds`:
/// "importing 12000/50000 events (24%), 41000/s, ETA 0m01s". Until
/// min_rate_seconds have passed it shows the share done but no rate and no
/// ETA.
std::string import_progress(size_t done, size_t total, double seconds);

} // namespace shelfsync
