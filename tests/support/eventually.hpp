#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace shelfsync::tests {

/// Polls `pred` every 10 ms until it holds or `limit` passes; returns
/// whether it held. For waits on other threads (servers, actors, the
/// simulators); the limit only bounds a failing test.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds{
                           15}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return pred();
}

} // namespace shelfsync::tests
