#include "actors/shopify_round.hpp"

#include <cstdio>

namespace shelfsync {

shopify_plan plan_product(const shop_view& desired, const shopify_item& now) {
  shopify_plan out;
  out.track = !now.tracked;
  auto level_at = [&](const std::string& location) -> const shopify_level* {
    for (auto& lv : now.levels)
      if (lv.location == location) return &lv;
    return nullptr;
  };
  for (auto& [location, value] : desired) {
    auto* lv = level_at(location);
    if (lv == nullptr) {
      out.activate.push_back(location);
    } else if (lv->available == value) {
      out.holding.emplace_back(location, value);
      continue;
    }
    out.rows.push_back({now.id, location, value});
    out.mapped.push_back(true);
  }
  for (auto& lv : now.levels)
    if (desired.count(lv.location) == 0 && lv.available != 0) {
      out.rows.push_back({now.id, lv.location, 0});
      out.mapped.push_back(false);
    }
  return out;
}

namespace {

/// FNV-1a over everything fed to it, from a chosen basis.
struct fnv1a {
  uint64_t h;
  void add(const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff; // separator, so that ("ab","c") differs from ("a","bc")
    h *= 1099511628211ull;
  }
  void add(int64_t v) { add(std::to_string(v)); }
};

} // namespace

std::string
push_key(const std::string& shop,
         const std::vector<std::pair<std::string, uint64_t>>& carried,
         const shopify_push& p) {
  fnv1a a{14695981039346656037ull};
  fnv1a b{0x84222325cbf29ce4ull};
  auto feed = [&](auto&& x) {
    a.add(x);
    b.add(x);
  };
  feed(shop);
  for (auto& [product, seq] : carried) {
    feed(product);
    feed(static_cast<int64_t>(seq));
  }
  feed(std::string{"track"});
  for (auto& t : p.track)
    feed(t);
  feed(std::string{"activate"});
  for (auto& r : p.activate) {
    feed(r.item);
    feed(r.location);
  }
  feed(std::string{"rows"});
  for (auto& r : p.rows) {
    feed(r.item);
    feed(r.location);
    feed(r.quantity);
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "shelfsync-%016llx%016llx",
                static_cast<unsigned long long>(a.h),
                static_cast<unsigned long long>(b.h));
  return buf;
}

} // namespace shelfsync
