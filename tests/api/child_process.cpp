#include "tests/api/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>

#include "net/client.hpp"
#include "net/url.hpp"

namespace shelfsync::tests {

namespace {

/// The exit code of a waitpid status (128 + the signal when one ended it).
int exit_code(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

} // namespace

std::string shelfsync_binary() {
  const char* bin = std::getenv("SHELFSYNC_BIN");
  return bin == nullptr ? std::string{} : std::string{bin};
}

uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a{
      io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

std::string read_file(const std::string& path) {
  std::stringstream text;
  text << std::ifstream{path}.rdbuf();
  return text.str();
}

child_process::~child_process() {
  if (running()) stop(SIGKILL);
}

void child_process::start(const std::vector<std::string>& args,
                          const std::string& out, const std::string& err) {
  start_program(shelfsync_binary(), args, out, err);
}

void child_process::start_program(const std::string& program,
                                  const std::vector<std::string>& args,
                                  const std::string& out,
                                  const std::string& err) {
  auto bin = program;
  std::vector<char*> argv;
  argv.push_back(bin.data());
  auto copy = args;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ != 0) return;
  // In the child: only async-signal-safe calls until exec.
  auto redirect = [](const std::string& file, int fd) {
    if (file.empty()) return;
    int f = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (f >= 0) ::dup2(f, fd);
  };
  redirect(out, STDOUT_FILENO);
  redirect(err, STDERR_FILENO);
  ::execv(argv[0], argv.data());
  _exit(127);
}

int child_process::stop(int sig) {
  if (!running()) return -1;
  ::kill(pid_, sig);
  return wait();
}

int child_process::wait() {
  if (!running()) return -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return exit_code(status);
}

void child_process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (running()) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return exit_code(status);
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return std::nullopt;
}

bool wait_until_up(const std::string& base, const std::string& path,
                   std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto url = http::parse_url(base);
  if (!url) return false;
  while (std::chrono::steady_clock::now() < deadline) {
    http::client c{*url};
    auto r = c.send(http::make_request(http::verb::get, path));
    if (r.ok() && r.value().result_int() == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

bool wait_until_started(const std::string& base,
                        std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  auto url = http::parse_url(base);
  if (!url) return false;
  while (std::chrono::steady_clock::now() < deadline) {
    http::client c{*url};
    auto r = c.send(http::make_request(http::verb::get, "/readyz"));
    if (r.ok() &&
        (r.value().result_int() == 200 ||
         (r.value().result_int() == 503 &&
          r.value().body().find("\"starting\"") == std::string::npos)))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return false;
}

shelfsync_process::shelfsync_process(const std::vector<std::string>& args,
                                     std::string log)
    : log_(std::move(log)) {
  child_.start(args, log_, log_);
}

bool shelfsync_process::wait_until_up(uint16_t port, const std::string& path,
                                      std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  auto base = "http://127.0.0.1:" + std::to_string(port);
  while (std::chrono::steady_clock::now() < until) {
    if (!child_.running() || child_.wait_for(std::chrono::milliseconds{0}))
      return false; // it exited
    if (tests::wait_until_up(base, path, std::chrono::milliseconds{50}))
      return true;
  }
  return false;
}

bool shelfsync_process::wait_until_started(uint16_t port,
                                           std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  auto base = "http://127.0.0.1:" + std::to_string(port);
  while (std::chrono::steady_clock::now() < until) {
    if (!child_.running() || child_.wait_for(std::chrono::milliseconds{0}))
      return false; // it exited
    if (tests::wait_until_started(base, std::chrono::milliseconds{50}))
      return true;
  }
  return false;
}

} // namespace shelfsync::tests
