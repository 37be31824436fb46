#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
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

  /// Starts another program (`program` is its path) the same way.
  void start_program(const std::string& program,
                     const std::vector<std::string>& args,
                     const std::string& out, const std::string& err);

  /// Sends `sig`, waits for the exit and returns the exit code (128 + the
  /// signal when a signal ended it).
  int stop(int sig);

  /// Waits for the exit and returns the exit code as stop() does.
  int wait();

  /// Sends `sig` if it still runs, and returns at once.
  void signal(int sig);

  /// Waits up to `limit` for the exit; returns the exit code as stop()
  /// does, or nothing while it still runs.
  std::optional<int> wait_for(std::chrono::milliseconds limit);

  /// True between start() and the exit being collected.
  bool running() const { return pid_ > 0; }

  /// The process id while running(); -1 otherwise.
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// Polls GET `path` on `base` (e.g. "http://127.0.0.1:8080") until it
/// answers 200; false when `limit` passes first.
bool wait_until_up(const std::string& base, const std::string& path,
                   std::chrono::milliseconds limit);

/// Polls GET /readyz of `shelfsync serve` on `base` until the engine is
/// started (its log replayed): 200, or 503 for a reason other than the
/// start (a store that cannot be written); false when `limit` passes first.
bool wait_until_started(const std::string& base,
                        std::chrono::milliseconds limit);

/// One `shelfsync` process writing stdout and stderr to one log file;
/// SIGKILLed when destroyed.
class shelfsync_process {
 public:
  /// Starts `shelfsync args...`, appending its output to `log`.
  shelfsync_process(const std::vector<std::string>& args, std::string log);

  /// What it wrote so far.
  std::string log() const { return read_file(log_); }

  void signal(int sig) { child_.signal(sig); }

  /// Waits up to `limit` for the exit; the exit code, or nothing.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    return child_.wait_for(limit);
  }

  /// Waits up to `limit` until GET `path` on `port` answers 200; false when
  /// the process exits first.
  bool wait_until_up(uint16_t port, const std::string& path,
                     std::chrono::milliseconds limit = std::chrono::seconds{
                         30});

  /// Waits up to `limit` until `shelfsync serve` on `port` is started (see
  /// tests::wait_until_started); false when the process exits first.
  bool wait_until_started(uint16_t port, std::chrono::milliseconds limit =
                                             std::chrono::seconds{30});

 private:
  std::string log_;
  child_process child_;
};

} // namespace shelfsync::tests
