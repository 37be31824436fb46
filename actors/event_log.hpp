#pragma once

#include <memory>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// State of the EVENT LOG actor.
struct event_log_state {
  std::shared_ptr<store> db;
  directory_actor directory;
  /// The last append failed: the next success is logged as a recovery.
  bool failing = false;
  static inline const char* name = "event_log";
};

/// The behaviour of the EVENT LOG actor. Spawn it detached in production:
/// with `durability: fsync` every batch waits for the disk.
event_log_actor::behavior_type
event_log(event_log_actor::stateful_pointer<event_log_state> self,
          std::shared_ptr<store> db, directory_actor directory);

} // namespace shelfsync
