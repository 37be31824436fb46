#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "channels/amazon/feed.hpp"

namespace shelfsync {

/// A submitted JSON_LISTINGS_FEED as the Amazon shop keeps it in its channel
/// memory until the feed's report is in: enough to follow the feed after a
/// restart and to know which products are in flight with which value.
struct amazon_feed_record {
  /// The memo key it is stored under (see amazon_feed_key).
  std::string key;
  /// Amazon's feedId.
  std::string feed_id;
  /// Milliseconds since the epoch when createFeed answered.
  int64_t submitted_ms = 0;
  /// What each message carried: message n is entries[n - 1].
  std::vector<amazon::feed_entry> entries;
  /// The outbox sequence number of each entry's view, same order.
  std::vector<uint64_t> seqs;
};

/// The prefix of every feed memo key.
inline constexpr std::string_view amazon_feed_prefix = "feed/";

/// The memo key of the `n`-th feed: the prefix and `n` zero-padded, so that
/// keys sort in submission order.
std::string amazon_feed_key(uint64_t n);

/// The `n` of a key made by amazon_feed_key; 0 when it is not one.
uint64_t amazon_feed_number(std::string_view key);

/// Serializes a record into its stored form (JSON text).
std::string encode(const amazon_feed_record& x);

/// Parses a stored record; returns false when `in` is not one. `x.key` is
/// left as it was.
bool decode(std::string_view in, amazon_feed_record& x);

} // namespace shelfsync
