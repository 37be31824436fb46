#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "api/metrics.hpp"
#include "net/server.hpp"
#include "config/config.hpp"

namespace shelfsync {

/// Re-reads the config file; returns its problems (empty = now in force).
using reload_function = std::function<std::vector<config_problem>()>;

/// The HTTP API of spec §4.3 on top of an engine.
class http_api {
 public:
  /// `token` is the bearer token every endpoint but /healthz, /readyz and
  /// /metrics requires.
  http_api(engine& eng, metrics& counters, std::string token,
           reload_function reload);

  /// Handles one request (the http::server's handler).
  void handle(http::request&& req, http::responder r);

  /// Replaces the bearer token (a reload that changed `api.token_env`);
  /// requests checked after it need the new one.
  void set_token(std::string token);

 private:
  void post_events(http::request&& req, http::responder r);
  void get_product(const std::string& code, const http::request& req,
                   http::responder r);
  void get_explanation(const std::string& code, std::string_view target,
                       const http::request& req, http::responder r);
  void get_shops(const std::string& id, const http::request& req,
                 http::responder r);
  void get_metrics(const http::request& req, http::responder r);
  void post_backup(const http::request& req, http::responder r);
  void post_resync(const std::string& id, const http::request& req,
                   http::responder r);

  engine& engine_;
  metrics& metrics_;
  /// Guards `token_`: requests are handled on several threads.
  std::mutex token_mutex_;
  std::string token_;
  reload_function reload_;
};

/// Decodes %XX escapes of a URL path segment; false on a bad escape.
bool percent_decode(std::string_view in, std::string& out);

} // namespace shelfsync
