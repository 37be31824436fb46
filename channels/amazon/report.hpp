#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channels/amazon/feed.hpp"

namespace shelfsync::amazon {

// -- the report as Amazon writes it
// ---------------------------------------------

/// How bad an issue is.
enum class issue_severity { error, warning, info };

/// Returns "ERROR", "WARNING" or "INFO".
std::string_view to_string(issue_severity severity);

/// One entry of `issues[]`.
struct report_issue {
  /// The message it is about; absent for feed-level problems.
  std::optional<int64_t> message_id;
  /// The SKU, when Amazon names it.
  std::string sku;
  /// Amazon's code, e.g. "90220"; may be empty.
  std::string code;
  issue_severity severity = issue_severity::error;
  std::string message;
  std::string attribute_name;
};

/// `summary` of the report.
struct report_summary {
  int64_t errors = 0;
  int64_t warnings = 0;
  int64_t messages_processed = 0;
  int64_t messages_accepted = 0;
  int64_t messages_invalid = 0;
};

/// A parsed JSON_LISTINGS_FEED processing report (schema v2). `items[]` is
/// not kept: shelfsync does not request includedData.
struct processing_report {
  std::string seller_id;
  std::string version;
  std::string feed_id;
  std::vector<report_issue> issues;
  report_summary summary;
};

/// Parses a processing report. On failure returns nullopt and, when `error`
/// is given, stores a sentence saying what is wrong and where.
std::optional<processing_report>
parse_processing_report(std::string_view text, std::string* error = nullptr);

// -- what it means per SKU
// ------------------------------------------------------

/// The verdict of a report on one message.
enum class sku_result {
  /// Passed Amazon's synchronous checks (possibly with warnings): the value
  /// counts as confirmed.
  accepted,
  /// Refused for a reason that may go away: send the SKU again later.
  transient_error,
  /// Refused for a reason that will not go away by resending: report it.
  permanent_error,
  /// Amazon did not look at the message at all (feed-level problem, nothing
  /// processed): resubmit it as if the feed were FATAL.
  not_processed,
};

/// Returns "accepted", "transient_error", "permanent_error", "not_processed".
std::string_view to_string(sku_result result);

/// The verdict on one SKU of a feed.
struct sku_outcome {
  std::string sku;
  /// The quantity that feed carried for it.
  int64_t quantity = 0;
  int64_t message_id = 0;
  sku_result result = sku_result::accepted;
  /// Amazon's code and message of the first ERROR issue (or of the
  /// feed-level issue for not_processed); empty when accepted.
  std::string code;
  std::string message;
  /// Number of ERROR and WARNING issues about this message.
  uint32_t errors = 0;
  uint32_t warnings = 0;
};

/// Maps every message of `feed` to its verdict in `report`, in messageId
/// order.
std::vector<sku_outcome> classify_report(const processing_report& report,
                                         const listings_feed& feed);

} // namespace shelfsync::amazon
