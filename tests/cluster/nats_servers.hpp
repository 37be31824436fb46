#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace shelfsync::test {

/// Real `nats-server` processes with JetStream on 127.0.0.1, each on free
/// ports with its own store dir in a fresh temporary directory. The
/// destructor stops every one still running (SIGTERM, then SIGKILL) and
/// removes the directory.
class nats_servers {
 public:
  /// The nats-server binary: $NATS_SERVER, else `nats-server` in PATH,
  /// /usr/sbin or /usr/local/sbin; empty when there is none.
  static std::string binary();

  /// Starts `count` servers: one stand-alone server for 1, else a cluster
  /// whose servers route to each other. Returns once every one accepts
  /// clients; `error()` says what failed otherwise.
  explicit nats_servers(int count);
  ~nats_servers();
  nats_servers(const nats_servers&) = delete;
  nats_servers& operator=(const nats_servers&) = delete;

  /// Empty when every server started; else why not.
  const std::string& error() const { return error_; }

  /// The client URL of server `i`: "nats://127.0.0.1:PORT".
  std::string url(int i) const;

  /// Every client URL.
  std::vector<std::string> urls() const;

  /// The server name of server `i` ("s0", "s1", ...), as stream info
  /// reports leaders.
  std::string name(int i) const;

  /// Index of the server named `name`, or -1.
  int index_of(const std::string& name) const;

  /// Sends SIGKILL to server `i` and reaps it.
  void kill(int i);

  /// Sends SIGTERM to server `i`, then SIGKILL if it has not exited within
  /// 5 s, and reaps it.
  void stop(int i);

  /// Starts server `i` again on its ports and store dir; false when it does
  /// not accept clients within 10 s.
  bool restart(int i);

  /// The server's log, for failure messages.
  std::string log(int i) const;

 private:
  struct server {
    int client_port = 0;
    int cluster_port = 0;
    std::string config_path;
    std::string log_path;
    pid_t pid = -1;
  };

  bool start(int i);
  /// Writes every server's config from its ports.
  void write_configs();

  std::string dir_;
  std::string binary_;
  std::vector<server> servers_;
  std::string error_;
};

} // namespace shelfsync::test
