#pragma once

#include <string_view>

namespace shelfsync::amazon {

/// Decides whether an ERROR issue of a processing report is transient, i.e.
/// sending the same message again later may succeed, or permanent, i.e. the
/// listing or the message must change first.
///
/// Transient: code 4000000 "An internal error has occurred. Please try
/// again." (Amazon's own failure, seen on Listings Items and feeds,
/// selling-partner-api-models#4603), and any issue whose message tells the
/// seller to try again or names an internal error.
///
/// Permanent: everything else, including the codes the reference lists:
/// 90220 / 99022 (required or too few attribute values), 90000900 (attributes
/// invalid), 4000003 (product type invalid or unsupported), 4002001 / 4002005
/// / 4002006 / 4002008 (feed or message fails parsing or schema validation),
/// BAD_REQUEST (invalid parameters, e.g. a missing fulfillment_channel_code),
/// 8541 (conflicts with catalog data). Unknown codes are permanent on
/// purpose: retrying a permanent error forever wastes the 5-feeds-per-5-
/// minutes budget of every other SKU, while a permanent verdict on a
/// transient glitch is undone by the SKU's next change or a resync.
bool is_transient_issue(std::string_view code, std::string_view message);

} // namespace shelfsync::amazon
