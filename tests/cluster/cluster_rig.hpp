#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/api/child_process.hpp"
#include "tests/api/stock_oracle.hpp"
#include "tests/cluster/nats_servers.hpp"

namespace shelfsync::cluster {
class jetstream;
}

namespace shelfsync::tests {

/// What a cluster rig runs.
struct cluster_rig_options {
  /// `shelfsync serve` nodes, "n1" to "nN".
  int nodes = 3;
  /// `node.cluster.slots`.
  uint32_t slots = 8;
  /// `node.cluster.lease_ttl_seconds`: a killed node's slots move after
  /// about this long.
  int lease_ttl_seconds = 2;
  /// Starts `shelfsync sim` with a seeded Shopify store and Amazon seller,
  /// and configures both as shops of every node; without it the nodes have
  /// no shops.
  bool simulators = true;
  /// Products the simulators are seeded with ("CLU-000", ...).
  int products = 120;
  /// The Amazon seller's `batch_interval_seconds`. Feeds are limited to 5
  /// in any 5 minutes (Amazon's quota, which the drivers keep), so a short
  /// run that needs a 6th feed waits minutes for it: 10 s keeps a run of
  /// under 40 s within 5 feeds.
  int amazon_batch_seconds = 10;
  /// The temporary directory is named "shelfsync-<name>-<pid>".
  std::string name = "cluster";
  /// Keeps the directory (configs, logs, stores) after the rig ends, and
  /// says where; also when SHELFSYNC_CLUSTER_KEEP is set.
  bool keep = false;
};

/// A whole cluster on loopback, for tests, the cluster benchmark and the
/// demo: 3 real `nats-server` processes (a JetStream cluster), N real
/// `shelfsync serve` processes in clustered mode, each with its own config
/// (only `node` differs) and data dir, and optionally `shelfsync sim` with a
/// Shopify store and an Amazon seller every node is configured with.
///
/// Everything is a child process started here and stopped by its pid; the
/// destructor SIGKILLs the nodes, stops the simulators and the NATS servers
/// and removes the directory. Nothing here uses gtest: every step that can
/// fail returns "" when it worked, else why not (with log tails), so that a
/// benchmark can use the rig as a test does.
///
/// Thread-safety: `post_batch`, `post_to`, `get` and the simulator reads may
/// run on several threads at once, also while another thread kills, pauses
/// or restarts nodes; the process controls themselves are meant for one
/// thread.
class cluster_rig {
 public:
  /// An HTTP answer; status 0 when none came (refused, dropped, timed out).
  struct answer {
    int status = 0;
    nlohmann::json body;
  };

  /// How a batch was finally answered.
  struct batch_result {
    /// 200 when it was stored; else the last status seen (0: no answer).
    int status = 0;
    nlohmann::json body;
    /// The node whose 200 completed it; -1 when none did.
    int node = -1;
    /// Requests sent: 1 + resends after 503, 5xx or no answer.
    int attempts = 0;
    /// "" when answered 200; else why it gave up.
    std::string error;
  };

  explicit cluster_rig(cluster_rig_options options = {});
  ~cluster_rig();
  cluster_rig(const cluster_rig&) = delete;
  cluster_rig& operator=(const cluster_rig&) = delete;

  /// Starts the NATS servers, the simulators (seeded) and every node, and
  /// waits until each node answers /readyz; "" when all came up.
  std::string start();

  const cluster_rig_options& options() const { return options_; }
  /// The rig's directory: `n<i>.json`, `n<i>.log`, `n<i>/` (stores),
  /// `sim.log`.
  const std::string& dir() const { return dir_; }

  // -- the catalogue ---------------------------------------------------------

  /// The product codes the simulators know.
  std::vector<std::string> products() const;
  /// "WH-A", "WH-B", "WH-C".
  std::vector<std::string> warehouses() const;
  /// The two shops as the oracle models them (empty without simulators):
  /// the Shopify store (WH-A, WH-B each at its location, rules buffer 1 and
  /// percent 90) and the Amazon seller (WH-A + WH-C summed, rule max 45).
  std::vector<shop_spec> shops() const;
  /// The shop ids, and where their state is at the simulators.
  static const std::string shopify_store;
  static const std::string amazon_seller;
  static const std::string amazon_seller_id;
  /// Shopify location GIDs of WH-A and WH-B.
  static const std::string location_a;
  static const std::string location_b;

  // -- NATS ------------------------------------------------------------------

  test::nats_servers& nats() { return *nats_; }
  /// The server name ("s0"...) leading `stream` ("SHELFSYNC_EVENTS",
  /// "SHELFSYNC_STATE", "KV_shelfsync_leases"), as the stream info says;
  /// "" when no leader is known (an election, no quorum).
  std::string stream_leader(const std::string& stream) const;
  /// SIGKILLs the NATS server leading `stream`; its index, or -1 when no
  /// leader was found within 10 s.
  int kill_stream_leader(const std::string& stream);
  /// Starts NATS server `i` again (same ports and store); "" when it
  /// accepts clients.
  std::string restart_nats(int i);

  // -- the nodes -------------------------------------------------------------

  int node_count() const { return static_cast<int>(nodes_.size()); }
  /// "n1" for node 0.
  std::string node_id(int i) const;
  uint16_t node_port(int i) const;
  /// "http://127.0.0.1:PORT".
  std::string node_url(int i) const;
  std::string config_path(int i) const;
  /// The node's stdout and stderr so far.
  std::string node_log(int i) const;
  /// Its pid while it runs (also while paused); -1 otherwise.
  pid_t node_pid(int i) const;
  /// Running and not paused.
  bool node_up(int i) const;

  /// Starts node `i` (again) and waits until /readyz says it started; ""
  /// when it did.
  std::string start_node(int i);
  /// SIGKILLs node `i` (paused or not) and reaps it.
  void kill_node(int i);
  /// SIGTERM, then waits for the exit (it releases its leases); the exit
  /// code.
  int stop_node(int i);
  /// SIGSTOP: the process stops where it is, its leases are not renewed.
  void pause_node(int i);
  /// SIGCONT after pause_node.
  void resume_node(int i);
  /// kill_node then start_node.
  std::string restart_node(int i);

  /// The node that drives `shop` now: the up node whose GET /v1/shops/{id}
  /// says `cluster.driven_here`; -1 when none does (a take-over).
  int shop_driver(const std::string& shop) const;

  // -- the HTTP API ----------------------------------------------------------

  /// GET `path` on node `i` with the API token.
  answer get(int i, const std::string& path) const;
  /// POSTs `batch` to node `i` once.
  answer post_to(int i, const std::vector<event_spec>& batch) const;
  /// POSTs `batch` to a random node that is up, and resends the same batch
  /// (to a random node again) after a 503, another 5xx or no answer, until
  /// one answers 200 or `limit` passes. A 4xx ends it at once.
  batch_result
  post_batch(const std::vector<event_spec>& batch, std::mt19937_64& rng,
             std::chrono::milliseconds limit = std::chrono::seconds{60}) const;
  /// GET /v1/products/{code} on node `i`, repeated while it answers 503 or
  /// nothing (a take-over), for at most `limit`.
  answer product(int i, const std::string& code,
                 std::chrono::milliseconds limit = std::chrono::seconds{
                     30}) const;

  /// "" when the cluster's state holds exactly `expected` as the event ids
  /// applied to `code` (read from the state stream's leader); else what
  /// differs, or why it could not be read.
  std::string applied_ids_differ(const std::string& code,
                                 const std::set<std::string>& expected) const;

  // -- the simulators --------------------------------------------------------

  /// A call to `shelfsync sim` (no auth), e.g. ("GET",
  /// "/_sim/amazon/feeds").
  answer sim(const std::string& method, const std::string& path,
             const nlohmann::json* body = nullptr) const;
  /// GET /_sim/shopify/{store}/levels: items with each level's `available`
  /// and its `history`.
  nlohmann::json shopify_levels() const;
  /// GET /_sim/shopify/{store}/requests.
  nlohmann::json shopify_requests() const;
  /// GET /_sim/amazon/{seller}/listings: quantity and history per SKU.
  nlohmann::json amazon_listings() const;
  /// GET /_sim/amazon/requests.
  nlohmann::json amazon_requests() const;
  /// GET /_sim/amazon/feeds.
  nlohmann::json amazon_feeds() const;

  /// The last `bytes` of every node's log (without the access log's lines)
  /// and of the simulators' log, for a failure message.
  std::string log_tails(size_t bytes = 3000) const;

 private:
  struct node_process {
    uint16_t port = 0;
    std::unique_ptr<child_process> child;
    bool paused = false;
  };

  std::string start_simulators();
  void write_config(int i) const;
  std::vector<int> up_nodes() const;
  /// The rig's own NATS connection (made on first use); null when it cannot
  /// connect, `why` says why.
  cluster::jetstream* js(std::string* why) const;

  cluster_rig_options options_;
  std::string dir_;
  std::unique_ptr<test::nats_servers> nats_;
  mutable std::mutex js_mutex_;
  mutable std::unique_ptr<cluster::jetstream> js_;
  uint16_t sim_port_ = 0;
  child_process sim_;
  /// Guards the nodes' running and paused states.
  mutable std::mutex nodes_mutex_;
  std::vector<node_process> nodes_;
};

} // namespace shelfsync::tests
