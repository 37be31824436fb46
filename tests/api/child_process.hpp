#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

/// Running the real shelfsync binary from a test: start it, wait until it
/// answers, kill it.
namespace shelfsync::tests {

/// The shelfsync binary under test (env SHELFSYNC_BIN), or "" when unset.
std::string shelfsync_binary();

/// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();

/// The whole content of `path`, or "" when it cannot be read.
std::string read_file(const std::string& path);

/// One child process running the shelfsync binary.
class child_process {
 public:
  child_process() = default;
  /// SIGKILLs a child still running.
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Starts `shelfsync args...`, appending its stdout to `out` and its
  /// stderr to `err` (an empty name leaves the stream as it is).
  void start(const std::vector<std::string>& args, const std::string& out,
             const std::string& err);

  /// Sends `sig`, waits for the exit and returns the exit code (128 + the
  /// signal when a signal ended it).
  int stop(int sig);

  /// Waits for the exit and returns the exit code as stop() does.
  int wait();

  /// True between start() and the exit being collected.
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

/// Polls GET `path` on `base` (e.g. "http://127.0.0.1:8080") until it
/// answers 200; false when `limit` passes first.
bool wait_until_up(const std::string& base, const std::string& path,
                   std::chrono::milliseconds limit);

} // namespace shelfsync::tests
