#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>

#include "storage/store.hpp"

namespace shelfsync {

/// The views one shop still has to deliver, and the channel's answers,
/// recorded durably in delivery records. Channel-independent: the Shopify
/// and Amazon shop actors both keep one.
///
/// A product is *waiting* (in the send queue) or *in flight* (taken by a
/// request), never both: one request per product at a time is what keeps an
/// older value from overtaking a newer one. A newer view arriving while a
/// product is in flight waits until the flight ends.
///
/// Durably, the outbox is the set of segments the directory committed (one
/// per commit and shop). The outbox counts the live changes of each segment
/// and erases a segment once each of its changes is delivered or superseded
/// by a newer one, so a restart reloads exactly what is still owed. Changes
/// arrive before their segment is committed (the directory writes behind),
/// so the newest segment is erased only once a newer one appears.
///
/// A delivery record the store cannot take (a full disk) is not treated as
/// stored: the entry keeps it in memory, where it decides what goes out, and
/// stores it again with every later write of the outbox (and by
/// `save_unsaved`) until the store takes it. What a request sends is recorded
/// before it leaves (`sent`): when that fails, the request must not leave, so
/// that a record on disk never says a value is confirmed while the channel may
/// hold another (a restart then resends what it does not know).
///
/// Memory is bounded: past `capacity` products, arriving changes are left
/// in their segments (they are on disk, or will be at the next commit) and
/// read back in order as room frees, so a backlog of millions of views costs
/// disk, not memory. Once one change is left on disk, every later one is
/// too, until all are read back: an older value can never follow a newer.
class outbox {
 public:
  /// The part of a product's view that a request should carry.
  struct item {
    std::string product;
    uint64_t seq = 0;
    /// Only the locations whose desired value the channel has not confirmed.
    shop_view send;
    /// The whole desired view (for channels that need every location).
    shop_view desired;
  };

  /// Products held in memory before changes stay on disk.
  static constexpr size_t default_capacity = 50'000;

  outbox(std::string shop, std::shared_ptr<store> db,
         size_t capacity = default_capacity);

  /// Loads the entries the directory committed for this shop.
  caf::error load();

  /// Adds changed views, as the directory hands them on (in segment
  /// order); the latest (highest seq) per product wins. Also reads changes
  /// left on disk back when there is room: the directory sends an empty
  /// list after each commit, so that what was left in a segment not yet
  /// committed is found.
  void enqueue(std::vector<view_change>&& changes);

  /// Adds views that a resync pushes even where the channel confirmed them.
  /// A product already waiting or in flight keeps its own view (the
  /// directory sends it, so it is at least as new) and is only marked; any
  /// other is queued with the given view, held in no segment (the resync
  /// keeps its own durable cursor).
  void enqueue_forced(std::vector<view_change>&& views);

  /// Returns whether `product` still owes a resync push.
  bool owes_forced(const std::string& product) const;

  /// Takes up to `max` waiting products and marks them in flight. Products
  /// whose every location already holds the desired value (confirmed, or
  /// failed permanently with that same value) are not returned: they leave
  /// the outbox at once, without a request. A location whose last request
  /// was never answered holds nothing for sure. A resync's product carries
  /// every location of its view.
  std::vector<item> take(size_t max);

  /// Records that `value` for `product` at `location` leaves in `request`,
  /// before the request leaves. On an error nothing is recorded (not even in
  /// memory) and the request must not leave: the channel could come to hold
  /// a value that neither the store nor a restart knows of.
  caf::error sent(const std::string& product, const std::string& location,
                  int64_t value, const std::string& request, int64_t now_ms);

  /// Records the channel's acknowledgement of `value`. This and the calls
  /// below change the record in memory even when the store refuses it: the
  /// record then stays unsaved (see `save_unsaved`).
  caf::error confirmed(const std::string& product, const std::string& location,
                       int64_t value);

  /// Records a refusal of `value` with the channel's code and message.
  caf::error failed(const std::string& product, const std::string& location,
                    int64_t value, const std::string& code,
                    const std::string& message, const std::string& at,
                    bool permanent);

  /// Notes in the delivery record that the channel was found holding
  /// `seen` at `location` instead of the confirmed value (drift check).
  caf::error drifted(const std::string& product, const std::string& location,
                     int64_t seen, const std::string& at);

  /// Stores the delivery records the store refused before;
  /// stops at the first error and returns it. Runs by itself with `take` and
  /// `enqueue`; shops also call it on their timers, so that the records go
  /// to disk once the store takes writes again.
  caf::error save_unsaved();

  /// Delivery records changed in memory that the store has not taken yet.
  size_t unsaved() const { return unsaved_.size(); }

  /// Returns whether `product` waits or is in flight.
  bool pending(const std::string& product) const;

  /// Ends the flight of `product`. The product leaves the outbox when its
  /// view is delivered (or refused for good) and no newer view waits;
  /// otherwise it goes back in the queue (at the front when `retry`, so that
  /// it goes out next). Returns whether it left.
  bool finish(const std::string& product, bool retry);

  /// Marks `flown.product` in flight with `flown.seq`, as it was when the
  /// process stopped (its request is still being processed by the channel).
  /// Call before load(): a newer view loaded afterwards waits until the
  /// flight ends, as if it had arrived during the flight.
  void resume(view_change flown);

  /// The delivery record of `product` (loaded from the store on first use).
  const delivery_record& deliveries(const std::string& product);

  /// Products waiting to be sent.
  size_t waiting() const { return queue_.size(); }

  /// Products in flight.
  size_t in_flight() const { return flights_.size(); }

  /// Changes left on disk, still to be read back (a product may count more
  /// than once until then).
  size_t spilled() const { return spilled_; }

  /// Returns whether nothing waits and nothing is in flight.
  bool empty() const {
    return queue_.empty() && flights_.empty() && spilled_ == 0;
  }

 private:
  struct entry {
    /// The newest view; its `segment` holds it durably.
    view_change latest;
    bool queued = false;
    bool flying = false;
    /// A resync asked for every location to be sent, confirmed or not.
    bool forced = false;
    std::optional<delivery_record> record;
    /// `record` holds changes the store refused: the entry stays, and the
    /// record is the truth about the channel, until the store takes it.
    bool unsaved = false;
  };

  entry& get(const std::string& product);
  /// Takes a change into memory.
  void add(view_change&& c);
  /// Takes the change at `index` of its segment into memory, or leaves it
  /// on disk when memory is full or earlier changes were left there.
  void offer(view_change&& c, size_t index);
  /// Whether a change for `product` must be left on disk.
  bool full(const std::string& product) const;
  /// Reads changes left on disk back while there is room.
  void refill();
  /// Notes segment `id` arriving: the ones before it are committed.
  void arrived(uint64_t id);
  /// Stores the delivery record of `product`; forgets the entry (`e`
  /// dangles) when it owes nothing and the store took it. A refused record
  /// stays unsaved.
  caf::error save(const std::string& product, entry& e);
  /// Forgets the entry of `product` (`e` dangles) unless it is waiting, in
  /// flight, holds a view, or an unsaved record.
  void forget_if_idle(const std::string& product, entry& e);
  /// Forgets the view of a delivered product: the entry goes unless its
  /// record is unsaved (it stays, holding only the record).
  void delivered(const std::string& product, entry& e);
  /// Drops one live change of `segment`; erases the segment at zero.
  void release(uint64_t segment);
  /// Erases the dead segments, lowest id first, until one cannot be.
  void erase_dead();

  std::string shop_;
  std::shared_ptr<store> db_;
  std::unordered_map<std::string, entry> entries_;
  /// Products whose record is unsaved.
  std::set<std::string> unsaved_;
  std::deque<std::string> queue_;
  std::map<std::string, uint64_t> flights_;
  /// Live changes per segment id.
  std::map<uint64_t, size_t> segments_;
  /// The highest segment id seen: every lower one is committed already.
  uint64_t newest_segment_ = 0;
  /// Dead segments that may not be committed yet; erasing them now would be
  /// undone by the commit, so they are erased once a newer segment shows.
  std::vector<uint64_t> deferred_;
  /// Segments whose changes are all delivered or superseded, to erase in id
  /// order; one the store refused to erase holds up the later ones.
  std::set<uint64_t> dead_;
  size_t capacity_;
  /// Whether changes are left on disk, from which change on (segment and
  /// position in it), and how many.
  bool spilling_ = false;
  uint64_t spill_segment_ = 0;
  size_t spill_index_ = 0;
  size_t spilled_ = 0;
  /// The segment of the last change handed on, and how many of it came.
  uint64_t arrival_segment_ = 0;
  size_t arrival_index_ = 0;
};

} // namespace shelfsync
