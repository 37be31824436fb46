#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/jetstream.hpp"
#include "storage/records.hpp"

namespace shelfsync::cluster {

/// One message of a slot's share of the events stream.
struct log_message {
  /// Its events-stream sequence.
  uint64_t seq = 0;
  /// When the stream stored it (ns since the Unix epoch).
  int64_t stored_ns = 0;
  /// Messages of the slot after this one when it was delivered.
  uint64_t pending = 0;
  std::vector<stock_event> events;
};

/// Reads the messages of slot `slot` (`shelfsync.events.<slot>`) whose
/// sequence is in (`after`, `up_to`], in order, through an ordered consumer
/// (nothing durable is created), and calls `each` with every one; `each`
/// returns false to stop early. `up_to` 0 reads up to the slot's last
/// message when the call began. Blocking.
status read_slot_log(jetstream& js, uint32_t slot, uint64_t after,
                     uint64_t up_to,
                     const std::function<bool(log_message&)>& each);

/// How far a slot's applier is behind.
struct slot_lag {
  /// Messages of the slot stored after the applied sequence.
  uint64_t messages = 0;
  /// The events they hold; a lower bound when `capped`.
  uint64_t events = 0;
  /// Only the first `max_messages` messages were read to count events.
  bool capped = false;
};

/// The lag of slot `slot` applied up to `applied_seq` whose last message is
/// `last_seq`: nothing is read when they are equal.
outcome<slot_lag> measure_lag(jetstream& js, uint32_t slot,
                              uint64_t applied_seq, uint64_t last_seq,
                              uint64_t max_messages = 256);

} // namespace shelfsync::cluster
