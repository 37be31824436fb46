#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/engine.hpp"
#include "api/metrics.hpp"
#include "cluster/node.hpp"
#include "cluster/shop_drivers.hpp"
#include "config/config.hpp"
#include "net/server.hpp"

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

  /// Cancels a config preview in progress and waits for it.
  ~http_api();

  /// Handles one request (the http::server's handler).
  void handle(http::request&& req, http::responder r);

  /// Replaces the bearer token (a reload that changed `api.token_env`);
  /// requests checked after it need the new one.
  void set_token(std::string token);

  /// Clustered mode (PRODUCT.md §7): ingests and product reads go to the
  /// cluster through `node` (which must outlive this object) instead of
  /// the local engine. Set before the server starts.
  void set_cluster(cluster::node* node) { cluster_ = node; }

  /// Clustered mode: GET /v1/shops adds to each shop a "cluster" object
  /// (which node drives it, what this node's driver did) from `drivers`
  /// (which must outlive this object). Set before the server starts.
  void set_cluster_shops(cluster::shop_drivers* drivers) {
    cluster_shops_ = drivers;
  }

 private:
  /// The 200 of a stored batch (and its metrics), or the 503 with
  /// Retry-After of one that could not be stored (nothing of it applied).
  void answer_stored(const http::responder& r, bool keep_alive,
                     std::chrono::steady_clock::time_point started,
                     size_t accepted, size_t duplicates, uint64_t last_seq);
  static void answer_unstored(const http::responder& r, bool keep_alive,
                              const std::string& why);
  void post_events_to_cluster(std::vector<stock_event> events,
                              const http::request& req, http::responder r);
  void get_cluster_deliveries(const shop_config& shop, delivery_state state,
                              const std::string& cursor, size_t limit,
                              const http::request& req, http::responder r);
  void get_cluster_product(const std::string& code, const http::request& req,
                           http::responder r);
  void post_events(http::request&& req, http::responder r);
  void get_product(const std::string& code, const http::request& req,
                   http::responder r);
  void get_explanation(const std::string& code, std::string_view target,
                       const http::request& req, http::responder r);
  void get_shops(const std::string& id, const http::request& req,
                 http::responder r);
  void post_preview(http::request&& req, http::responder r);
  void get_metrics(const http::request& req, http::responder r);
  void render_metrics(bool keep_alive, http::responder r,
                      std::vector<std::pair<uint32_t, cluster::slot_lag>> lags);
  void get_cluster(const http::request& req, http::responder r);
  void get_cluster_explanation(const std::string& code, config_ptr conf,
                               const std::string& shop, bool keep_alive,
                               http::responder r);
  void get_deliveries(const std::string& id, std::string_view target,
                      const http::request& req, http::responder r);
  void get_product_list(std::string_view target, const http::request& req,
                        http::responder r);
  void post_backup(const http::request& req, http::responder r);
  void post_resync(const std::string& id, const http::request& req,
                   http::responder r);

  engine& engine_;
  metrics& metrics_;
  /// Guards `token_`: requests are handled on several threads.
  std::mutex token_mutex_;
  std::string token_;
  reload_function reload_;
  /// The config preview in progress, on its own thread (it reads every
  /// product record; handlers must not block): one at a time.
  std::mutex preview_mutex_;
  std::thread preview_thread_;
  std::atomic<bool> preview_running_{false};
  std::atomic<bool> preview_cancel_{false};
  cluster::node* cluster_ = nullptr;
  cluster::shop_drivers* cluster_shops_ = nullptr;
};

/// What the API answers while the engine starts, before an http_api exists:
/// the log tail after the checkpoint is being replayed, and no event may be
/// accepted before that is done (it would be ordered before replayed ones).
/// /healthz answers 200, /readyz 503 (status "starting") with the reason;
/// every other request with the right bearer token gets 503 with the reason
/// and Retry-After.
class starting_api {
 public:
  starting_api(std::string token, std::string reason);

  /// Says what the engine is doing now (thread-safe).
  void set_reason(std::string reason);

  /// Handles one request (the http::server's handler).
  void handle(http::request&& req, http::responder r);

 private:
  std::string token_;
  std::mutex mtx_;
  std::string reason_;
};

/// Decodes %XX escapes of a URL path segment; false on a bad escape.
bool percent_decode(std::string_view in, std::string& out);

} // namespace shelfsync
