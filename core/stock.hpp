#pragma once

#include "storage/records.hpp"

namespace shelfsync {

/// What applying one event did to a product.
enum class apply_outcome {
  /// The stock changed.
  changed,
  /// Valid, but the stock is the same as before (e.g. same absolute value).
  unchanged,
  /// Its version was not newer than the last applied one: logged, no effect.
  stale,
  /// Already applied before (sequence number not newer than the record's).
  replayed,
};

/// Applies `e` to `rec` as the contract says: absolute `on_hand`, relative
/// `delta` (a never-seen warehouse starts at 0), absolute `reserved`, and
/// versions shared by on_hand and reserved per product and warehouse.
apply_outcome apply_event(product_record& rec, const stock_event& e);

} // namespace shelfsync
