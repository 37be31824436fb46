#pragma once

#include <chrono>
#include <string>

#include "cluster/node.hpp"
#include "tests/cluster/nats_test_support.hpp"

namespace shelfsync::test {

/// A node of `slots` slots on `nats` with short leases (2 s TTL, fenced
/// 0.8 s before, renewed every 0.3 s), so that take-overs in tests take
/// about two seconds.
inline cluster::node_options short_lease_options(const nats_servers& nats,
                                                 const std::string& id,
                                                 uint32_t slots, int replicas) {
  using std::chrono::milliseconds;
  cluster::node_options o;
  o.node_id = id;
  o.connect.urls = nats.urls();
  o.connect.timeout = milliseconds{2000};
  o.slots = slots;
  o.replicas = replicas;
  o.lease_ttl = milliseconds{2000};
  o.lease_margin = milliseconds{800};
  o.renew_every = milliseconds{300};
  o.read_wait = milliseconds{20000};
  o.request_threads = 2;
  return o;
}

} // namespace shelfsync::test
