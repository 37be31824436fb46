#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shelfsync::shopify {

/// A Shopify Admin API version such as `2026-10`. The inventory contract
/// changed at 2026-01 (changeFromQuantity, optional @idempotent) and at
/// 2026-04 (both mandatory), so callers compare versions.
struct api_version {
  int year = 2026;
  int month = 10;

  /// Parses `YYYY-MM` where MM is 01, 04, 07 or 10 (Shopify's release months).
  static std::optional<api_version> parse(std::string_view text);

  /// `YYYY-MM`.
  std::string to_string() const;

  /// The version shelfsync speaks unless configured otherwise.
  static api_version default_version() { return {2026, 10}; }

  /// 2026-01 and later know `changeFromQuantity` and `@idempotent`.
  bool has_change_from_quantity() const {
    return *this >= api_version{2026, 1};
  }

  /// 2026-04 and later require both `changeFromQuantity` and `@idempotent`.
  bool requires_idempotency() const { return *this >= api_version{2026, 4}; }

  friend bool operator<(const api_version& a, const api_version& b) {
    return a.year != b.year ? a.year < b.year : a.month < b.month;
  }
  friend bool operator>=(const api_version& a, const api_version& b) {
    return !(a < b);
  }
  friend bool operator==(const api_version& a, const api_version& b) {
    return a.year == b.year && a.month == b.month;
  }
  friend bool operator!=(const api_version& a, const api_version& b) {
    return !(a == b);
  }
};

} // namespace shelfsync::shopify
