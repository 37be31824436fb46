#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/interfaces.hpp"
#include "config/config.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// What one retention step did.
struct retention_step {
  /// Log entries dropped, and the seq the log now starts after.
  uint64_t dropped = 0;
  uint64_t snapshot_seq = 0;
  /// Whether more may be due at once (the step stopped at `max_events`).
  bool more = false;
};

/// Drops up to `max_events` of the oldest log entries that `policy` lets go
/// as of `now_ms` and that lie at or below the durable checkpoint (never
/// anything a restart would replay): first their stock goes into the
/// snapshot records that `replay` and `log` start from, in the same
/// atomic, fsync'ed write that deletes them (see `store::drop_log`).
caf::expected<retention_step> retain_log(store& db,
                                         const log_retention_config& policy,
                                         int64_t now_ms, size_t max_events);

/// Spawns the detached actor that runs `retain_log` every `interval`, one
/// chunk of `chunk` entries per message until nothing more is due. Stop it
/// with an exit message.
retention_actor spawn_retention(caf::actor_system& sys,
                                std::shared_ptr<store> db,
                                log_retention_config policy,
                                std::chrono::milliseconds interval,
                                size_t chunk = 10000);

} // namespace shelfsync
