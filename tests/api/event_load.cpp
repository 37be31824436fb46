#include "tests/api/event_load.hpp"

namespace shelfsync::tests {

event_load::event_load(uint64_t seed, std::string id_prefix,
                       std::vector<std::string> products,
                       std::vector<std::string> warehouses)
    : rng_(seed), prefix_(std::move(id_prefix)), products_(std::move(products)),
      warehouses_(std::move(warehouses)) {}

event_spec event_load::fresh(const std::string& product,
                             const std::string& warehouse) {
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>{lo, hi}(rng_);
  };
  event_spec e;
  e.id = prefix_ + std::to_string(next_id_++);
  e.product = product;
  e.warehouse = warehouse;
  auto& version = versions_[{product, warehouse}];
  auto versioned = [&] {
    if (pick(0, 1) == 0) return;
    version += pick(1, 3);
    e.version = version;
  };
  auto kind = pick(0, 99);
  if (kind < 50) {
    e.delta = pick(-4, 6);
  } else if (kind < 70) {
    e.on_hand = pick(0, 40);
    versioned();
  } else if (kind < 88) {
    e.reserved = pick(0, 8);
    versioned();
  } else if (kind < 94) {
    e.on_hand = pick(0, 40);
    e.reserved = pick(0, 8);
    versioned();
  } else if (version > 0) {
    // Out-of-order delivery from the source: not newer, no effect.
    e.on_hand = pick(0, 40);
    e.version = version - pick(0, 2);
    ++stale_;
  } else {
    e.delta = pick(-4, 6);
  }
  return e;
}

std::vector<event_spec> event_load::next_batch(size_t size) {
  auto pick = [&](size_t n) {
    return std::uniform_int_distribution<size_t>{0, n - 1}(rng_);
  };
  std::vector<event_spec> batch;
  batch.reserve(size);
  while (batch.size() < size) {
    auto e = fresh(products_[pick(products_.size())],
                   warehouses_[pick(warehouses_.size())]);
    if (pick(100) < 3) {
      // A duplicate id: other content, which must change nothing.
      if (!batch.empty() && (earlier_ids_.empty() || pick(2) == 0)) {
        auto& first = batch[pick(batch.size())];
        e.id = first.id;
        if (keep_product_) e.product = first.product;
      } else if (!earlier_ids_.empty()) {
        auto k = pick(earlier_ids_.size());
        e.id = earlier_ids_[k];
        if (keep_product_) e.product = earlier_products_[k];
      }
      e.on_hand.reset();
      e.reserved.reset();
      e.version.reset();
      e.delta = 1000;
      ++duplicates_;
    }
    batch.push_back(std::move(e));
  }
  for (auto& e : batch) {
    earlier_ids_.push_back(e.id);
    earlier_products_.push_back(e.product);
  }
  return batch;
}

} // namespace shelfsync::tests
