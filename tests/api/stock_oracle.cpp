#include "tests/api/stock_oracle.hpp"

#include <algorithm>

namespace shelfsync::tests {

namespace {

std::string entry_key(const std::string& shop, const std::string& product,
                      const std::string& location) {
  return shop + '\n' + product + '\n' + location;
}

std::string list(const std::vector<int64_t>& values, size_t mark) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ' ';
    if (i == mark) out += '>';
    out += std::to_string(values[i]);
  }
  return out + "]";
}

} // namespace

nlohmann::json event_spec::to_json() const {
  nlohmann::json out{
      {"id", id}, {"product", product}, {"warehouse", warehouse}};
  if (on_hand) out["on_hand"] = *on_hand;
  if (delta) out["delta"] = *delta;
  if (reserved) out["reserved"] = *reserved;
  if (version) out["version"] = *version;
  return out;
}

int64_t rules_spec::apply(int64_t available) const {
  auto x = std::max<int64_t>(available, 0);
  if (buffer) x = std::max<int64_t>(x - *buffer, 0);
  if (percent) x = x * *percent / 100;
  if (max) x = std::min(x, *max);
  return x;
}

stock_oracle::stock_oracle(std::vector<shop_spec> shops)
    : shops_(std::move(shops)) {}

size_t stock_oracle::accept(const std::vector<event_spec>& batch) {
  size_t fresh = 0;
  for (auto& e : batch) {
    if (!seen_.insert(e.id).second) continue;
    ++fresh;
    apply(e);
  }
  return fresh;
}

void stock_oracle::apply(const event_spec& e) {
  products_.insert(e.product);
  auto& stock = stock_[e.product];
  auto& s = stock[e.warehouse];
  // One version counter per product and warehouse, shared by on_hand and
  // reserved: a version not newer than the last applied changes nothing.
  if (e.version && s.version && *e.version <= *s.version) {
    ++stale_;
  } else {
    if (e.version) s.version = e.version;
    if (e.on_hand) s.on_hand = *e.on_hand;
    if (e.delta) s.on_hand += *e.delta;
    if (e.reserved) s.reserved = *e.reserved;
  }
  auto available = [&](const std::string& warehouse) -> int64_t {
    auto i = stock.find(warehouse);
    if (i == stock.end()) return 0;
    return std::max<int64_t>(i->second.on_hand - i->second.reserved, 0);
  };
  for (auto& shop : shops_) {
    if (shop.sums_warehouses) {
      int64_t sum = 0;
      for (auto& [warehouse, location] : shop.location_of_warehouse)
        sum += available(warehouse);
      views_[entry_key(shop.id, e.product, "")].push_back(
          shop.rules.apply(sum));
      continue;
    }
    for (auto& [warehouse, location] : shop.location_of_warehouse)
      views_[entry_key(shop.id, e.product, location)].push_back(
          shop.rules.apply(available(warehouse)));
  }
}

const std::vector<int64_t>&
stock_oracle::views(const std::string& shop, const std::string& product,
                    const std::string& location) const {
  static const std::vector<int64_t> none;
  auto i = views_.find(entry_key(shop, product, location));
  return i == views_.end() ? none : i->second;
}

std::map<std::string, std::pair<int64_t, int64_t>>
stock_oracle::stock(const std::string& product) const {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  auto i = stock_.find(product);
  if (i != stock_.end())
    for (auto& [warehouse, s] : i->second)
      out[warehouse] = {s.on_hand, s.reserved};
  return out;
}

std::string check_history(const std::vector<int64_t>& views,
                          const std::vector<int64_t>& history) {
  size_t t = 0;
  for (size_t i = 0; i < history.size(); ++i) {
    while (t < views.size() && views[t] != history[i])
      ++t;
    if (t == views.size())
      return "applied value #" + std::to_string(i) + " (" +
             std::to_string(history[i]) +
             ") is no view the log implies at or after the previous one; "
             "applied " +
             list(history, i) + ", log views " + list(views, views.size());
  }
  return {};
}

} // namespace shelfsync::tests
