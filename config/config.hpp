#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace shelfsync {

// -- node -------------------------------------------------------------------

/// How an accepted event batch is made durable before it is acknowledged.
enum class durability {
  /// Written to RocksDB's write-ahead log: survives `kill -9`.
  wal,
  /// Also fsync'ed before the answer: survives power loss.
  fsync,
};

/// Settings of this engine process.
struct node_config {
  /// Where RocksDB keeps its files.
  std::string data_dir = "var/shelfsync";
  /// Host and port of the HTTP API.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  enum durability durability = durability::wal;
  /// A product actor with no message for this long is stopped.
  uint32_t product_idle_seconds = 30;
  /// Largest accepted request body of the HTTP API.
  uint64_t max_body_bytes = 16ull << 20;
};

/// Settings of the HTTP API.
struct api_config {
  /// Name of the environment variable holding the bearer token.
  std::string token_env = "SHELFSYNC_API_TOKEN";
};

// -- warehouses and shops ----------------------------------------------------

/// A stock-holding place.
struct warehouse_config {
  std::string id;
};

/// One warehouse as a shop sees it.
struct shop_warehouse {
  std::string warehouse;
  bool enabled = false;
  /// Shopify location GID; empty for Amazon, or while disabled.
  std::string location;
};

/// Per-shop stock rules, applied in this order: buffer, percent, max.
struct stock_rules {
  std::optional<int64_t> buffer;
  std::optional<int64_t> percent;
  std::optional<int64_t> max;
};

/// The connected sales channel kinds.
enum class channel_kind { shopify, amazon };

/// Shopify settings of a shop.
struct shopify_config {
  std::string shop_url;
  std::string api_version = "2026-10";
  std::string access_token_env;
};

/// Amazon settings of a shop.
struct amazon_config {
  std::string endpoint;
  std::string lwa_endpoint;
  std::string seller_id;
  std::vector<std::string> marketplace_ids;
  std::string client_id_env;
  std::string client_secret_env;
  std::string refresh_token_env;
  uint32_t batch_interval_seconds = 60;
  uint32_t feed_poll_seconds = 15;
  std::string product_type = "PRODUCT";
};

/// One connected sales channel account.
struct shop_config {
  std::string id;
  channel_kind channel = channel_kind::shopify;
  bool stock_sync = true;
  std::vector<shop_warehouse> warehouses;
  stock_rules rules;
  /// Set when `channel` is shopify.
  shopify_config shopify;
  /// Set when `channel` is amazon.
  amazon_config amazon;
};

// -- the whole file ------------------------------------------------------------

/// A validated configuration file. Immutable once loaded: a reload makes a
/// new one and hands it out as a `config_ptr`.
struct config {
  /// The file it was read from, for reloads.
  std::string path;
  node_config node;
  api_config api;
  std::vector<warehouse_config> warehouses;
  std::vector<shop_config> shops;

  /// Returns the shop with `id`, or nullptr.
  const shop_config* find_shop(const std::string& id) const;

  /// Returns whether a warehouse with `id` is declared.
  bool has_warehouse(const std::string& id) const;
};

using config_ptr = std::shared_ptr<const config>;

/// One problem found in a configuration, with its JSON path ("$.shops[1].id").
struct config_problem {
  std::string path;
  std::string message;
};

/// Either a config or every problem found in it.
struct config_result {
  config_ptr value;
  std::vector<config_problem> problems;
  explicit operator bool() const { return value != nullptr; }
};

/// Parses and validates a configuration from JSON text. `origin` is stored as
/// `config::path`.
config_result parse_config(const std::string& json_text,
                           const std::string& origin = "");

/// Reads and validates the configuration file at `path`.
config_result load_config(const std::string& path);

/// Formats a problem as one line: "$.shops[1].id: must not be empty".
std::string to_string(const config_problem& problem);

} // namespace shelfsync
