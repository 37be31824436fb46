#pragma once

// Internal to the shop drivers: what a channel's delivery shares with the
// driver thread that runs it.

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/event_log.hpp"
#include "cluster/node.hpp"
#include "cluster/shop_drivers.hpp"
#include "cluster/shop_state.hpp"
#include "config/config.hpp"

namespace shelfsync::cluster {

/// One product state as a driver read it.
struct product_update {
  /// Its sequence in the state stream.
  uint64_t state_seq = 0;
  product_state state;
};

/// One driven shop: its thread and what it says of itself.
struct shop_drivers::driver {
  node* owner = nullptr;
  const shop_drivers_options* options = nullptr;
  shop_config shop;
  uint32_t slot = 0;
  /// The config generation it was started with.
  uint64_t generation = 0;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::thread thread;

  std::atomic<uint64_t> rows_confirmed{0};
  std::atomic<uint64_t> rows_failed{0};
  std::atomic<uint64_t> stale_refusals{0};
  std::atomic<uint64_t> pending{0};
  std::atomic<uint64_t> checkpoint{0};
  /// Rows a resync pushed (confirmed or failed) since this node started.
  std::atomic<uint64_t> resync_pushed{0};
  std::mutex error_mutex;
  std::string last_error;

  /// Whether it may write to the cluster: not stopped, lease valid.
  bool may_write() const {
    return !stop &&
           std::chrono::steady_clock::now() < owner->slot_deadline(slot);
  }

  /// Whether it may start a push: `push_margin` of the lease is left.
  bool may_push() const {
    return !stop && std::chrono::steady_clock::now() + options->push_margin <
                        owner->slot_deadline(slot);
  }

  /// Says `line` (prefixed with the shop) and keeps it as the last error
  /// when `problem`.
  void say(const std::string& line, bool problem = false) {
    if (problem) {
      std::lock_guard<std::mutex> guard{error_mutex};
      last_error = line;
    }
    if (options->log) options->log("shop " + shop.id + ": " + line);
  }

  /// Sleeps up to `d`, less when told to stop.
  void pause(std::chrono::milliseconds d) const {
    auto until = std::chrono::steady_clock::now() + d;
    while (!stop && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
};

/// How a driver delivers to one channel: the driver reads product states
/// and hands them over in rounds.
class channel_delivery {
 public:
  virtual ~channel_delivery() = default;

  /// Why the shop cannot be driven (a missing secret, a bad URL); empty
  /// when it can.
  const std::string& refusal() const { return refusal_; }

  /// Called once before the first round: finishes what a former owner left
  /// in flight. False when the driver must stop.
  virtual bool resume() { return true; }

  /// Brings the shop to the views of `batch`: true when every product of it
  /// is confirmed or failed for good; false when the driver must stop (lease
  /// lost, another owner wrote, told to stop, or a failure to retry from
  /// the checkpoint). `resync`: what the shop holds is read again (Shopify)
  /// or every view sent again (Amazon), whatever the delivery records say.
  virtual bool deliver(const std::vector<product_update>& batch,
                       bool resync) = 0;

  /// Most product states per round, and how long a round gathers them.
  virtual size_t batch_limit() const = 0;
  virtual std::chrono::milliseconds gather_for() const = 0;

 protected:
  std::string refusal_;
};

/// Delivers to a Shopify shop (cluster/shopify_delivery.cpp).
std::unique_ptr<channel_delivery> shopify_delivery(shop_drivers::driver& d);

/// Delivers to an Amazon seller (cluster/amazon_delivery.cpp).
std::unique_ptr<channel_delivery> amazon_delivery(shop_drivers::driver& d);

} // namespace shelfsync::cluster
