#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/api/event_load.hpp"
#include "tests/api/stock_oracle.hpp"
#include "tests/cluster/cluster_rig.hpp"

namespace shelfsync::tests {

/// Load on a cluster rig, checked as it goes: `loaders` threads, each with
/// its own products (so that each product's events are answered in the
/// order they were made) and its own seeded event_load, POST batches to
/// random nodes (resending a batch until it is answered 200) and feed every
/// batch answered 200 to the oracle. Every few batches a loader reads one of
/// the batch's products back from a random node and compares it with the
/// oracle (read-your-writes across nodes, applied once). A watcher reads
/// random products from random nodes and checks that no product's applied
/// sequence goes backwards.
class cluster_load {
 public:
  cluster_load(cluster_rig& rig, uint64_t seed, int loaders = 3);
  ~cluster_load();
  cluster_load(const cluster_load&) = delete;
  cluster_load& operator=(const cluster_load&) = delete;

  /// Starts (again) the loaders and the watcher.
  void start();
  /// Stops them once their batch in hand is answered (or given up).
  void stop();

  /// Batches answered 200 so far.
  size_t acknowledged() const { return acknowledged_; }
  /// Requests that did not answer 200 (503s, no answer) before one did.
  size_t resends() const { return resends_; }
  /// Reads back that were compared with the oracle, and watcher reads.
  size_t read_backs() const { return read_backs_; }
  size_t watched() const { return watched_; }

  /// Waits until `more` batches beyond those acknowledged now are answered
  /// 200; false when `limit` passes first or a loader gave up.
  bool wait_for_progress(size_t more, std::chrono::milliseconds limit);

  /// What went wrong so far (a loader gave up, a read back differed, a
  /// value went backwards), one line each; empty when nothing.
  std::vector<std::string> problems() const;

  /// The oracle, fed with every batch answered 200. Read it while stopped.
  const stock_oracle& oracle() const { return oracle_; }
  /// Per product, the ids of the events first accepted for it (an id seen
  /// before, anywhere, is not). Read it while stopped.
  const std::map<std::string, std::set<std::string>>& ids() const {
    return ids_;
  }

  /// "" when `body` (GET /v1/products/{code}) holds the oracle's stock of
  /// `code`, on_hand and reserved per warehouse; else what differs.
  std::string stock_differs(const std::string& code,
                            const nlohmann::json& body) const;

 private:
  struct loader;
  void run(loader& l);
  void watch();
  void problem(std::string line);

  cluster_rig& rig_;
  uint64_t seed_;
  std::vector<std::unique_ptr<loader>> loaders_;
  std::thread watcher_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> gave_up_{false};
  std::atomic<size_t> acknowledged_{0};
  std::atomic<size_t> resends_{0};
  std::atomic<size_t> read_backs_{0};
  std::atomic<size_t> watched_{0};

  /// Guards the oracle, the ids, the applied sequences seen and problems.
  mutable std::mutex mutex_;
  stock_oracle oracle_;
  std::map<std::string, std::set<std::string>> ids_;
  std::set<std::string> seen_;
  std::map<std::string, uint64_t> applied_seen_;
  std::vector<std::string> problems_;
};

} // namespace shelfsync::tests
