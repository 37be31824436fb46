#pragma once

// Helpers for tests that run the real `shelfsync` binary (named by the
// SHELFSYNC_BIN environment variable, which ctest sets to the binary of the
// same build tree, sanitized or not).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "channels/http/client.hpp"
#include "channels/http/url.hpp"

namespace shelfsync::test {

/// A loopback port that was free a moment ago.
inline uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a{
      io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

/// The whole content of a file; empty if it cannot be read.
inline std::string read_file(const std::string& path) {
  std::stringstream text;
  text << std::ifstream{path}.rdbuf();
  return text.str();
}

/// One running `shelfsync` process; killed with SIGKILL when destroyed.
class shelfsync_process {
 public:
  /// Starts `$SHELFSYNC_BIN args...` with stdout and stderr appended to
  /// `log`. `pid()` is -1 if SHELFSYNC_BIN is not set.
  shelfsync_process(const std::vector<std::string>& args, std::string log)
      : log_{std::move(log)} {
    const char* bin = std::getenv("SHELFSYNC_BIN");
    if (bin == nullptr) return;
    // Else the child's freopen flushes the parent's buffered output once more.
    std::fflush(nullptr);
    pid_ = ::fork();
    if (pid_ != 0) return;
    std::freopen(log_.c_str(), "a", stdout);
    std::freopen(log_.c_str(), "a", stderr);
    std::vector<char*> argv{const_cast<char*>(bin)};
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin, argv.data());
    _exit(127);
  }

  ~shelfsync_process() { kill_hard(); }

  shelfsync_process(const shelfsync_process&) = delete;
  shelfsync_process& operator=(const shelfsync_process&) = delete;

  /// The process id; -1 once it was reaped.
  pid_t pid() const { return pid_; }

  /// What it wrote to stdout and stderr so far.
  std::string log() const { return read_file(log_); }

  /// Sends `sig` if it still runs.
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  /// Kills it with SIGKILL and reaps it.
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  /// Waits up to `limit` for it to exit; returns its exit code, or -signal
  /// if a signal ended it, or nothing if it still runs.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      auto r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() > until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    return std::nullopt;
  }

  /// Waits up to `limit` until `GET path` on `port` answers 200.
  bool wait_until_up(uint16_t port, const std::string& path,
                     std::chrono::milliseconds limit = std::chrono::seconds{
                         30}) {
    auto until = std::chrono::steady_clock::now() + limit;
    auto url = *http::parse_url("http://127.0.0.1:" + std::to_string(port));
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false; // it exited
      }
      http::client c{url};
      auto r = c.send(http::make_request(http::verb::get, path));
      if (r.ok() && r.value().result_int() == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return false;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

} // namespace shelfsync::test
