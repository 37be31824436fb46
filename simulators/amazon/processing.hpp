#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "simulators/amazon/listings.hpp"

namespace shelfsync::amazon::sim {

/// A SKU set to fail in the next feeds that carry it.
struct sku_failure {
  /// Amazon's issue code and message put into the report.
  std::string code;
  std::string message;
  /// How many more feeds it fails in; 0 means until cleared.
  uint32_t times = 0;
};

/// One seller's failing SKUs by SKU.
using failure_table = std::map<std::string, sku_failure>;

/// The failure a transient one looks like on Amazon (models#4603).
sku_failure transient_failure(uint32_t times = 1);

/// A permanent failure as Amazon gives it for an unsupported product type.
sku_failure permanent_failure(uint32_t times = 0);

/// The result of processing one feed document.
struct processing_outcome {
  /// The document was not a valid feed at all: the feed ends FATAL.
  bool fatal = false;
  /// The processing report (JSON), also for a fatal feed.
  std::string report;
  /// Schema and consistency problems found, for the inspection endpoint.
  std::vector<std::string> validation_issues;
  size_t messages = 0;
  size_t accepted = 0;
  size_t invalid = 0;
};

/// Validates `body` as a JSON_LISTINGS_FEED of `seller_id` (the whole
/// document against listings-feed-schema-v2.json, each message against the
/// message schema), applies the valid messages to `listings` unless a
/// failure in `failures` applies, and writes the processing report.
/// An unparseable document, one whose envelope breaks the schema, or one
/// for another seller is fatal; an invalid message is an ERROR issue
/// (4002008) and the rest of the feed is processed.
processing_outcome process_feed(const std::string& seller_id,
                                const std::string& feed_id,
                                std::string_view body, listing_store& listings,
                                failure_table& failures);

/// The report of a feed the simulator was told to fail (fault next_feed).
std::string forced_fatal_report(const std::string& seller_id,
                                const std::string& feed_id);

} // namespace shelfsync::amazon::sim
