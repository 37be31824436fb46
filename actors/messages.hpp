#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "config/config.hpp"
#include "storage/records.hpp"

namespace shelfsync {

/// The answer to an ingested batch.
struct ingest_result {
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  uint64_t last_seq = 0;
};

/// @relates ingest_result
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_result& x) {
  return f(caf::meta::type_name("ingest_result"), x.accepted, x.duplicates,
           x.last_seq);
}

/// What a product actor reports after applying events or a new config.
struct product_update {
  std::string product;
  /// The product's record, already encoded for the store: the product
  /// actors do the encoding, in parallel, not the directory.
  std::string record;
  /// The views that changed, with their shop ids (in config order).
  std::vector<std::pair<std::string, view_change>> changes;
};

/// @relates product_update
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, product_update& x) {
  return f(caf::meta::type_name("product_update"), x.product, x.record,
           x.changes);
}

/// The products' results of one dispatched batch, collected without a
/// message per product: each product of the batch adds its update, and the
/// one that adds the last tells the directory (one message per batch, not
/// one per product). Shared by the directory and the batch's products.
class batch_results {
 public:
  batch_results(uint64_t batch, size_t products)
      : batch_(batch), outstanding_(products) {
    updates_.reserve(products);
  }

  /// The dispatched batch these results belong to.
  uint64_t batch() const { return batch_; }

  /// Adds one product's result; returns true for the batch's last product.
  bool add(product_update&& update) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      updates_.push_back(std::move(update));
    }
    return outstanding_.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }

  /// Takes the results added so far (all of them once `add` returned true).
  std::vector<product_update> take() {
    std::lock_guard<std::mutex> guard{mtx_};
    return std::move(updates_);
  }

 private:
  uint64_t batch_;
  std::mutex mtx_;
  std::vector<product_update> updates_;
  std::atomic<size_t> outstanding_;
};

using batch_results_ptr = std::shared_ptr<batch_results>;

/// A page of a resync: the newest views one shop should show for a run of
/// stored products, in product code order.
struct resync_page {
  /// The views of the page's products that have one for the shop.
  std::vector<view_change> views;
  /// Products visited.
  uint64_t scanned = 0;
  /// The last product visited: where the next page starts after.
  std::string last;
  /// Nothing comes after `last`.
  bool end = false;
};

/// @relates resync_page
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, resync_page& x) {
  return f(caf::meta::type_name("resync_page"), x.views, x.scanned, x.last,
           x.end);
}

/// A shop as `GET /v1/shops/{id}` shows it.
struct shop_status {
  std::string shop;
  std::string channel;
  bool stock_sync = false;
  /// Products with a view not yet confirmed by the channel.
  uint64_t pending = 0;
  uint64_t in_flight = 0;
  /// RFC 3339, empty when never.
  std::string last_success;
  std::string last_error;
  /// Why the channel refuses this shop's credentials, or that they are not
  /// set (never the secret); empty when no call says so.
  std::string credentials_refused;
  /// Channel-specific details (API budget, feeds) as a JSON object text.
  std::string details = "{}";
};

/// @relates shop_status
template<class Inspector>
typename Inspector::result_type inspect(Inspector& f, shop_status& x) {
  return f(caf::meta::type_name("shop_status"), x.shop, x.channel, x.stock_sync,
           x.pending, x.in_flight, x.last_success, x.last_error,
           x.credentials_refused, x.details);
}

} // namespace shelfsync

// A config is shared read-only between actors of one process and never sent
// to another node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(shelfsync::config_ptr)
// A batch's results are shared between the directory and the batch's
// products in one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(shelfsync::batch_results_ptr)
