#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <nats/nats.h>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"

namespace shelfsync::cluster {

/// The bucket that holds every lease.
struct lease_bucket_config {
  /// A JetStream KV bucket name.
  std::string bucket = "shelfsync_leases";
  /// How long a lease lives without a renewal: the bucket's max age, so it
  /// is the same for every key (at least 100 ms; JetStream refuses less).
  std::chrono::milliseconds ttl{6000};
  /// 1, 3 or 5 (`node.cluster.replicas`).
  int replicas = 1;
};

/// A JetStream KV bucket of leases, keyed `slot.<n>` or `shop.<id>`; the
/// value of a key is the id of the node that holds it. Blocking, like
/// `jetstream`.
class lease_bucket {
 public:
  /// Creates the bucket, or opens it when it exists with this configuration.
  static outcome<std::unique_ptr<lease_bucket>>
  open(jetstream& js, const lease_bucket_config& config);

  ~lease_bucket();
  lease_bucket(const lease_bucket&) = delete;
  lease_bucket& operator=(const lease_bucket&) = delete;

  const lease_bucket_config& config() const { return config_; }

  /// The KV store.
  kvStore* store() { return kv_; }

  /// The JetStream connection it was opened on.
  jetstream& js() { return js_; }

  /// The key of slot `n`'s lease: `slot.<n>`.
  static std::string slot_key(uint32_t n);

  /// The key of a shop's lease: `shop.<id>` (shop ids are `[A-Za-z0-9._-]+`,
  /// all valid in a KV key).
  static std::string shop_key(const std::string& shop_id);

 private:
  lease_bucket(jetstream& js, kvStore* kv, lease_bucket_config config)
      : js_(js), kv_(kv), config_(std::move(config)) {}

  jetstream& js_;
  kvStore* kv_;
  lease_bucket_config config_;
};

/// One lease a node wants to hold, fenced by a local deadline.
///
/// Ownership is decided only by compare-and-set results, never by reading
/// the bucket (a KV read may come from a stale replica): `take` creates the
/// key (refused when anyone holds it), `renew` updates it expecting the
/// revision this holder last wrote (refused when the lease expired and was
/// taken, or was released), `release` deletes it expecting that revision.
///
/// **Fencing.** The holder's deadline is the start of its last successful
/// take or renew request, plus the TTL, minus the safety margin. The server
/// stamps the key after the request started, so it cannot expire elsewhere
/// before start + TTL (for clocks running at the same rate); `valid()` turns
/// false `margin` earlier, and the holder must stop writing and pushing
/// then. Every write made on behalf of the lease should in addition carry a
/// compare-and-set (`jetstream::publish_cas`) so that a write already under
/// way when the lease was lost is refused.
///
/// Not thread-safe: one lease is driven by one thread (a detached actor).
class lease {
 public:
  using clock = std::chrono::steady_clock;

  /// A lease on `key` of `bucket` for the node `holder`; `margin` must be
  /// smaller than the bucket's TTL.
  lease(lease_bucket& bucket, std::string key, std::string holder,
        std::chrono::milliseconds margin);

  /// Takes the lease when nobody holds it. `errc::conflict` when someone
  /// does (or a stale read made cnats think so: try again later). Taking a
  /// lease this object holds renews it.
  status take();

  /// Extends the lease this object holds. `errc::conflict` when it was lost:
  /// the object then holds nothing. Other errors (timeout, unavailable)
  /// leave the deadline as it was, so `valid()` turns false in time.
  status renew();

  /// Gives the lease up: it stops being valid at once, then the key is
  /// deleted if it still holds this holder's revision. Holding nothing is
  /// not an error.
  status release();

  /// Whether this object holds the lease and its fencing deadline has not
  /// passed: the holder may write and push only while this is true.
  bool valid() const { return held() && clock::now() < deadline_; }

  /// Whether the last take or renew succeeded and nothing was lost since
  /// (the deadline may have passed).
  bool held() const { return revision_ != 0; }

  /// The revision of the key this holder wrote last; 0 when it holds none.
  /// Writes fenced by the lease may carry it.
  uint64_t revision() const { return revision_; }

  /// Past this point the holder must not write; meaningless unless held.
  clock::time_point deadline() const { return deadline_; }

  const std::string& key() const { return key_; }
  const std::string& holder() const { return holder_; }

  /// What the key holds from the next take or renew on: `value` instead of
  /// the holder's id (a node's membership lease says more of the node).
  void set_value(std::string value) { value_ = std::move(value); }

 private:
  const std::string& value() const { return value_.empty() ? holder_ : value_; }

  lease_bucket& bucket_;
  std::string key_;
  std::string holder_;
  /// Written instead of `holder_` when not empty.
  std::string value_;
  std::chrono::milliseconds margin_;
  uint64_t revision_ = 0;
  clock::time_point deadline_{};
};

} // namespace shelfsync::cluster
