#pragma once

#include <cstdint>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace shelfsync {

/// The one error enum of shelfsync, for every part of it (storage translates
/// RocksDB's statuses to it at its boundary). Handlers return `caf::result<T>`,
/// helpers `caf::expected<T>` or `caf::error` carrying one of these codes.
enum class ec : uint8_t {
  none = 0,
  /// RocksDB reported a failure; the context carries its message.
  storage_failure,
  /// A stored record could not be decoded.
  corrupt_record,
  /// A request or event was invalid; the context says what and where.
  invalid_input,
  /// A configuration was invalid.
  invalid_config,
  /// The thing asked for does not exist.
  not_found,
  /// The engine is shutting down and takes no more work.
  shutting_down,
  /// The request clashes with work in progress (a resync already running).
  conflict,
};

/// Returns a stable name for `x`.
inline const char* to_string(ec x) {
  switch (x) {
  case ec::none:
    return "none";
  case ec::storage_failure:
    return "storage_failure";
  case ec::corrupt_record:
    return "corrupt_record";
  case ec::invalid_input:
    return "invalid_input";
  case ec::invalid_config:
    return "invalid_config";
  case ec::not_found:
    return "not_found";
  case ec::shutting_down:
    return "shutting_down";
  case ec::conflict:
    return "conflict";
  }
  return "unknown";
}

} // namespace shelfsync

CAF_ERROR_CODE_ENUM(shelfsync::ec, "shelfsync")
