#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/engine.hpp"
#include "api/metrics.hpp"
#include "channels/http/server.hpp"
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

 private:
  void post_events(http::request&& req, http::responder r);
  void get_product(const std::string& code, const http::request& req,
                   http::responder r);
  void get_explanation(const std::string& code, std::string_view target,
                       const http::request& req, http::responder r);
  void get_shops(const std::string& id, const http::request& req,
                 http::responder r);
  void get_metrics(const http::request& req, http::responder r);
  void post_resync(const std::string& id, const http::request& req,
                   http::responder r);

  engine& engine_;
  metrics& metrics_;
  std::string token_;
  reload_function reload_;
};

/// Decodes %XX escapes of a URL path segment; false on a bad escape.
bool percent_decode(std::string_view in, std::string& out);

} // namespace shelfsync
