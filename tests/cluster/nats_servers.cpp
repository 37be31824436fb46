#include "tests/cluster/nats_servers.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace shelfsync::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// A port nobody listens on right now (the kernel picks it).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// Whether a NATS server on `port` greets a client with its INFO line.
bool answers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buffer[5] = {};
    ok = ::recv(fd, buffer, 4, MSG_WAITALL) == 4 &&
         std::string(buffer, 4) == "INFO";
  }
  ::close(fd);
  return ok;
}

bool executable(const std::string& path) {
  return !path.empty() && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string nats_servers::binary() {
  if (const char* env = std::getenv("NATS_SERVER"); env && executable(env))
    return env;
  std::string dirs = std::getenv("PATH") ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin:/usr/bin";
  std::stringstream in{dirs};
  std::string dir;
  while (std::getline(in, dir, ':'))
    if (!dir.empty() && executable(dir + "/nats-server"))
      return dir + "/nats-server";
  return "";
}

nats_servers::nats_servers(int count) : binary_(binary()) {
  if (binary_.empty()) {
    error_ = "nats-server is not installed (scripts/setup installs it)";
    return;
  }
  char pattern[] = "/tmp/shelfsync-nats-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    error_ = std::string{"cannot create a temporary directory: "} +
             std::strerror(errno);
    return;
  }
  dir_ = pattern;
  servers_.resize(count);
  for (int attempt = 1;; ++attempt) {
    for (auto& s : servers_) {
      s.client_port = free_port();
      s.cluster_port = free_port();
    }
    write_configs();
    int started = 0;
    while (started < count && start(started))
      ++started;
    if (started == count) return;
    // Another process (a test running beside this one) took a port between
    // its pick and the server's bind: new ports, at most 3 times in all.
    if (attempt == 3 ||
        error_.find("address already in use") == std::string::npos)
      return;
    for (int i = 0; i < started; ++i)
      stop(i);
    for (auto& s : servers_)
      fs::remove(s.log_path);
    error_.clear();
  }
}

void nats_servers::write_configs() {
  int count = static_cast<int>(servers_.size());
  for (int i = 0; i < count; ++i) {
    auto& s = servers_[i];
    auto store = dir_ + "/" + name(i);
    fs::create_directories(store);
    s.config_path = dir_ + "/" + name(i) + ".conf";
    s.log_path = dir_ + "/" + name(i) + ".log";
    std::ofstream conf{s.config_path};
    conf << "server_name: " << name(i) << "\n"
         << "listen: 127.0.0.1:" << s.client_port << "\n"
         << "jetstream { store_dir: \"" << store << "\" }\n";
    if (count > 1) {
      conf << "cluster {\n  name: shelfsync_test\n"
           << "  listen: 127.0.0.1:" << s.cluster_port << "\n  routes: [\n";
      for (int j = 0; j < count; ++j)
        if (j != i)
          conf << "    nats://127.0.0.1:" << servers_[j].cluster_port << "\n";
      conf << "  ]\n}\n";
    }
  }
}

nats_servers::~nats_servers() {
  for (int i = 0; i < static_cast<int>(servers_.size()); ++i)
    stop(i);
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

bool nats_servers::start(int i) {
  auto& s = servers_[i];
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(s.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execl(binary_.c_str(), binary_.c_str(), "-c", s.config_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid < 0) {
    error_ = std::string{"fork failed: "} + std::strerror(errno);
    return false;
  }
  s.pid = pid;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (answers(s.client_port)) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      s.pid = -1;
      error_ = name(i) + " exited at start; its log:\n" + log(i);
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  error_ = name(i) + " did not accept clients within 10 s; its log:\n" + log(i);
  return false;
}

bool nats_servers::restart(int i) {
  stop(i);
  return start(i);
}

std::string nats_servers::url(int i) const {
  return "nats://127.0.0.1:" + std::to_string(servers_[i].client_port);
}

std::vector<std::string> nats_servers::urls() const {
  std::vector<std::string> all;
  for (int i = 0; i < static_cast<int>(servers_.size()); ++i)
    all.push_back(url(i));
  return all;
}

std::string nats_servers::name(int i) const { return "s" + std::to_string(i); }

int nats_servers::index_of(const std::string& server_name) const {
  for (int i = 0; i < static_cast<int>(servers_.size()); ++i)
    if (name(i) == server_name) return i;
  return -1;
}

void nats_servers::kill(int i) {
  auto& s = servers_[i];
  if (s.pid <= 0) return;
  ::kill(s.pid, SIGKILL);
  ::waitpid(s.pid, nullptr, 0);
  s.pid = -1;
}

void nats_servers::stop(int i) {
  auto& s = servers_[i];
  if (s.pid <= 0) return;
  ::kill(s.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(s.pid, nullptr, WNOHANG) == s.pid) {
      s.pid = -1;
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  kill(i);
}

std::string nats_servers::log(int i) const {
  std::ifstream in{servers_[i].log_path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace shelfsync::test
