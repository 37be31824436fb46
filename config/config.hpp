#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
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

/// How long the event log keeps an entry, from `node.log_retention`. An
/// entry goes once it is older than `days` or once the log after it holds
/// more than `bytes` (whichever drops more), and only when the durable
/// checkpoint has passed it; 0 = no such limit; both 0 = keep forever.
struct log_retention_config {
  /// 1 to 36500 days, counted from when shelfsync accepted the event.
  uint32_t days = 0;
  /// At least 1: the log's size on disk as RocksDB estimates it.
  uint64_t bytes = 0;
  /// Returns whether anything is ever dropped.
  bool enabled() const { return days != 0 || bytes != 0; }
};

/// Settings of clustered mode (PRODUCT.md §7), from `node.cluster`. Absent
/// means single-node mode on the embedded RocksDB, the default.
struct cluster_config {
  /// This node's id, unique in the cluster: `[a-z0-9][a-z0-9-]{0,62}` (it
  /// appears in lease values and NATS subjects).
  std::string node_id;
  /// NATS server URLs, `nats://host:port` or `tls://host:port`, at least one,
  /// each listed once, without credentials.
  std::vector<std::string> nats;
  /// Name of the environment variable holding the NATS token; empty when the
  /// servers need none.
  std::string token_env;
  /// Number of slots products and shops are hashed into (1 to 4096). Fixed
  /// when the cluster is first created.
  uint32_t slots = 16;
  /// JetStream replicas of every stream and bucket: 1, 3 or 5.
  uint32_t replicas = 3;
  /// How long a node's leases (membership, slots) live without a renewal,
  /// from `node.cluster.lease_ttl_seconds` (2 to 300). A node renews every
  /// TTL/6 and stops writing TTL/3 before its lease can expire; a killed
  /// node's slots are taken over after about one TTL. It is the lease
  /// bucket's max age, so it is fixed when the cluster is first created and
  /// must be the same on every node.
  std::chrono::seconds lease_ttl{6};
  /// From `node.cluster.apply_yield_ms` (0 to 5000): while this node answers
  /// ingests, how long an applier that had caught up holds its next unit
  /// back, so that a burst is stored first and then applied in larger
  /// units. 0 applies at once.
  std::chrono::milliseconds apply_yield{500};
};

/// Settings of this engine process.
struct node_config {
  /// Where RocksDB keeps its files.
  std::string data_dir = "var/shelfsync";
  /// Host of the HTTP API, from `node.listen` ("host:port", "[::1]:port").
  std::string listen_host = "127.0.0.1";
  /// Port of the HTTP API, from `node.listen` (1 to 65535).
  uint16_t listen_port = 8080;
  /// From `node.durability`: "wal" (default) or "fsync".
  enum durability durability = durability::wal;
  /// A product actor with no message for this long is stopped; read from
  /// `node.product_idle_seconds` (1 to 86400).
  uint32_t product_idle_seconds = 30;
  /// Derived state (written without WAL) is made durable at least this
  /// often while it changes, which bounds the log replayed after a crash;
  /// read from `node.checkpoint_seconds` (1 to 3600).
  uint32_t checkpoint_seconds = 60;
  /// Largest accepted request body of the HTTP API; read from
  /// `node.max_body_bytes` (1 byte to 1 GiB).
  uint64_t max_body_bytes = 16ull << 20;
  /// Limit for receiving one whole request once its first byte arrived, and
  /// for sending one answer; read from `node.read_timeout_seconds` (1 to
  /// 3600). A client that stalls mid-request is disconnected after it.
  uint32_t read_timeout_seconds = 30;
  /// How long a kept-alive connection may wait for its next request; read
  /// from `node.idle_timeout_seconds` (1 to 86400).
  uint32_t idle_timeout_seconds = 60;
  /// On SIGTERM, how long requests in progress may take to be answered
  /// before their connections are closed; read from
  /// `node.shutdown_seconds` (1 to 3600).
  uint32_t shutdown_seconds = 10;
  /// From `node.log_retention`; absent = keep the whole log.
  log_retention_config log_retention;
  /// From `node.log_format`: "text" (default) or "json", one object a line.
  std::string log_format = "text";
  /// From `node.log_level`: the lowest level logged, "debug", "info"
  /// (default), "warning" or "error".
  std::string log_level = "info";
  /// Set when `node.cluster` is given: this node is one of a cluster.
  std::optional<cluster_config> cluster;
};

/// Settings of the HTTP API.
struct api_config {
  /// Name of the environment variable holding the bearer token.
  std::string token_env = "SHELFSYNC_API_TOKEN";
};

// -- warehouses and shops ----------------------------------------------------

/// A stock-holding place.
struct warehouse_config {
  /// Unique, non-empty, without control characters.
  std::string id;
};

/// One warehouse as a shop sees it.
struct shop_warehouse {
  /// The id of a declared warehouse; listed at most once per shop.
  std::string warehouse;
  /// Whether this warehouse's stock counts for the shop.
  bool enabled = false;
  /// Shopify location GID; empty for Amazon, or while disabled.
  std::string location;
};

/// Per-shop stock rules, applied in this order: buffer, percent, max.
struct stock_rules {
  /// Subtracted from available, never below 0; >= 0.
  std::optional<int64_t> buffer;
  /// Percentage kept, rounded down; 0 to 100.
  std::optional<int64_t> percent;
  /// Upper bound of the quantity sent; >= 0.
  std::optional<int64_t> max;
};

/// The connected sales channel kinds.
enum class channel_kind { shopify, amazon };

/// The drift check of a Shopify shop: a periodic read-back of the levels
/// shelfsync confirmed, correcting those changed behind its back.
struct drift_check_config {
  /// Off by default: it spends API budget.
  bool enabled = false;
  /// One pass over every driven product starts this often (the file gives
  /// whole seconds, `interval_seconds`).
  std::chrono::milliseconds interval = std::chrono::hours{1};
  /// The share of the bucket (its size and its restore rate) the reads may
  /// use, in percent.
  uint32_t budget_percent = 10;
  /// Products read per request.
  uint32_t page_size = 50;
};

/// Shopify settings of a shop.
struct shopify_config {
  /// The store's base URL, http:// or https://.
  std::string shop_url;
  /// Admin API version, `YYYY-MM`.
  std::string api_version = "2026-10";
  /// Name of the environment variable holding the Admin API access token.
  std::string access_token_env;
  drift_check_config drift_check;
};

/// Amazon settings of a shop.
struct amazon_config {
  /// Base URL of the Selling Partner API, http:// or https://.
  std::string endpoint;
  /// URL of the Login with Amazon token endpoint, http:// or https://.
  std::string lwa_endpoint;
  /// The seller account id (non-empty).
  std::string seller_id;
  /// At least one marketplace id, each non-empty and listed once.
  std::vector<std::string> marketplace_ids;
  /// Names of the environment variables holding the LWA credentials.
  std::string client_id_env;
  std::string client_secret_env;
  std::string refresh_token_env;
  /// How often pending changes go out as a feed (the file gives whole
  /// seconds, `batch_interval_seconds`: 1 to 86400).
  std::chrono::milliseconds batch_interval = std::chrono::minutes{1};
  /// First getFeed delay after a submission (the file gives whole seconds,
  /// `feed_poll_seconds`: 1 to 3600).
  std::chrono::milliseconds feed_poll = std::chrono::seconds{15};
  /// The listings product type sent in feeds (non-empty).
  std::string product_type = "PRODUCT";
};

/// One connected sales channel account.
struct shop_config {
  /// Unique, non-empty, `[A-Za-z0-9._-]+` (it appears in URLs).
  std::string id;
  /// Which of `shopify` and `amazon` is set.
  channel_kind channel = channel_kind::shopify;
  /// When false, nothing at all is sent to this shop.
  bool stock_sync = true;
  /// The shop's view of the declared warehouses, in file order.
  std::vector<shop_warehouse> warehouses;
  /// Applied on top of available.
  stock_rules rules;
  /// Set when `channel` is shopify.
  shopify_config shopify;
  /// Set when `channel` is amazon.
  amazon_config amazon;
};

// -- the whole file -----------------------------------------------------------

/// A validated configuration file. Immutable once loaded: a reload makes a
/// new one and hands it out as a `config_ptr`.
struct config {
  /// The file it was read from, for reloads.
  std::string path;
  /// The section `node`.
  node_config node;
  /// The section `api`.
  api_config api;
  /// The declared warehouses, in file order.
  std::vector<warehouse_config> warehouses;
  /// The connected shops, in file order.
  std::vector<shop_config> shops;
  /// What every node of a cluster must read alike: the file without its
  /// `node` section, as canonical JSON (keys sorted, no spaces or comments).
  std::string shared_json;

  /// Returns the shop with `id`, or nullptr.
  const shop_config* find_shop(const std::string& id) const;

  /// Returns whether a warehouse with `id` is declared.
  bool has_warehouse(const std::string& id) const;
};

using config_ptr = std::shared_ptr<const config>;

/// One problem found in a configuration, with its JSON path ("$.shops[1].id").
struct config_problem {
  /// Where: "$" for the whole file, else "$.shops[1].warehouses[0].location".
  std::string path;
  /// What is wrong and what is expected, as one sentence.
  std::string message;
};

/// Either a config or every problem found in it.
struct config_result {
  /// The config; null when there is any problem.
  config_ptr value;
  /// Every problem found, in file order.
  std::vector<config_problem> problems;
  /// Returns whether the config is valid.
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

/// Returns the value of the environment variable `env_name` if it is set and
/// not empty. The only place where shelfsync reads a secret: the config holds
/// the variable names, never the values.
std::optional<std::string> read_secret(const std::string& env_name);

/// Reads several secrets: each variable named first into the string second.
/// Returns the names of those not set, comma-separated; empty when all are.
std::string read_secrets(
    std::initializer_list<std::pair<std::string, std::string*>> wanted);

/// An environment variable that the config names and that is not set (or
/// empty): the engine cannot use what it should hold.
struct unset_variable {
  /// The field naming it: "$.api.token_env",
  /// "$.shops[0].shopify.access_token_env".
  std::string path;
  /// The variable's name (never its value: it has none).
  std::string name;
  /// The id of the shop whose credential it is; empty for `api.token_env`
  /// and `node.cluster.token_env`.
  std::string shop;
  /// What serve cannot do without it, as a clause: "serve would not start
  /// (it holds the API bearer token)".
  std::string effect;
};

/// Returns every environment variable named by `conf` that is not set, in
/// file order. `check-config` reports them; `serve` refuses to start without
/// the API token and keeps a shop with a missing credential from its channel.
std::vector<unset_variable> unset_variables(const config& conf);

/// Describes what the unset variables of shop `shop_id` (in `unset`) stop,
/// as one sentence naming each; empty when the shop lacks nothing.
std::string shop_problem(const std::vector<unset_variable>& unset,
                         const std::string& shop_id);

} // namespace shelfsync
