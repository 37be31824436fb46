#include "core/shop_view.hpp"

#include <limits>

namespace shelfsync {

int64_t apply_rules(const stock_rules& rules, int64_t available) {
  auto x = available < 0 ? 0 : available;
  if (rules.buffer) x = x > *rules.buffer ? x - *rules.buffer : 0;
  if (rules.percent) {
    // Multiply in 128 bits: quantities may approach 2^63 after deltas.
    auto scaled = static_cast<__int128>(x) * *rules.percent / 100;
    x = static_cast<int64_t>(scaled);
  }
  if (rules.max && x > *rules.max) x = *rules.max;
  return x;
}

namespace {

int64_t available_in(const product_record& rec, const std::string& warehouse) {
  auto i = rec.stock.find(warehouse);
  return i == rec.stock.end() ? 0 : i->second.available();
}

} // namespace

std::optional<shop_view> compute_view(const shop_config& shop,
                                      const product_record& rec) {
  if (!shop.stock_sync) return std::nullopt;
  shop_view view;
  if (shop.channel == channel_kind::shopify) {
    for (auto& w : shop.warehouses)
      if (w.enabled && !w.location.empty())
        view[w.location] =
            apply_rules(shop.rules, available_in(rec, w.warehouse));
    return view;
  }
  int64_t sum = 0;
  for (auto& w : shop.warehouses)
    if (w.enabled) {
      auto a = available_in(rec, w.warehouse);
      sum = sum > std::numeric_limits<int64_t>::max() - a
                ? std::numeric_limits<int64_t>::max()
                : sum + a;
    }
  view[""] = apply_rules(shop.rules, sum);
  return view;
}

} // namespace shelfsync
