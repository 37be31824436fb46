#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "channels/amazon/feed.hpp"

namespace shelfsync {

// -- what the Amazon worker answers the Amazon shop ---------------------------

/// Why an SP-API call failed, as the Amazon worker reports it (the fields of
/// amazon::call_error a shop acts on; never holds secrets).
struct amazon_failure {
  /// amazon::call_status as a number (1 throttled, 2 retryable, 3 permanent).
  uint8_t status = 2;
  /// The HTTP status, 0 when no answer arrived or nothing was sent.
  int32_t http_status = 0;
  /// Amazon's code, the transport failure, "RateModel" for a local refusal,
  /// "MissingCredentials" or "BadEndpoint" when the worker cannot call.
  std::string code;
  /// One line for the shop's last_error: operation, status, message.
  std::string message;
  /// When to try again, in milliseconds; negative when not known.
  int64_t retry_after_ms = -1;
  /// False when the request certainly never left (a retry is always safe).
  bool sent = true;
};

/// @relates amazon_failure
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, amazon_failure& x) {
  return f(caf::meta::type_name("amazon_failure"), x.status, x.http_status,
           x.code, x.message, x.retry_after_ms, x.sent);
}

/// The answer to a feed submission: the feedId, or why there is none.
struct amazon_submission {
  bool ok = false;
  std::string feed_id;
  amazon_failure failure;
};

/// @relates amazon_submission
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, amazon_submission& x) {
  return f(caf::meta::type_name("amazon_submission"), x.ok, x.feed_id,
           x.failure);
}

/// The verdict of a processing report on one message of a feed.
struct amazon_verdict {
  int64_t message_id = 0;
  /// amazon::sku_result as a number (0 accepted, 1 transient, 2 permanent,
  /// 3 not processed).
  uint8_t result = 0;
  /// Amazon's code and message; empty when accepted.
  std::string code;
  std::string message;
};

/// @relates amazon_verdict
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, amazon_verdict& x) {
  return f(caf::meta::type_name("amazon_verdict"), x.message_id, x.result,
           x.code, x.message);
}

/// The answer to a feed check: where the feed stands and, once it is
/// terminal, the verdict on every message.
struct amazon_feed_check {
  /// getFeed (and, at the end, the report) answered; else see `failure`.
  bool ok = false;
  amazon_failure failure;
  /// amazon::processing_status as a number.
  uint8_t status = 0;
  /// DONE, CANCELLED or FATAL: `verdicts` holds every message, in order.
  bool terminal = false;
  std::vector<amazon_verdict> verdicts;
};

/// @relates amazon_feed_check
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, amazon_feed_check& x) {
  return f(caf::meta::type_name("amazon_feed_check"), x.ok, x.failure, x.status,
           x.terminal, x.verdicts);
}

/// The SKUs and quantities of one submitted feed (its body dropped), shared
/// read-only between the shop and its worker, which classifies the report
/// against it. Never leaves the process.
using amazon_feed_ptr = std::shared_ptr<const amazon::listings_feed>;

} // namespace shelfsync

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(shelfsync::amazon_feed_ptr)
