#include "api/config_preview.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/shop_view.hpp"

namespace shelfsync {

namespace {

using json = nlohmann::json;

/// Products read from the store per chunk.
constexpr size_t chunk = 1000;

/// How far apart two numbers are, without overflow.
uint64_t distance(const preview_change& c) {
  auto from = static_cast<__int128>(c.before.value_or(0));
  auto d = static_cast<__int128>(c.after) - from;
  return static_cast<uint64_t>(d < 0 ? -d : d);
}

/// Whether `a` ranks before `b` among the largest changes.
bool larger(const preview_change& a, const preview_change& b) {
  auto da = distance(a);
  auto db = distance(b);
  if (da != db) return da > db;
  if (a.product != b.product) return a.product < b.product;
  return a.location < b.location;
}

/// Counters and the top-N heap of one shop while the records stream by.
struct shop_tally {
  shop_preview out;
  const shop_config* next = nullptr;
  /// Location -> products, for the locations leaving or entering views.
  std::map<std::string, uint64_t> zeroed;
  std::map<std::string, uint64_t> activated;
  /// A heap whose top is the smallest of the largest changes kept.
  std::vector<preview_change> heap;

  void keep(preview_change c, size_t top) {
    if (top == 0) return;
    if (heap.size() < top) {
      heap.push_back(std::move(c));
      std::push_heap(heap.begin(), heap.end(), larger);
    } else if (larger(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), larger);
      heap.back() = std::move(c);
      std::push_heap(heap.begin(), heap.end(), larger);
    }
  }

  /// Compares the stored view with the new one for one product.
  void add(const std::string& code, const shop_view* before,
           const std::optional<shop_view>& after, size_t top) {
    if (!after) {
      if (before) ++out.no_longer_updated;
      return;
    }
    if (!before) {
      if (!after->empty()) ++out.first_sent;
      return;
    }
    bool changed = false;
    auto note = [&](const std::string& location, std::optional<int64_t> from,
                    int64_t to) {
      if (from && *from == to) return;
      changed = true;
      if (to > from.value_or(0))
        ++out.numbers_up;
      else if (to < from.value_or(0))
        ++out.numbers_down;
      keep(preview_change{code, location, from, to}, top);
    };
    for (auto& [location, value] : *before)
      if (after->count(location) == 0) {
        // Shopify: a location no enabled warehouse maps to is set to 0.
        ++zeroed[location];
        note(location, value, 0);
      }
    for (auto& [location, value] : *after) {
      auto i = before->find(location);
      if (i == before->end()) {
        ++activated[location];
        note(location, std::nullopt, value);
      } else {
        note(location, i->second, value);
      }
    }
    if (changed) ++out.products_changed;
  }

  /// Why `location` leaves the views, or what enters it, per the new config.
  std::string reason(const std::string& location, bool entering) const {
    if (next == nullptr) return {};
    for (auto& w : next->warehouses)
      if (w.location == location) {
        if (entering && w.enabled)
          return "warehouse " + w.warehouse + " is mapped to it";
        if (!entering && !w.enabled)
          return "warehouse " + w.warehouse + " is disabled";
      }
    return entering ? std::string{}
                    : std::string{"no enabled warehouse is mapped to it"};
  }

  shop_preview finish() {
    std::sort_heap(heap.begin(), heap.end(), larger);
    out.largest = std::move(heap);
    for (auto& [location, n] : zeroed)
      out.zeroed.push_back({location, n, reason(location, false)});
    for (auto& [location, n] : activated)
      out.activated.push_back({location, n, reason(location, true)});
    if (out.status.empty())
      out.status =
          out.products_changed + out.first_sent > 0 ? "changes" : "no changes";
    return std::move(out);
  }
};

std::string value_text(const std::optional<int64_t>& x) {
  return x ? std::to_string(*x) : std::string{"none"};
}

} // namespace

caf::expected<preview_report> preview_config(const store& db,
                                             const config& next,
                                             const preview_options& opts) {
  preview_report report;
  auto cp = db.checkpoint();
  if (!cp) return cp.error();
  if (db.last_seq() > *cp) report.events_not_in_state = db.last_seq() - *cp;
  std::vector<shop_tally> tallies(next.shops.size());
  for (size_t i = 0; i < next.shops.size(); ++i) {
    auto& shop = next.shops[i];
    tallies[i].next = &shop;
    tallies[i].out.shop = shop.id;
    tallies[i].out.channel =
        shop.channel == channel_kind::shopify ? "shopify" : "amazon";
    if (!shop.stock_sync) tallies[i].out.status = "stock sync off";
  }
  // Shops with stored views that leave the config: a few, found on the way.
  std::map<std::string, shop_tally> removed;
  std::string after;
  for (;;) {
    if (opts.cancel && opts.cancel->load())
      return caf::make_error(ec::shutting_down, "the preview was cancelled");
    auto last = db.scan_products(
        after, chunk, [&](std::string_view code, product_record&& rec) {
          std::string product{code};
          ++report.products;
          for (size_t i = 0; i < next.shops.size(); ++i) {
            auto& shop = next.shops[i];
            auto v = rec.views.find(shop.id);
            tallies[i].add(product, v == rec.views.end() ? nullptr : &v->second,
                           compute_view(shop, rec), opts.top);
          }
          for (auto& [shop, view] : rec.views)
            if (next.find_shop(shop) == nullptr) {
              auto& t = removed[shop];
              t.out.shop = shop;
              t.out.status = "removed";
              t.add(product, &view, std::nullopt, opts.top);
            }
        });
    if (!last) return last.error();
    if (opts.progress) opts.progress(report.products);
    if (*last == after) break;
    after = std::move(*last);
  }
  for (auto& t : tallies)
    report.shops.push_back(t.finish());
  for (auto& [id, t] : removed)
    report.shops.push_back(t.finish());
  return report;
}

json preview_json(const preview_report& r) {
  json shops = json::array();
  for (auto& s : r.shops) {
    bool amazon = s.channel == "amazon";
    json largest = json::array();
    for (auto& c : s.largest) {
      json x{{"product", c.product}};
      if (amazon)
        x["sku"] = c.product;
      else
        x["location"] = c.location;
      x["from"] = c.before ? json(*c.before) : json();
      x["to"] = c.after;
      largest.push_back(std::move(x));
    }
    auto locations = [](const std::vector<preview_location>& list) {
      json out = json::array();
      for (auto& l : list)
        out.push_back(json{{"location", l.location},
                           {"products", l.products},
                           {"reason", l.reason}});
      return out;
    };
    shops.push_back(
        json{{"shop", s.shop},
             {"channel", s.channel.empty() ? json() : json(s.channel)},
             {"status", s.status},
             {"products_changed", s.products_changed},
             {"numbers_up", s.numbers_up},
             {"numbers_down", s.numbers_down},
             {"first_sent", s.first_sent},
             {"no_longer_updated", s.no_longer_updated},
             {"largest", std::move(largest)},
             {"zeroed", locations(s.zeroed)},
             {"activated", locations(s.activated)}});
  }
  json out{{"products", r.products},
           {"events_not_in_state", r.events_not_in_state},
           {"shops", std::move(shops)},
           {"note", "a preview: nothing was sent and nothing was stored"}};
  return out;
}

std::string preview_text(const preview_report& r) {
  std::ostringstream out;
  out << r.products << " products compared; nothing was sent and nothing "
      << "was stored\n";
  if (r.events_not_in_state != 0)
    out << "note: " << r.events_not_in_state
        << " events in the log are not in the stored state yet (the server "
           "did not stop cleanly, or runs); their products are compared as "
           "they were before them\n";
  for (auto& s : r.shops) {
    out << "\nshop " << s.shop;
    if (!s.channel.empty()) out << " (" << s.channel << ")";
    out << ": " << s.status;
    if (s.status == "removed")
      out << " from the config: " << s.no_longer_updated
          << " products keep their last numbers, nothing more is sent\n";
    else if (s.status == "stock sync off")
      out << ": " << s.no_longer_updated
          << " products keep their last numbers, nothing more is sent\n";
    else
      out << '\n';
    if (s.status == "removed" || s.status == "stock sync off") continue;
    out << "  products whose numbers change: " << s.products_changed
        << " (numbers up " << s.numbers_up << ", down " << s.numbers_down
        << ")\n";
    if (s.first_sent != 0)
      out << "  products sent a first number: " << s.first_sent << '\n';
    for (auto& l : s.zeroed)
      out << "  zeroed: location " << l.location << " (" << l.reason
          << "): " << l.products << " products\n";
    for (auto& l : s.activated)
      out << "  activated: location " << l.location
          << (l.reason.empty() ? "" : " (" + l.reason + ")") << ": "
          << l.products << " products\n";
    if (s.largest.empty()) continue;
    out << "  largest changes:\n";
    for (auto& c : s.largest) {
      out << "    " << c.product << "  ";
      if (s.channel == "amazon")
        out << "SKU " << c.product;
      else
        out << c.location;
      out << "  " << value_text(c.before) << " -> " << c.after << '\n';
    }
  }
  return out.str();
}

std::vector<std::string> preview_warnings(const config& next) {
  std::vector<std::string> out;
  for (auto& u : unset_variables(next))
    out.push_back(u.path + ": names the environment variable " + u.name +
                  ", which is not set (or empty); " + u.effect);
  return out;
}

} // namespace shelfsync
