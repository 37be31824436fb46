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

/// Whether a Shopify shop's warehouse `w` shows at a location.
bool at_location(const shop_warehouse& w) {
  return w.enabled && !w.location.empty();
}

/// The one quantity of a shop that sums its warehouses (Amazon).
int64_t summed(const shop_config& shop, const product_record& rec) {
  int64_t sum = 0;
  for (auto& w : shop.warehouses)
    if (w.enabled) {
      auto a = available_in(rec, w.warehouse);
      sum = sum > std::numeric_limits<int64_t>::max() - a
                ? std::numeric_limits<int64_t>::max()
                : sum + a;
    }
  return apply_rules(shop.rules, sum);
}

/// Whether warehouse `k` of a Shopify shop decides its location's quantity:
/// of several warehouses at one location, the last one does.
bool decides(const std::vector<shop_warehouse>& ws, size_t k) {
  for (auto j = k + 1; j < ws.size(); ++j)
    if (at_location(ws[j]) && ws[j].location == ws[k].location) return false;
  return true;
}

} // namespace

std::optional<shop_view> compute_view(const shop_config& shop,
                                      const product_record& rec) {
  if (!shop.stock_sync) return std::nullopt;
  shop_view view;
  if (shop.channel == channel_kind::shopify) {
    for (auto& w : shop.warehouses)
      if (at_location(w))
        view[w.location] =
            apply_rules(shop.rules, available_in(rec, w.warehouse));
    return view;
  }
  view[""] = summed(shop, rec);
  return view;
}

bool update_view(const shop_config& shop, const product_record& rec,
                 shop_view& view) {
  if (shop.channel != channel_kind::shopify) {
    auto q = summed(shop, rec);
    if (view.size() == 1 && view.begin()->first.empty()) {
      if (view.begin()->second == q) return false;
      view.begin()->second = q;
      return true;
    }
  } else {
    // The new quantities, each at its entry of the view, when the view has
    // exactly the entries it should have.
    constexpr size_t max_in_place = 16;
    std::pair<shop_view::iterator, int64_t> in_place[max_in_place];
    size_t n = 0;
    auto& ws = shop.warehouses;
    for (size_t k = 0; k < ws.size(); ++k) {
      if (!at_location(ws[k]) || !decides(ws, k)) continue;
      auto i = n < max_in_place ? view.find(ws[k].location) : view.end();
      if (i == view.end()) {
        n = max_in_place + 1;
        break;
      }
      in_place[n++] = {
          i, apply_rules(shop.rules, available_in(rec, ws[k].warehouse))};
    }
    if (n <= max_in_place && n == view.size()) {
      auto changed = false;
      for (size_t k = 0; k < n; ++k)
        if (in_place[k].first->second != in_place[k].second) {
          in_place[k].first->second = in_place[k].second;
          changed = true;
        }
      return changed;
    }
  }
  auto fresh = *compute_view(shop, rec);
  if (fresh == view) return false;
  view = std::move(fresh);
  return true;
}

} // namespace shelfsync
