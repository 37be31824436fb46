#pragma once

#include <string_view>

/// Amazon's JSON schemas for listings feeds, compiled in from
/// `channels/amazon/schemas/` (Apache-2.0, see the LICENSE and NOTICE there).
namespace shelfsync::amazon::schemas {

/// `listings-feed-schema-v2.json`: a whole JSON_LISTINGS_FEED document.
std::string_view listings_feed();

/// `listings-feed-message-schema-v2.json`: one message of such a feed.
std::string_view listings_feed_message();

/// `listings-feed-processing-report-schema-v2.json`: the processing report.
std::string_view processing_report();

} // namespace shelfsync::amazon::schemas
