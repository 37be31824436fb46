#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/event_log.hpp"
#include "cluster/node.hpp"
#include "cluster/shop_state.hpp"
#include "config/config.hpp"

namespace shelfsync::cluster {

/// How the shop drivers work.
struct shop_drivers_options {
  /// Product states handled per round (one delivery-record read each).
  size_t batch = 250;
  /// After the first product state of a round, how long to wait for more.
  std::chrono::milliseconds gather{30};
  /// A push starts only while at least this much of the lease is left, so
  /// that it is answered before another node can take the shop.
  std::chrono::milliseconds push_margin{300};
  /// Shopify requests: connect and whole-request limits.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};
  /// An Amazon feed recorded in the memo whose createFeed answer was lost
  /// may exist and be processed later. A new owner asks getFeeds for the
  /// feeds still to be processed and waits for their end; only when
  /// getFeeds is refused does it wait this long from the recording before
  /// it sends newer values.
  std::chrono::milliseconds unknown_feed_wait{std::chrono::minutes{5}};
  /// How often the drivers are started and stopped as slots come and go.
  std::chrono::milliseconds watch_every{100};
  /// Where drivers say what they do and what fails; one line each.
  std::function<void(const std::string&)> log;
};

/// A shop as this node sees it.
struct shop_drive_status {
  std::string shop;
  /// `slot_of_shop`: the slot whose owner drives the shop.
  uint32_t slot = 0;
  /// The node holding that slot's lease (a possibly stale read).
  std::optional<std::string> driver;
  /// Whether a driver of this node runs for it.
  bool driven_here = false;
  /// What this node's driver did since this node started.
  uint64_t rows_confirmed = 0;
  uint64_t rows_failed = 0;
  uint64_t stale_refusals = 0;
  /// Rows of the round in progress not confirmed yet.
  uint64_t pending = 0;
  /// The state-stream sequence the shop is delivered up to (its checkpoint
  /// as this node's driver last wrote it; 0 when none).
  uint64_t checkpoint = 0;
  std::string last_error;
  /// The shop's resync record as the watcher last read it (every second):
  /// nothing before the first read or when none was ever asked for.
  std::optional<shop_resync> resync;
  /// Rows resyncs of this node's driver pushed since this node started.
  uint64_t resync_pushed = 0;
};

/// The channel side of a cluster node (PRODUCT.md §7): the node that owns a
/// shop's slot (`slot_of_shop`) drives the shop, so one node at a time holds
/// its Shopify bucket or its Amazon feed budget.
///
/// One plain thread per driven shop (every JetStream and channel call
/// blocks): it reads every product state from the shop's checkpoint on
/// (an ordered consumer of `shelfsync.state.product.>`; the state stream
/// keeps the newest state of each product, so nothing changed since the
/// checkpoint is missed), computes the shop's view of each
/// (`compute_view`), compares it with the shop's delivery record of the
/// product and pushes what differs. Every write is a CAS made only while
/// the slot's lease holds; a push starts only while `push_margin` of it is
/// left, and carries Shopify's `changeFromQuantity` (the value last
/// confirmed, or the level just read when that is unknown), so a late push
/// of a fenced owner cannot overwrite a newer value. The checkpoint moves
/// only past products confirmed or failed for good.
///
/// Amazon sellers: the changed views of a round (gathered for the shop's
/// `batch_interval`) go out as one JSON_LISTINGS_FEED, recorded in the
/// seller's memo (`shelfsync.state.shop.<hex>.feeds`) before createFeed,
/// with createFeed's budget (5 per 5 minutes) kept there too; the driver
/// follows the feed to its end and applies its report to the delivery
/// records. A new owner first follows the feeds the memo names to their
/// end, so no value goes backwards.
class shop_drivers {
 public:
  /// Starts watching `n`'s slots for the shops of `conf`.
  shop_drivers(node& n, config_ptr conf, shop_drivers_options options = {});

  /// Stops every driver (what they did not confirm stays pending in the
  /// cluster for the next owner).
  ~shop_drivers();
  shop_drivers(const shop_drivers&) = delete;
  shop_drivers& operator=(const shop_drivers&) = delete;

  /// Drives the shops of `conf` from now on; drivers of changed shops
  /// restart with the new settings.
  void reload(config_ptr conf);

  /// Every configured shop. Does not block (the slot holders are read by
  /// the watcher every second).
  std::vector<shop_drive_status> status();

  /// Asks for a resync of `shop` (any node may): the shop's driver, on
  /// whichever node, re-reads what the shop holds and pushes every
  /// difference. `done` runs on a request thread with the record as
  /// written; `not_found` for a shop not in the config, `conflict` while a
  /// resync asked for earlier has not finished.
  void request_resync_async(std::string shop,
                            std::function<void(outcome<shop_resync>)> done);

  /// Stops every driver at once, like a killed process (for tests).
  void halt();

  struct driver;

 private:
  void watch_loop();
  void watch_round();
  void read_holders();
  void run(driver& d);
  outcome<shop_resync> request_resync(const std::string& shop);

  node& node_;
  shop_drivers_options options_;
  std::mutex mutex_;
  config_ptr conf_;
  uint64_t generation_ = 0;
  std::map<std::string, std::unique_ptr<driver>> drivers_;
  std::vector<std::unique_ptr<driver>> stopping_;
  /// The holder of each shop slot's lease, as last read.
  std::map<uint32_t, std::optional<std::string>> holders_;
  /// Each shop's resync record, as last read.
  std::map<std::string, shop_resync> resyncs_;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

} // namespace shelfsync::cluster
