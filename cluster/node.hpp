#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/event_log.hpp"
#include "cluster/jetstream.hpp"
#include "cluster/lease.hpp"
#include "cluster/view.hpp"

namespace shelfsync::cluster {

/// How a node joins the cluster.
struct node_options {
  /// `node.cluster.node_id`.
  std::string node_id;
  /// Where NATS is (the client name is set to the node id).
  connect_options connect;
  /// `node.cluster.slots` and `node.cluster.replicas`.
  uint32_t slots = 16;
  int replicas = 3;
  /// Leases: TTL of the bucket, fencing margin, renewal period.
  std::chrono::milliseconds lease_ttl{6000};
  std::chrono::milliseconds lease_margin{2000};
  std::chrono::milliseconds renew_every{1000};
  /// An ingest waits this long for every acknowledgement, then fails (503).
  std::chrono::milliseconds publish_timeout{5000};
  /// A read waits this long for the slot's owner to catch up, then fails.
  std::chrono::milliseconds read_wait{5000};
  /// The events stream's deduplication window; 0: the server's 2 minutes.
  /// Fixed when the stream is created (tests shorten it).
  std::chrono::milliseconds duplicate_window{0};
  /// While this node answers ingests, an applier whose slot had caught up
  /// holds its next unit back (reading nothing) for at most this long from
  /// the unit's first message, so that a burst is stored first and applied
  /// in fewer, larger units after it. 0: units start at once.
  std::chrono::milliseconds apply_yield{500};
  /// Threads that run ingests and reads (blocking JetStream calls).
  size_t request_threads = 4;
  /// How long `start` keeps trying to create the streams and the bucket
  /// (JetStream elects its meta leader after the servers start).
  std::chrono::milliseconds start_timeout{30000};
  /// `config_digest` of this node's shared config; empty: the node does not
  /// take part in config agreement (see cluster/membership.hpp).
  std::string config_digest;
  /// This node's HTTP API (`node.listen`), shown to the others.
  std::string address;
  /// The configured shops, for `view` (which node owns which shop).
  std::vector<std::string> shop_ids;
  /// Where the node says what it does (slots taken, released, fenced) and
  /// what fails; one line each. Nothing when empty.
  std::function<void(const std::string&)> log;
};

/// What an ingest stored.
struct ingest_answer {
  /// Events stored by this request (not repeats within the batch, not a
  /// resend of messages the stream already held).
  size_t accepted = 0;
  /// Repeats of an id earlier in the batch, and events of messages the
  /// stream already held (a resent batch). Repeats of ids from other
  /// batches are found when the slot's owner applies them, not here.
  size_t duplicates = 0;
  /// The highest events-stream sequence of the batch.
  uint64_t last_seq = 0;
};

/// What a node says of one slot.
struct slot_status {
  uint32_t slot = 0;
  /// This node holds the slot's lease and may apply (fencing deadline not
  /// passed).
  bool owned = false;
  /// The events-stream sequence this node applied the slot up to.
  uint64_t applied_seq = 0;
};

/// One engine node of a cluster (PRODUCT.md §7): takes ingests and reads on
/// any node, owns slots by leases, and applies its slots' events to the
/// product state kept in the cluster.
///
/// Threads (every JetStream call blocks, none runs in a CAF actor): a pool of
/// `request_threads` for ingests and reads; one ownership thread that
/// renews this node's membership lease (`node.<id>`) and its slot leases,
/// and takes or releases slots as `assign_slots` says; one applier thread
/// per owned slot. An applier writes only while its lease's fencing
/// deadline has not passed, and every write is a per-subject CAS, so a
/// stale owner's late write is refused.
class node {
 public:
  using ingest_callback = std::function<void(outcome<ingest_answer>)>;
  using product_callback =
      std::function<void(outcome<std::optional<product_state>>)>;

  /// Connects, creates the streams and the lease bucket when absent, and
  /// starts the threads.
  static outcome<std::unique_ptr<node>> start(node_options options);

  /// Releases every lease (the others take over at once) and stops.
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Publishes `events` (already validated) one message per slot and waits
  /// for every acknowledgement. A `timeout` or `unavailable` error means
  /// nothing is sure: resend the same batch.
  outcome<ingest_answer> ingest(const std::vector<stock_event>& events);

  /// `ingest` on a request thread; `done` runs there.
  void ingest_async(std::vector<stock_event> events, ingest_callback done);

  /// A product's state as the cluster holds it once the slot's owner has
  /// applied everything the stream held for the slot when the call began
  /// (read-your-writes); nothing when the cluster never saw the product.
  /// `timeout` when the owner does not catch up within `read_wait`.
  outcome<std::optional<product_state>> product(const std::string& code);

  /// `product` on a request thread; `done` runs there.
  void product_async(std::string code, product_callback done);

  /// Every slot, as this node sees it.
  std::vector<slot_status> slots() const;

  /// The number of slots this node owns now.
  size_t owned_slots() const;

  /// Why this node takes no slots: its config digest differs from the
  /// cluster's (one sentence); empty while it agrees.
  std::string config_problem() const;

  /// The whole cluster as it holds it now (`GET /v1/cluster`); on a request
  /// thread, `done` runs there.
  void view_async(std::function<void(outcome<cluster_view>)> done);

  /// The lag of each slot this node owns, by slot; on a request thread,
  /// `done` runs there (a slot whose lag cannot be read is left out).
  void owned_lags_async(
      std::function<void(std::vector<std::pair<uint32_t, slot_lag>>)> done);

  /// Runs `job`, which may block on cluster reads through this node's
  /// connection, on a request thread.
  void read_async(std::function<void(jetstream&)> job);

  /// Slot lease renewals that succeeded, and those that failed (refused or
  /// unanswered), since the node started.
  uint64_t renewals() const { return renewals_; }
  uint64_t failed_renewals() const { return failed_renewals_; }

  const node_options& options() const { return options_; }

  // -- for the shop drivers (cluster/shop_drivers.hpp) -----------------------

  /// The node's connection; its calls may come from any thread.
  jetstream& js() { return *js_; }

  /// The fencing deadline of this node's lease on `slot`: past it (or when
  /// the slot is not held, a time in the past) nothing may be written or
  /// pushed on the slot's behalf.
  std::chrono::steady_clock::time_point slot_deadline(uint32_t slot) const;

  /// The node holding `slot`'s lease as a (possibly stale) read of the
  /// bucket says; nothing when none. For display only.
  std::optional<std::string> slot_holder(uint32_t slot);

  /// Runs `job` (which may block on the cluster) on a request thread.
  void post(std::function<void()> job);

  /// Stops like a killed process: threads end, leases are neither renewed
  /// nor released (they expire by their TTL). For tests.
  void halt();

  /// Ends the ownership round (renewing and taking leases) without waiting,
  /// so that its requests, each of which may wait a whole timeout while
  /// NATS is unreachable, run out while the caller stops other parts (the
  /// shop drivers); the destructor then releases the leases at once.
  void begin_stopping();

  /// Stops renewing leases while appliers keep running, as a paused or cut
  /// off node would: the appliers must stop writing at their fencing
  /// deadline. For tests.
  void suspend_renewals(bool suspended);

 private:
  struct slot_worker;

  explicit node(node_options options);
  status open();
  void ownership_loop();
  void ownership_round();
  /// The live nodes that may own slots: members whose config agrees with
  /// the cluster's. Updates `config_problem_`, saying a change once.
  std::vector<std::string>
  agreeing_nodes(const std::function<void(const std::string&)>& say);
  void start_applier(uint32_t slot);
  void stop_applier(uint32_t slot);
  void apply_loop(slot_worker& w);
  void request_loop();
  void stop_threads();

  node_options options_;
  std::unique_ptr<jetstream> js_;
  /// The appliers' connection (apply_loop), apart from the leases' and the
  /// requests'.
  std::unique_ptr<jetstream> apply_js_;
  std::unique_ptr<lease_bucket> bucket_;
  std::unique_ptr<lease> membership_;
  /// Per slot: its lease (used by the ownership thread only).
  std::vector<std::unique_ptr<lease>> leases_;
  /// Per slot: the running applier, if any (ownership thread only), and the
  /// appliers told to stop and not joined yet.
  std::vector<std::unique_ptr<slot_worker>> workers_;
  std::vector<std::unique_ptr<slot_worker>> stopping_;
  /// Per slot: the fencing deadline (steady clock ticks; 0: not owned), and
  /// the sequence applied up to; read by other threads.
  std::unique_ptr<std::atomic<int64_t>[]> deadlines_;
  std::unique_ptr<std::atomic<uint64_t>[]> applied_;

  /// Why this node takes no slots (config agreement); empty when it may.
  mutable std::mutex problem_mutex_;
  std::string config_problem_;
  /// When this node joined (ms since the Unix epoch), as its lease says.
  int64_t joined_ms_ = 0;

  /// Ingests running now, and when the last one ended (steady ticks): the
  /// appliers yield to them (`apply_yield`).
  std::atomic<int> ingests_running_{0};
  std::atomic<int64_t> last_ingest_end_{0};
  std::atomic<uint64_t> renewals_{0};
  std::atomic<uint64_t> failed_renewals_{0};
  std::atomic<bool> stopping_flag_{false};
  std::atomic<bool> suspended_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::thread ownership_thread_;

  std::mutex jobs_mutex_;
  std::condition_variable jobs_changed_;
  std::deque<std::function<void()>> jobs_;
  bool jobs_closed_ = false;
  std::vector<std::thread> request_threads_;
  bool halted_ = false;
};

} // namespace shelfsync::cluster
